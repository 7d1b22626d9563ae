"""The dashboard's callbacks: they read the page's inputs, call the library and ``views``, and
hand the result to ``layout``. No model logic lives here.

Each callback is a plain function of a ``Context`` (the two folders and the server's limits) and
the page's values, so a test can call it directly; ``register`` only wires them to the page.
Every value the browser sends is checked before use (a request can send anything, not only what
the page's controls produce), and whatever goes wrong comes back as a message on the page, not
as an HTTP 500 and a blank tab.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import dash
import pandas as pd
from dash import MATCH, Input, Output, State, no_update

from ctdild_sim.actuals.reader import ActualsError, RecordFiles, as_of_hint
from ctdild_sim.reports.pack import Pack, RunRecord, steering_pack, view_pack
from ctdild_sim.reports.writers import FORMATS, ReportError, report_bytes
from ctdild_sim.runs.export import WriteFailed
from ctdild_sim.runs.results import StoreError, save_run
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.studies.forecast import forecast, read_state
from ctdild_sim.studies.lot_plan import Evaluation, plan_lots
from dashboard import layout
from dashboard.data import (
    UPLOADED,
    DashboardError,
    actuals_folders,
    load_runs,
    load_scenario_file,
    records_source,
    records_upload,
    scenario_files,
    scrub,
    stored_runs,
    validate_upload,
)
from dashboard.jobs import JobSlot, prepare_job_process
from dashboard.views import PAGES, View, lot_plan_view, scenario_view

PAGE_TABS = list(PAGES)
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Context:
    """What every callback works over: the folders, and the limits the server enforces."""

    scenarios_dir: Path
    results_dir: Path
    workers: int
    max_replicates: int
    jobs: JobSlot
    server_pid: int
    actuals_dir: Path | None = None  # folders of a trial's records (the Forecast tab)


# -- checking what the browser sent --------------------------------------------------------


def whole_number(value: object, what: str, low: int, high: int) -> int:
    """``value`` as an int in [low, high], or a DashboardError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
        raise DashboardError(f"{what} must be a whole number from {low:,} to {high:,}")
    if not low <= int(value) <= high:
        raise DashboardError(f"{what} must be from {low:,} to {high:,} (got {int(value):,})")
    return int(value)


def names(value: object, what: str) -> list[str]:
    """``value`` as a non-empty list of names."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DashboardError(f"Pick one or more {what}.")
    return value


def _messages(ctx: Context, exc: Exception) -> str:
    return scrub(scrub(str(exc), ctx.results_dir), ctx.scenarios_dir)


# -- the callbacks ---------------------------------------------------------------------------


def run_options(results_dir: Path) -> list[dict]:
    return [
        {"label": f"{r.manifest['scenario_name']} · {r.manifest['replicates']} replicates · seed "
                  f"{r.manifest['seed']} · {r.run_id}", "value": r.run_id}
        for r in stored_runs(results_dir)
    ]  # fmt: skip


def on_load(ctx: Context, search: object):
    """Fill the pickers; ``?runs=ID,ID&tab=compare`` opens those runs on that tab."""
    files = list(scenario_files(ctx.scenarios_dir))
    options = run_options(ctx.results_dir)
    query = parse_qs(search.lstrip("?")) if isinstance(search, str) else {}
    known = {o["value"] for o in options}
    picked = [r for r in ",".join(query.get("runs", [])).split(",") if r in known]
    tab = query.get("tab", ["timeline"])[0]
    return files, files, options, picked, tab if tab in dict(layout.TABS) else "timeline"


def build_view(ctx: Context, tab: object, run_ids: object, replicate: object) -> View:
    """The View of a page tab for the picked runs (DashboardError when they cannot be shown)."""
    if tab not in PAGE_TABS:
        raise DashboardError(f"there is no tab {str(tab)[:40]!r}")
    runs = load_runs(ctx.results_dir, run_ids)
    if not runs and tab == "forecast":
        return PAGES[tab](runs)  # it says how to make a forecast
    if not runs:
        raise DashboardError("Pick one or more stored runs above, or run scenario files.")
    if tab == "timeline":
        chosen = None if replicate is None else whole_number(replicate, "The Gantt replicate", 0, MAX_SEED)
        return PAGES[tab](runs, chosen)
    return PAGES[tab](runs)


def on_view(ctx: Context, tab: object, run_ids: object, replicate: object) -> list:
    """Draw the active tab only; the others keep what they showed."""
    out = [no_update] * len(PAGE_TABS)
    if tab not in PAGE_TABS:
        return out
    index = PAGE_TABS.index(tab)
    try:
        out[index] = layout.render(build_view(ctx, tab, run_ids, replicate))
    except DashboardError as exc:
        out[index] = layout.error(_messages(ctx, exc))
    except Exception as exc:  # a run whose tables are not what a run holds: say so on its tab
        out[index] = layout.error(f"These runs cannot be shown ({type(exc).__name__}: {_messages(ctx, exc)}). "
                                  "A stored run may be damaged; run its scenario again.")  # fmt: skip
    return out


def on_scenario(ctx: Context, name: object):
    if not name:
        return layout.error("Pick a scenario file to see its parameters.")
    try:
        scenario, _ = load_scenario_file(ctx.scenarios_dir, name)
    except DashboardError as exc:
        return layout.error(str(exc))
    return layout.render(scenario_view(scenario, name))


def on_upload(ctx: Context, contents: object, filename: object):
    """Validate an uploaded file with the CLI's messages; nothing is written to disk."""
    if not contents:
        return layout.error("The upload was empty or larger than the limit.")
    shown = Path(filename).name if isinstance(filename, str) and filename else "upload.yaml"
    if not isinstance(contents, str) or "," not in contents:
        return layout.error(f"{shown}: the upload could not be decoded")
    try:
        payload = base64.b64decode(contents.split(",", 1)[1], validate=False)
        scenario = validate_upload(shown, payload, ctx.scenarios_dir)
    except (binascii.Error, ValueError):
        return layout.error(f"{shown}: the upload could not be decoded")
    except DashboardError as exc:
        return layout.error(str(exc))
    return [dash.html.P(f"{shown}: valid.", className="upload-ok"), *layout.render(scenario_view(scenario, shown))]


def on_run(ctx: Context, set_progress: Callable, files: object, replicates: object, seed: object):
    """Run the picked scenario files on one seed (so they compare on common random numbers),
    store every run, and show them; at most ``max_replicates`` each, one job at a time."""
    prepare_job_process(ctx.server_pid)
    try:
        picked = names(files, "scenario files to run")
        n = whole_number(replicates, "Replicates", 1, ctx.max_replicates)
        seed = whole_number(seed, "The seed", 0, MAX_SEED)
        loaded = [(name, *load_scenario_file(ctx.scenarios_dir, name)) for name in picked]
        with ctx.jobs.hold(f"{len(loaded)} scenario run(s) of {n:,} replicates"):
            run_ids = _run_and_store(ctx, set_progress, loaded, n, seed)
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, no_update, _messages(ctx, exc)
    status = f"Stored {len(run_ids)} run(s) of {n} replicates, seed {seed}: {', '.join(run_ids)}"
    return run_options(ctx.results_dir), run_ids, status


def _run_and_store(ctx: Context, set_progress: Callable, loaded: list, replicates: int, seed: int) -> list[str]:
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
            ctx.results_dir, tables.with_summaries(scenario), scenario=scenario,
            scenario_file=ctx.scenarios_dir / name, scenario_text=text, seed=seed, replicates=replicates,
            options={"workers": ctx.workers, "source": "dashboard"}, command=sys.argv, started=started,
        )  # fmt: skip
        run_ids.append(path.name)
    return run_ids


def on_plan(ctx: Context, set_progress: Callable, run_ids: object, target_pct: object, replicates: object,
            seed: object):  # fmt: skip
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
            set_progress((f"{count} policies simulated; last: reorder point {e.point}, look-ahead "
                          f"{e.lookahead_days:.0f} d, P(wait) {100 * e.risk:.1f}% ({e.seeds} seeds)",))  # fmt: skip

        with ctx.jobs.hold(f"a lot plan of {n:,} replicates per policy"):
            plan = plan_lots(scenario, target_pct / 100, n, seed, on_evaluated=evaluated, workers=ctx.workers)
    except (DashboardError, BudgetExceeded) as exc:
        return layout.error(_messages(ctx, exc))
    return layout.render(lot_plan_view(plan, scenario.name, seed))


# -- the Forecast tab ------------------------------------------------------------------------


def _actuals_dir(ctx: Context) -> Path:
    return ctx.actuals_dir if ctx.actuals_dir is not None else ctx.scenarios_dir / "actuals"


def on_load_forecast(ctx: Context):
    """The Forecast tab's pickers: scenario files, the records folders of the actuals folder, and
    today as the as-of date (until records are picked)."""
    files = list(scenario_files(ctx.scenarios_dir))
    return files, list(actuals_folders(_actuals_dir(ctx))), dt.date.today().isoformat()


def as_of_date(value: object) -> dt.date:
    """The as-of date the browser sent (``YYYY-MM-DD``, perhaps with a time)."""
    if not isinstance(value, str) or not value:
        raise DashboardError("Pick the date the records are complete to (as of).")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise DashboardError(f"The as-of date {value[:40]!r} is not a date (YYYY-MM-DD)") from None


def _forecast_inputs(ctx: Context, scenario_name: object, choice: object, upload: object, as_of: object):
    """The scenario, the records and the as-of date the page picked, checked as the CLI checks them."""
    if not scenario_name:
        raise DashboardError("Pick the trial's scenario file.")
    scenario, text = load_scenario_file(ctx.scenarios_dir, scenario_name)
    day = as_of_date(as_of)
    if day < scenario.start_date:
        raise DashboardError(f"As of {day}: before the study's start {scenario.start_date}")
    if scenario.day_of(day) + 1 >= scenario.horizon_days:
        raise DashboardError(f"As of {day}: past the scenario's horizon ({scenario.horizon_days:g} days)")
    return scenario, text, records_source(_actuals_dir(ctx), choice, upload), day


def _shown(ctx: Context, source: RecordFiles | Path, message: str) -> str:
    """``message`` with the records' folder as the user knows it."""
    return scrub(message, source if isinstance(source, Path) else Path(str(source.origin)))


def on_records_picked(ctx: Context, choice: object, upload: object):
    """A first guess at the as-of date: the date in the records' name, else their last day."""
    try:
        latest = as_of_hint(records_source(_actuals_dir(ctx), choice, upload))
    except DashboardError:
        return no_update
    return latest.isoformat() if latest is not None else no_update


def on_records_check(ctx: Context, scenario_name: object, choice: object, as_of: object, upload: object):
    """Check the picked records against the scenario as the CLI would, and say what they hold."""
    if not scenario_name or not choice:
        return "Pick the scenario file and the trial's records (a folder, or upload a zip of one)."
    source = None
    try:
        scenario, _, source, day = _forecast_inputs(ctx, scenario_name, choice, upload, as_of)
        actuals, state = read_state(scenario, source, day)
    except DashboardError as exc:
        return layout.error(_messages(ctx, exc))
    except ActualsError as exc:
        return layout.error(_shown(ctx, source, str(exc)) if source is not None else str(exc))
    counts = ", ".join(f"{len(lines)} rows in {name}" for name, lines in actuals.tables.items())
    lines = [f"The records are valid as of {day}: {counts}. The simulation restarts on day {state.restart_day:g}."]
    lines += [f"Warning: {w}" for w in actuals.warnings]
    return dash.html.Div([dash.html.P(line, className="records-ok") for line in lines])


def on_records_upload(ctx: Context, contents: object, filename: object, options: object):
    """Check an uploaded zip of records (sizes, layout, CSV files) and keep it in the page; it is
    checked against the scenario when one is picked. Nothing is written on the server."""
    current = [o for o in options if isinstance(o, str) and not o.startswith(UPLOADED)] if isinstance(
        options, list) else []  # fmt: skip
    if not contents or not isinstance(contents, str):
        return no_update, no_update, no_update, layout.error("The upload was empty or larger than the limit.")
    name = Path(filename).name if isinstance(filename, str) and filename else "records.zip"
    try:
        records = records_upload(name, contents)
    except DashboardError as exc:  # the page keeps what it had: the message is all that changes
        return no_update, no_update, no_update, layout.error(str(exc))
    label = f"{UPLOADED}{records.origin}"
    kept = {"name": name, "content": contents.split(",", 1)[-1]}
    return kept, [*current, label], label, no_update


def on_forecast(ctx: Context, set_progress: Callable, scenario_name: object, choice: object, upload: object,
                as_of: object, learning: object, replicates: object, seed: object):  # fmt: skip
    """Forecast the trial from its records (as ``ctdild-sim forecast``, without the lot-plan
    search), store the run and show it; one job at a time, at most ``max_replicates``."""
    prepare_job_process(ctx.server_pid)
    source = None
    try:
        scenario, text, source, day = _forecast_inputs(ctx, scenario_name, choice, upload, as_of)
        n = whole_number(replicates, "Replicates", 1, ctx.max_replicates)
        seed = whole_number(seed, "The seed", 0, MAX_SEED)
        learn = isinstance(learning, list) and "learn" in learning
        read_state(scenario, source, day)  # every problem of the records before anything is simulated
        with ctx.jobs.hold(f"a forecast of {n:,} replicates"):
            started = dt.datetime.now(dt.UTC)
            done: dict[str, int] = {}

            def progress(step: str, total: int | None, k: int) -> None:
                done[step] = done.get(step, 0) + k
                set_progress((f"{step}: {done[step]:,}" + (f" / {total:,}" if total else "") + " replicates",))

            made = forecast(scenario, source, day, n, seed, learning=learn, progress=progress, workers=ctx.workers)
            extra = made.manifest()
            if isinstance(source, RecordFiles):
                extra["actuals_folder"] = f"{UPLOADED}{source.origin}"
            path = save_run(
                ctx.results_dir, made.output_tables(), scenario=scenario,
                scenario_file=ctx.scenarios_dir / str(scenario_name), scenario_text=text, seed=seed, replicates=n,
                options={"workers": ctx.workers, "source": "dashboard"}, command=sys.argv, started=started,
                extra=extra,
            )  # fmt: skip
    except ActualsError as exc:
        return no_update, no_update, layout.error(_shown(ctx, source, str(exc)) if source is not None else str(exc))
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, no_update, layout.error(_messages(ctx, exc))
    status = f"Stored forecast {path.name} ({n} replicates, seed {seed}, as of {day})."
    return run_options(ctx.results_dir), [path.name], status


MIME = {"html": "text/html", "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip


def _download(pack: Pack, fmt: object, name: str) -> dict:
    """A report as a download (``ReportError``/``DashboardError`` when it cannot be made)."""
    if fmt not in FORMATS:
        raise DashboardError(f"a report is one of {', '.join(FORMATS)} (got {str(fmt)[:20]!r})")
    content = report_bytes(pack, fmt)
    return {"content": base64.b64encode(content).decode(), "base64": True, "filename": f"{name}.{fmt}",
            "type": MIME[fmt]}  # fmt: skip


def on_export(ctx: Context, tab: object, run_ids: object, replicate: object, scenario_name: object,
              fmt: object = "html"):  # fmt: skip
    """The current tab as a report (HTML, PDF or Excel), written by the same code as
    ``ctdild-sim report``; a message instead when it cannot be made."""
    try:
        if tab == "scenario":
            if not scenario_name:
                raise DashboardError("Pick a scenario file to export its parameters.")
            view = scenario_view(load_scenario_file(ctx.scenarios_dir, scenario_name)[0], str(scenario_name))
        else:
            view = build_view(ctx, tab, run_ids, replicate)
        pack = view_pack(f"ctdild-sim: {view.title}", view.notes, [fig for _, fig in view.figures], view.tables)
        return _download(pack, fmt, f"ctdild-sim-{tab}"), ""
    except (DashboardError, ReportError) as exc:
        return no_update, _messages(ctx, exc)


def on_steering_pack(ctx: Context, run_ids: object, fmt: object = "pdf"):
    """The steering pack of the picked runs (as ``ctdild-sim report``)."""
    try:
        runs = load_runs(ctx.results_dir, run_ids)
        if not runs:
            raise DashboardError("Pick the runs the steering pack is about.")
        records = [RunRecord(r.run_id, r.manifest, r.scenario, r.tables) for r in runs]
        return _download(steering_pack(records), fmt, f"steering-pack-{slug(runs[0].run_id)}"), ""
    except (DashboardError, ReportError) as exc:
        return no_update, _messages(ctx, exc)


def on_csv(key: object, rows: object, columns: object):
    """A table's CSV download, named after the table ("NCT06574581 base: milestones" ->
    ``nct06574581-base-milestones.csv``), with the columns and cells the page shows."""
    if not isinstance(rows, list) or not isinstance(columns, list):
        return no_update
    names = [c.get("name") for c in columns if isinstance(c, dict)]
    frame = pd.DataFrame([r for r in rows if isinstance(r, dict)], columns=names)
    return {"content": frame.to_csv(index=False), "filename": f"{slug(str(key))}.csv", "type": "text/csv"}


def slug(text: str) -> str:
    """A file name from a title: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120] or "table"


# -- wiring ----------------------------------------------------------------------------------


def register(app: dash.Dash, ctx: Context) -> None:
    """Wire the callbacks to the page's components (ids: ``layout``)."""
    app.callback(
        Output("scenario-files", "options"),
        Output("scenario-detail", "options"),
        Output("run-picker", "options"),
        Output("run-picker", "value"),
        Output("tabs", "value"),
        Input("url", "search"),
    )(lambda search: on_load(ctx, search))

    app.callback(
        [Output(f"view-{tab}", "children") for tab in PAGE_TABS],
        Input("tabs", "value"),
        Input("run-picker", "value"),
        Input("gantt-replicate", "value"),
    )(lambda tab, run_ids, replicate: on_view(ctx, tab, run_ids, replicate))

    app.callback(Output("view-scenario", "children"), Input("scenario-detail", "value"))(
        lambda name: on_scenario(ctx, name)
    )

    app.callback(
        Output("upload-result", "children"),
        Input("upload", "contents"),
        State("upload", "filename"),
        prevent_initial_call=True,
    )(lambda contents, filename: on_upload(ctx, contents, filename))

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
    def run_job(set_progress, _clicks, files, replicates, seed):
        return on_run(ctx, set_progress, files, replicates, seed)

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
    def plan_job(set_progress, _clicks, run_ids, target_pct, replicates, seed):
        return on_plan(ctx, set_progress, run_ids, target_pct, replicates, seed)

    app.callback(
        Output("forecast-scenario", "options"),
        Output("forecast-records", "options"),
        Output("forecast-as-of", "date"),
        Input("url", "search"),
    )(lambda _search: on_load_forecast(ctx))

    app.callback(
        Output("forecast-as-of", "date", allow_duplicate=True),
        Input("forecast-records", "value"),
        State("forecast-upload-store", "data"),
        prevent_initial_call=True,
    )(lambda choice, upload: on_records_picked(ctx, choice, upload))

    app.callback(
        Output("forecast-records-status", "children"),
        Input("forecast-scenario", "value"),
        Input("forecast-records", "value"),
        Input("forecast-as-of", "date"),
        State("forecast-upload-store", "data"),
    )(lambda name, choice, as_of, upload: on_records_check(ctx, name, choice, as_of, upload))

    app.callback(
        Output("forecast-upload-store", "data"),
        Output("forecast-records", "options", allow_duplicate=True),
        Output("forecast-records", "value"),
        Output("forecast-records-status", "children", allow_duplicate=True),
        Input("forecast-upload", "contents"),
        State("forecast-upload", "filename"),
        State("forecast-records", "options"),
        prevent_initial_call=True,
    )(lambda contents, filename, options: on_records_upload(ctx, contents, filename, options))

    @app.callback(
        Output("run-picker", "options", allow_duplicate=True),
        Output("run-picker", "value", allow_duplicate=True),
        Output("forecast-status", "children"),
        Input("forecast-button", "n_clicks"),
        State("forecast-scenario", "value"),
        State("forecast-records", "value"),
        State("forecast-upload-store", "data"),
        State("forecast-as-of", "date"),
        State("forecast-learning", "value"),
        State("replicates", "value"),
        State("seed", "value"),
        background=True,
        running=[
            (Output("forecast-button", "disabled"), True, False),
            (Output("forecast-cancel", "disabled"), False, True),
        ],
        cancel=[Input("forecast-cancel", "n_clicks")],
        progress=[Output("forecast-progress", "children")],
        prevent_initial_call=True,
    )
    def forecast_job(set_progress, _clicks, name, choice, upload, as_of, learning, replicates, seed):
        return on_forecast(ctx, set_progress, name, choice, upload, as_of, learning, replicates, seed)

    app.callback(
        Output({"type": "csv-download", "key": MATCH}, "data"),
        Input({"type": "csv-button", "key": MATCH}, "n_clicks"),
        State({"type": "csv-button", "key": MATCH}, "id"),
        State({"type": "table", "key": MATCH}, "data"),
        State({"type": "table", "key": MATCH}, "columns"),
        prevent_initial_call=True,
    )(lambda _clicks, button, rows, columns: on_csv(button.get("key") if isinstance(button, dict) else "", rows,
                                                    columns))  # fmt: skip

    app.callback(
        Output("export-download", "data"),
        Output("export-status", "children"),
        Input("export-button", "n_clicks"),
        State("tabs", "value"),
        State("run-picker", "value"),
        State("gantt-replicate", "value"),
        State("scenario-detail", "value"),
        State("export-format", "value"),
        prevent_initial_call=True,
    )(lambda _c, tab, run_ids, replicate, scenario, fmt: on_export(ctx, tab, run_ids, replicate, scenario, fmt))

    app.callback(
        Output("export-download", "data", allow_duplicate=True),
        Output("export-status", "children", allow_duplicate=True),
        Input("pack-button", "n_clicks"),
        State("run-picker", "value"),
        State("export-format", "value"),
        prevent_initial_call=True,
    )(lambda _clicks, run_ids, fmt: on_steering_pack(ctx, run_ids, fmt))
