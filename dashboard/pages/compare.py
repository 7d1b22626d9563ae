"""Compare: scenarios side by side on common random numbers, and what differs between them."""

from __future__ import annotations

from dash import html

from dashboard.pages import page_layout


def layout(**query) -> html.Div:
    return page_layout("compare", [], query)
