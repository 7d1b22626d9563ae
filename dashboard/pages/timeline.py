"""Timeline: when the milestones come, the chance of the registered date, and one replicate's
subjects phase by phase (the Gantt chart, replicate from the address): the plan's view model
(``views.plan.plan_view``)."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html, no_update

from ctdild_sim.views.plan import plan_view, typical_options
from ctdild_sim.views.view import View
from dashboard import ids
from dashboard.address import follow, keep_in_address
from dashboard.context import MAX_SEED, Context, picked_runs, whole_number
from dashboard.data import DashboardError, load_runs
from dashboard.layout import ROW, page_layout

KEY, PATH, NAME = "timeline", "/", "Timeline"


def layout(**query) -> html.Div:
    replicate = query.get("replicate")
    value = int(replicate) if isinstance(replicate, str) and replicate.isdigit() else None
    controls = [
        html.Div(
            [
                html.Label("Gantt chart: replicate"),
                dcc.Input(
                    id=ids.GANTT_REPLICATE,
                    type="number",
                    min=0,
                    step=1,
                    value=value,
                    debounce=True,
                    placeholder="number",
                    style={"width": "90px"},
                ),
                html.Label("or a typical one"),
                dcc.Dropdown(
                    id=ids.GANTT_TYPICAL,
                    placeholder="P10 / P50 / P90 of LPLV, stopped early",
                    style={"minWidth": "420px"},
                ),
            ],
            style=ROW,
        )
    ]
    return page_layout(KEY, controls, query)


def view(ctx: Context, query: dict) -> View:
    """The plan of the runs the address names, its Gantt chart of the address's replicate."""
    runs = picked_runs(ctx, query)
    replicate = query.get("replicate")
    chosen = None if replicate in (None, "") else whole_number(_number(replicate), "The Gantt replicate", 0, MAX_SEED)
    return plan_view(runs, chosen)


def _number(value: object) -> object:
    """A number written in the address ("3"), as a number; anything else as it is (then refused)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def on_replicate(replicate: object, search: object, page_query: object):
    """The Gantt chart's replicate into the address and the view."""
    if replicate is not None and (isinstance(replicate, bool) or not isinstance(replicate, int | float)):
        return no_update, no_update
    return follow("replicate", None if replicate is None else str(int(replicate)), search, page_query)


def on_typical_options(ctx: Context, _id: object, query: object) -> list[dict]:
    """The Gantt chart's typical replicates for the first run the address names."""
    try:
        runs = load_runs(ctx.results_dir, query.get("runs") if isinstance(query, dict) else None)
    except DashboardError:
        return []
    return typical_options(runs[0]) if runs else []


def register(app: dash.Dash, ctx: Context) -> None:
    keep_in_address(app, ids.GANTT_REPLICATE, on_replicate)
    app.callback(Output(ids.GANTT_TYPICAL, "options"), Input(ids.GANTT_TYPICAL, "id"), State(ids.QUERY, "data"))(
        lambda _id, query: on_typical_options(ctx, _id, query)
    )
    app.callback(Output(ids.GANTT_REPLICATE, "value"), Input(ids.GANTT_TYPICAL, "value"), prevent_initial_call=True)(
        lambda value: value if isinstance(value, int) else no_update
    )
