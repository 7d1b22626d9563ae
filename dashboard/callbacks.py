"""The dashboard's callbacks: they read the page's inputs, call the library and ``views``, and
hand the result to ``layout``. No model logic lives here.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
from pathlib import Path
from urllib.parse import parse_qs

import dash
from dash import Input, Output, State, no_update

from ctdild_sim.html_report import report_html
from ctdild_sim.lot_plan import Evaluation, plan_lots
from ctdild_sim.results import save_run
from ctdild_sim.runner import run_scenario
from dashboard import layout
from dashboard.data import (
    DashboardError,
    load_runs,
    load_scenario_file,
    scenario_files,
    stored_runs,
    validate_upload,
)
from dashboard.views import PAGES, View, lot_plan_view, scenario_view

PAGE_TABS = list(PAGES)


def run_options(results_dir: Path) -> list[dict]:
    return [
        {"label": f"{r.manifest['scenario_name']} · {r.manifest['replicates']} replicates · seed "
                  f"{r.manifest['seed']} · {r.run_id}", "value": r.run_id}
        for r in stored_runs(results_dir)
    ]  # fmt: skip


def build_view(tab: str, run_ids: list[str] | None, replicate: int | None, results_dir: Path) -> View:
    """The View of a page tab for the picked runs (DashboardError when they cannot be shown)."""
    runs = load_runs(results_dir, run_ids)
    if not runs:
        raise DashboardError("Pick one or more stored runs above, or run scenario files.")
    if tab == "timeline":
        return PAGES[tab](runs, replicate)
    return PAGES[tab](runs)


def register(app: dash.Dash, scenarios_dir: Path, results_dir: Path, workers: int) -> None:
    @app.callback(
        Output("scenario-files", "options"),
        Output("scenario-detail", "options"),
        Output("run-picker", "options"),
        Output("run-picker", "value"),
        Output("tabs", "value"),
        Input("url", "search"),
    )
    def on_load(search: str | None):
        """Fill the pickers; ``?runs=ID,ID&tab=compare`` opens those runs on that tab."""
        names = list(scenario_files(scenarios_dir))
        options = run_options(results_dir)
        query = parse_qs((search or "").lstrip("?"))
        known = {o["value"] for o in options}
        picked = [r for r in ",".join(query.get("runs", [])).split(",") if r in known]
        tab = query.get("tab", ["timeline"])[0]
        return names, names, options, picked, tab if tab in dict(layout.TABS) else "timeline"

    @app.callback(
        [Output(f"view-{tab}", "children") for tab in PAGE_TABS],
        Input("tabs", "value"),
        Input("run-picker", "value"),
        Input("gantt-replicate", "value"),
    )
    def on_view(tab: str, run_ids: list[str] | None, replicate: int | None):
        """Draw the active tab only; the others keep what they showed."""
        out = [no_update] * len(PAGE_TABS)
        if tab not in PAGE_TABS:
            return out
        try:
            out[PAGE_TABS.index(tab)] = layout.render(build_view(tab, run_ids, replicate, results_dir))
        except DashboardError as exc:
            out[PAGE_TABS.index(tab)] = layout.error(str(exc))
        return out

    @app.callback(Output("view-scenario", "children"), Input("scenario-detail", "value"))
    def on_scenario(name: str | None):
        if not name:
            return layout.error("Pick a scenario file to see its parameters.")
        try:
            scenario, _ = load_scenario_file(scenarios_dir, name)
        except DashboardError as exc:
            return layout.error(str(exc))
        return layout.render(scenario_view(scenario, name))

    @app.callback(
        Output("upload-result", "children"),
        Input("upload", "contents"),
        State("upload", "filename"),
        prevent_initial_call=True,
    )
    def on_upload(contents: str | None, filename: str | None):
        """Validate an uploaded file with the CLI's messages; nothing is written to disk."""
        if not contents:
            return layout.error("The upload was empty or larger than the limit.")
        try:
            payload = base64.b64decode(contents.split(",", 1)[1], validate=False)
            scenario = validate_upload(filename or "upload.yaml", payload, scenarios_dir)
        except (IndexError, ValueError):
            return layout.error(f"{filename}: the upload could not be decoded")
        except DashboardError as exc:
            return layout.error(str(exc))
        return [dash.html.P(f"{filename}: valid.", className="upload-ok"),
                *layout.render(scenario_view(scenario, filename or "upload"))]  # fmt: skip

    @app.callback(
        Output("run-picker", "options", allow_duplicate=True),
        Output("run-picker", "value", allow_duplicate=True),
        Output("run-status", "children"),
        Input("run-button", "n_clicks"),
        State("scenario-files", "value"),
        State("replicates", "value"),
        State("seed", "value"),
        background=True,
        running=[
            (Output("run-button", "disabled"), True, False),
            (Output("cancel-button", "disabled"), False, True),
        ],
        cancel=[Input("cancel-button", "n_clicks")],
        progress=[
            Output("run-progress", "value"),
            Output("run-progress", "max"),
            Output("run-progress-text", "children"),
        ],
        prevent_initial_call=True,
    )
    def on_run(set_progress, _clicks, names: list[str] | None, replicates: int | None, seed: int | None):
        """Run the picked scenario files on one seed (so they compare on common random numbers),
        store every run, and show them."""
        if not names:
            return no_update, no_update, "Pick one or more scenario files to run."
        if not replicates or replicates < 1 or seed is None or seed < 0:
            return no_update, no_update, "Replicates must be a whole number >= 1 and the seed >= 0."
        try:
            loaded = [(name, *load_scenario_file(scenarios_dir, name)) for name in names]
        except DashboardError as exc:
            return no_update, no_update, str(exc)
        total, done = replicates * len(loaded), 0
        run_ids = []
        for name, scenario, text in loaded:
            started = dt.datetime.now(dt.UTC)

            def advance(n: int, name: str = name) -> None:
                nonlocal done
                done += n
                set_progress((str(done), str(total), f"{name}: {done:,} / {total:,} replicates"))

            set_progress((str(done), str(total), f"{name}: starting"))
            tables = run_scenario(scenario, int(replicates), int(seed), on_replicate=advance, workers=workers)
            path = save_run(
                results_dir, tables.with_summaries(scenario), scenario=scenario, scenario_file=scenarios_dir / name,
                scenario_text=text, seed=int(seed), replicates=int(replicates),
                options={"workers": workers, "source": "dashboard"}, command=sys.argv, started=started,
            )  # fmt: skip
            run_ids.append(path.name)
        status = f"Stored {len(run_ids)} run(s) of {replicates} replicates, seed {seed}: {', '.join(run_ids)}"
        return run_options(results_dir), run_ids, status

    @app.callback(
        Output("plan-result", "children"),
        Input("plan-button", "n_clicks"),
        State("run-picker", "value"),
        State("plan-target", "value"),
        State("replicates", "value"),
        State("seed", "value"),
        background=True,
        running=[(Output("plan-button", "disabled"), True, False), (Output("plan-cancel", "disabled"), False, True)],
        cancel=[Input("plan-cancel", "n_clicks")],
        progress=[Output("plan-progress", "children")],
        prevent_initial_call=True,
    )
    def on_plan(set_progress, _clicks, run_ids, target_pct, replicates, seed):
        """Search the reorder policy for the first picked run's scenario (as ``ctdild-sim supply
        --target-stockout``), with the page's replicates and seed."""
        try:
            runs = load_runs(results_dir, run_ids)
        except DashboardError as exc:
            return layout.error(str(exc))
        if not runs or runs[0].scenario.product is None:
            return layout.error("Pick a run whose scenario has a product section.")
        if not target_pct or not 0 < target_pct < 100 or not replicates or replicates < 1 or seed is None:
            return layout.error("The target must be between 0 and 100%, replicates >= 1, and a seed set.")
        scenario = runs[0].scenario
        count = 0

        def evaluated(e: Evaluation) -> None:
            nonlocal count
            count += 1
            set_progress((f"{count} policies simulated; last: reorder point {e.point}, "
                          f"look-ahead {e.lookahead_days:.0f} d, P(wait) {100 * e.risk:.1f}%",))  # fmt: skip

        plan = plan_lots(scenario, target_pct / 100, int(replicates), int(seed), on_evaluated=evaluated,
                         workers=workers)  # fmt: skip
        return layout.render(lot_plan_view(plan, scenario.name, int(seed)))

    @app.callback(
        Output("export-download", "data"),
        Input("export-button", "n_clicks"),
        State("tabs", "value"),
        State("run-picker", "value"),
        State("gantt-replicate", "value"),
        State("scenario-detail", "value"),
        prevent_initial_call=True,
    )
    def on_export(_clicks, tab: str, run_ids: list[str] | None, replicate: int | None, scenario_name: str | None):
        """The current tab as a self-contained HTML report."""
        try:
            if tab == "scenario":
                if not scenario_name:
                    return no_update
                view = scenario_view(load_scenario_file(scenarios_dir, scenario_name)[0], scenario_name)
            else:
                view = build_view(tab, run_ids, replicate, results_dir)
        except DashboardError:
            return no_update
        title = f"ctdild-sim: {view.title}"
        text = report_html(title, [fig for _, fig in view.figures], view.tables, view.notes)
        return {"content": text, "filename": f"ctdild-sim-{tab}.html", "type": "text/html"}
