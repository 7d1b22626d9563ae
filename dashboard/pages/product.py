"""Cell product: vials needed against vials released, demand by month, stock, waste and cost
(``views.product.product_view``), and the lot planner (``views.lot_plan.lot_plan_view``)."""

from __future__ import annotations

from collections.abc import Callable

import dash
from dash import Output, State, dcc, html

from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.studies.lot_plan import Evaluation, plan_lots
from ctdild_sim.views.lot_plan import lot_plan_view
from ctdild_sim.views.product import product_view
from ctdild_sim.views.view import View
from dashboard import ids
from dashboard.context import MAX_SEED, Context, messages, picked_runs, whole_number
from dashboard.data import DashboardError, load_runs
from dashboard.jobs import prepare_job_process
from dashboard.layout import ROW, error, page_layout, render
from dashboard.running import job_callback

KEY, PATH, NAME = "product", "/product", "Cell product"


def layout(**query) -> html.Div:
    controls = [
        html.Div(
            [
                html.Label("Lot plan: target P(a subject waits for product)"),
                dcc.Input(
                    id=ids.PLAN_TARGET, type="number", min=0.1, max=50, step=0.1, value=5, style={"width": "70px"}
                ),
                html.Span("%"),
                html.Button("Plan lots", id=ids.PLAN_BUTTON),
                html.Button("Cancel", id=ids.PLAN_CANCEL, disabled=True),
                html.Span(id=ids.PLAN_PROGRESS),
            ],
            style=ROW,
        ),
        html.Div(id=ids.PLAN_RESULT),
    ]
    return page_layout(KEY, controls, query)


def view(ctx: Context, query: dict) -> View:
    return product_view(picked_runs(ctx, query))


def on_plan(
    ctx: Context, set_progress: Callable, run_ids: object, target_pct: object, replicates: object, seed: object
):
    """Search the reorder policy for the first picked run's scenario (as ``ctdild-sim supply
    --target-stockout``), with the page's replicates and seed; one job at a time."""
    prepare_job_process(ctx.server_pid)
    try:
        runs = load_runs(ctx.results_dir, run_ids)
        if not runs or runs[0].scenario.product is None:
            raise DashboardError("Pick a run whose scenario has a product section.")
        if isinstance(target_pct, bool) or not isinstance(target_pct, int | float) or not 0 < target_pct < 100:
            raise DashboardError("The target must be a percentage between 0 and 100.")
        n = whole_number(replicates, "Replicates", 1, ctx.max_replicates)
        seed = whole_number(seed, "The seed", 0, MAX_SEED)
        scenario = runs[0].scenario
        count = 0

        def evaluated(e: Evaluation) -> None:
            nonlocal count
            count += 1
            set_progress(
                (
                    f"{count} policies simulated; last: reorder point {e.point}, look-ahead "
                    f"{e.lookahead_days:.0f} d, P(wait) {100 * e.risk:.1f}% ({e.seeds} seeds)",
                )
            )

        with ctx.jobs.hold(f"a lot plan of {n:,} replicates per policy"):
            plan = plan_lots(scenario, target_pct / 100, n, seed, on_evaluated=evaluated, workers=ctx.workers)
    except (DashboardError, BudgetExceeded) as exc:
        return error(messages(ctx, exc))
    return render(lot_plan_view(plan, scenario.name, seed))


def register(app: dash.Dash, ctx: Context) -> None:
    job_callback(
        app,
        [Output(ids.PLAN_RESULT, "children")],
        ids.PLAN_BUTTON,
        ids.PLAN_CANCEL,
        [Output(ids.PLAN_PROGRESS, "children")],
        [
            State(ids.RUN_PICKER, "value"),
            State(ids.PLAN_TARGET, "value"),
            State(ids.REPLICATES, "value"),
            State(ids.SEED, "value"),
        ],
        lambda set_progress, *values: on_plan(ctx, set_progress, *values),
    )
