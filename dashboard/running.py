"""Jobs started from a page: scenario files run and stored, the wiring of a page's background
job (its button, progress and cancel), and the run picker showing the runs a job stored."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import dash
from dash import Input, Output
from dash.exceptions import PreventUpdate

from ctdild_sim.runs.results import save_run
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.sim.budget import BudgetExceeded
from dashboard import ids
from dashboard.context import Context
from dashboard.data import DashboardError, stored_runs


def run_options(results_dir: Path) -> list[dict]:
    return [
        {
            "label": f"{r.manifest['scenario_name']} · {r.manifest['replicates']} replicates · seed "
            f"{r.manifest['seed']} · {r.run_id}",
            "value": r.run_id,
        }
        for r in stored_runs(results_dir)
    ]


def run_and_store(ctx: Context, set_progress: Callable, loaded: list, replicates: int, seed: int) -> list[str]:
    """Run each loaded scenario file (name, scenario, text) on one seed and store it: the run ids."""
    total, done = replicates * len(loaded), 0
    run_ids = []
    for name, scenario, text in loaded:
        started = dt.datetime.now(dt.UTC)

        def advance(k: int, name: str = name) -> None:
            nonlocal done
            done += k
            set_progress((str(done), str(total), f"{name}: {done:,} / {total:,} replicates"))

        set_progress((str(done), str(total), f"{name}: starting"))
        try:
            tables = run_scenario(scenario, replicates, seed, on_replicate=advance, workers=ctx.workers)
        except BudgetExceeded as exc:
            raise DashboardError(f"{name}: {exc}") from None
        path = save_run(
            ctx.results_dir,
            tables.with_summaries(scenario),
            scenario=scenario,
            scenario_file=ctx.scenarios_dir / name,
            scenario_text=text,
            seed=seed,
            replicates=replicates,
            options={"workers": ctx.workers, "source": "dashboard"},
            command=sys.argv,
            started=started,
        )
        run_ids.append(path.name)
    return run_ids


def on_stored(ctx: Context, run_ids: object):
    """Show the runs a page's job just stored (a forecast; an edited scenario's run, with its base):
    the run picker's options, and those runs picked."""
    picked = [run_ids] if isinstance(run_ids, str) else run_ids
    if not isinstance(picked, list) or not picked or not all(isinstance(r, str) and r for r in picked):
        raise PreventUpdate
    return run_options(ctx.results_dir), picked


def job_callback(
    app: dash.Dash, outputs: list, button: str, cancel: str, progress: list, states: list, run: Callable
) -> None:
    """A background job started by ``button`` (disabled while it runs; ``cancel`` enabled), reporting
    through ``progress``; ``run(set_progress, *states)`` does the work. Its outputs should all live
    on the button's page: Dash fires a callback whose outputs were already there when its input
    appears, and a page's content appearing is not a click."""

    @app.callback(
        *outputs,
        Input(button, "n_clicks"),
        *states,
        background=True,
        running=[(Output(button, "disabled"), True, False), (Output(cancel, "disabled"), False, True)],
        cancel=[Input(cancel, "n_clicks")],
        progress=progress,
        prevent_initial_call=True,
    )
    def job(set_progress, clicks, *values):
        if not clicks:
            raise PreventUpdate
        return run(set_progress, *values)


def show_stored(app: dash.Dash, ctx: Context, store: str) -> None:
    """When a page's job puts the runs it stored in ``store``, pick them in the run picker."""
    app.callback(
        Output(ids.RUN_PICKER, "options", allow_duplicate=True),
        Output(ids.RUN_PICKER, "value", allow_duplicate=True),
        Input(store, "data"),
        prevent_initial_call=True,
    )(lambda made: on_stored(ctx, made))
