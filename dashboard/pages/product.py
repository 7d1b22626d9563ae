"""Cell product: vials needed against vials released, demand by month, stock, waste and cost
(``views.product.product_view``), and the lot planner (``views.lot_plan.lot_plan_view``)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import dash
from dash import Output, State, dcc, html, no_update

from ctdild_sim.runs.export import WriteFailed
from ctdild_sim.runs.results import StoreError, save_run
from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.studies.lot_plan import Evaluation, plan_lots
from ctdild_sim.views.lot_plan import lot_plan_view, stored_lot_plan_view
from ctdild_sim.views.product import product_view
from ctdild_sim.views.view import View
from dashboard import ids
from dashboard.context import MAX_SEED, Context, messages, picked_runs, whole_number
from dashboard.data import DashboardError, load_runs
from dashboard.jobs import prepare_job_process
from dashboard.layout import ROW, error, page_layout, render
from dashboard.running import job_callback, show_stored

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
        dcc.Store(id=ids.PLAN_MADE),
        html.Div(id=ids.PLAN_RESULT),
    ]
    return page_layout(KEY, controls, query)


def view(ctx: Context, query: dict) -> View:
    """The product of the picked runs; a stored lot plan's answer and search first."""
    runs = picked_runs(ctx, query)
    plans, others = [r for r in runs if r.kind == "lot_plan"], [r for r in runs if r.kind != "lot_plan"]
    if not plans:
        return product_view(others)
    shown = stored_lot_plan_view(plans)
    if others:
        shown.extend(product_view(others))
    return shown


def on_plan(
    ctx: Context, set_progress: Callable, run_ids: object, target_pct: object, replicates: object, seed: object
):
    """Search the reorder policy for the first picked run's scenario (as ``ctdild-sim supply
    --target-stockout``), with the page's replicates and seed; one job at a time. A plan that
    meets the target is stored as a run and picked (so the address keeps it); returns (its run id,
    a message)."""
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
            started = dt.datetime.now(dt.UTC)
            plan = plan_lots(scenario, target_pct / 100, n, seed, on_evaluated=evaluated, workers=ctx.workers)
            if not plan.met:
                return no_update, render(lot_plan_view(plan, scenario.name, seed))
            base = runs[0].manifest
            path = save_run(
                ctx.results_dir,
                plan.output_tables(),
                scenario=plan.scenario,
                scenario_file=Path(str(base["scenario_file"])),
                scenario_text=str(base.get("scenario_text", "")),
                seed=plan.fresh_seed,
                replicates=len(plan.fresh_tables.metrics),
                options={"workers": ctx.workers, "source": "dashboard"},
                command=sys.argv,
                started=started,
                extra=plan.manifest(seed),
            )
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, error(messages(ctx, exc))
    return path.name, f"Stored lot plan {path.name}; picked above and shown below."


def register(app: dash.Dash, ctx: Context) -> None:
    job_callback(
        app,
        [Output(ids.PLAN_MADE, "data"), Output(ids.PLAN_RESULT, "children")],
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
    show_stored(app, ctx, ids.PLAN_MADE)
