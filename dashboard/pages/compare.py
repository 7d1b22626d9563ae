"""Compare: scenarios side by side on common random numbers, and what differs between them
(``views.compare.compare_view``)."""

from __future__ import annotations

from dash import html

from ctdild_sim.views.compare import compare_view
from ctdild_sim.views.view import View
from dashboard.context import Context, picked_runs
from dashboard.layout import page_layout

KEY, PATH, NAME = "compare", "/compare", "Compare"


def layout(**query) -> html.Div:
    return page_layout(KEY, [], query)


def view(ctx: Context, query: dict) -> View:
    return compare_view(picked_runs(ctx, query))
