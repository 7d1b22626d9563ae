"""Track record: a stored backtest (``ctdild-sim backtest``): the forecast as of each past date
against what then happened, the coverage of its intervals, its scores and each milestone's slip
(``views.backtest.backtest_view``)."""

from __future__ import annotations

from dash import html

from ctdild_sim.views.backtest import backtest_view
from ctdild_sim.views.view import View
from dashboard.context import Context, picked_runs
from dashboard.layout import page_layout

KEY, PATH, NAME = "track_record", "/track-record", "Track record"


def layout(**query) -> html.Div:
    return page_layout(KEY, [], query)


def view(ctx: Context, query: dict) -> View:
    return backtest_view(picked_runs(ctx, query, backtests=True))
