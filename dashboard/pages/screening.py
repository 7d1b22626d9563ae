"""Screening: which criteria rule candidates out."""

from __future__ import annotations

from dash import html

from dashboard.pages import page_layout


def layout(**query) -> html.Div:
    return page_layout("screening", [], query)
