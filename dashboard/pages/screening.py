"""Screening: which criteria rule candidates out (``views.plan.screening_view``)."""

from __future__ import annotations

from dash import html

from ctdild_sim.views.plan import screening_view
from ctdild_sim.views.view import View
from dashboard.context import Context, picked_runs
from dashboard.layout import page_layout

KEY, PATH, NAME = "screening", "/screening", "Screening"


def layout(**query) -> html.Div:
    return page_layout(KEY, [], query)


def view(ctx: Context, query: dict) -> View:
    return screening_view(picked_runs(ctx, query))
