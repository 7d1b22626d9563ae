"""Cohorts: when each cohort passes its gate, stops and safety pauses (``views.plan.cohorts_view``)."""

from __future__ import annotations

from dash import html

from ctdild_sim.views.plan import cohorts_view
from ctdild_sim.views.view import View
from dashboard.context import Context, picked_runs
from dashboard.layout import page_layout

KEY, PATH, NAME = "cohorts", "/cohorts", "Cohorts"


def layout(**query) -> html.Div:
    return page_layout(KEY, [], query)


def view(ctx: Context, query: dict) -> View:
    return cohorts_view(picked_runs(ctx, query))
