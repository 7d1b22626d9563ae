"""Sensitivity: the tornado of a stored sensitivity run (``ctdild-sim sensitivity``), and for any
run, which drawn quantity explains most of each outcome's variance (what to learn first). A what-if
is an edited scenario run from the Scenario page on the same seed, then compared with the base
(``views.sensitivity.sensitivity_view``)."""

from __future__ import annotations

from dash import html

from ctdild_sim.views.sensitivity import sensitivity_view
from ctdild_sim.views.view import View
from dashboard.context import Context, picked_runs
from dashboard.layout import page_layout

KEY, PATH, NAME = "sensitivity", "/sensitivity", "Sensitivity"


def layout(**query) -> html.Div:
    return page_layout(KEY, [], query)


def view(ctx: Context, query: dict) -> View:
    return sensitivity_view(picked_runs(ctx, query))
