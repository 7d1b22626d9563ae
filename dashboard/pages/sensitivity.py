"""Sensitivity: the tornado of a stored sensitivity run (``ctdild-sim sensitivity``), and for any
run, which drawn quantity explains most of each outcome's variance (what to learn first). A what-if
is an edited scenario run from the Scenario page on the same seed, then compared with the base."""

from __future__ import annotations

from dash import html

from dashboard.pages import page_layout


def layout(**query) -> html.Div:
    return page_layout("sensitivity", [], query)
