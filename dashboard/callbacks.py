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
import datetime as dt
import re
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import dash
import pandas as pd
from dash import ALL, MATCH, Input, Output, State, no_update

from ctdild_sim.actuals.reader import ActualsError, RecordBook, RecordFiles, as_of_hint
from ctdild_sim.actuals.records import read_records
from ctdild_sim.reports.pack import Pack, steering_pack, view_pack
from ctdild_sim.reports.writers import FORMATS, ReportError, report_bytes
from ctdild_sim.runs.export import WriteFailed, safe_for_spreadsheets
from ctdild_sim.runs.results import StoreError, save_run
from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.studies.forecast import forecast
from ctdild_sim.studies.lot_plan import Evaluation, plan_lots
from ctdild_sim.views.compare import compare_view
from ctdild_sim.views.forecast import forecast_view
from ctdild_sim.views.lot_plan import lot_plan_view
from ctdild_sim.views.plan import cohorts_view, plan_view, screening_view, typical_options
from ctdild_sim.views.product import product_view
from ctdild_sim.views.scenario import scenario_view
from ctdild_sim.views.sensitivity import sensitivity_view
from ctdild_sim.views.view import View
from dashboard import ids, layout
from dashboard.context import MAX_SEED, Context, messages, whole_number
from dashboard.data import (
    UPLOADED,
    DashboardError,
    actuals_folders,
    distinct_picks,
    file_comments_in,
    load_runs,
    load_scenario_file,
    records_source,
    records_upload,
    scenario_files,
    scrub,
    stored_runs,
)
from dashboard.jobs import prepare_job_process
from dashboard.pages import PATHS
from dashboard.running import job_callback, run_and_store, run_options, show_stored
from dashboard.scenario_editor import on_scenario

PAGES = {
    "timeline": plan_view,
    "product": product_view,
    "cohorts": cohorts_view,
    "screening": screening_view,
    "compare": compare_view,
    "forecast": forecast_view,
    "sensitivity": sensitivity_view,
}
"""Each page's view model of the runs the address names."""
PAGE_TABS = list(PAGES)
# -- checking what the browser sent --------------------------------------------------------


def names(value: object, what: str) -> list[str]:
    """``value`` as a non-empty list of distinct names (``distinct_picks``)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DashboardError(f"Pick one or more {what}.")
    return distinct_picks(value, what)


def job_replicates(ctx: Context, files: int, replicates: object) -> int:
    """The replicates a file of a job of ``files`` files may run: the job's total, files x
    replicates, is at most ``max_replicates`` (a request naming one file 200 times once started
    4,000,000 replicates and kept every other visitor waiting)."""
    n = whole_number(replicates, "Replicates", 1, ctx.max_replicates)
    if files * n > ctx.max_replicates:
        raise DashboardError(
            f"A job runs at most {ctx.max_replicates:,} replicates in all: {files} files x {n:,} "
            f"replicates is {files * n:,}; pick fewer files or replicates."
        )
    return n


# -- the callbacks ---------------------------------------------------------------------------


def address_runs(search: object) -> list[str]:
    """The run ids the address names (``?runs=A,B``), as written."""
    query = parse_qs(search.lstrip("?")) if isinstance(search, str) else {}
    return [r for r in ",".join(query.get("runs", [])).split(",") if r]


def on_load(ctx: Context, search: object):
    """Fill the pickers from the store and the address: the runs it names that are stored are
    picked; any it names that are not are reported (not silently dropped)."""
    files = list(scenario_files(ctx.scenarios_dir))
    options = run_options(ctx.results_dir)
    known = {o["value"] for o in options}
    named = address_runs(search)
    picked = [r for r in named if r in known]
    unknown = [r for r in named if r not in known]
    status = (
        layout.error(
            "The address names runs that are not in the results store: "
            + ", ".join(r[:80] for r in unknown[:5])
            + (" ..." if len(unknown) > 5 else "")
        )
        if unknown
        else None
    )
    return files, options, picked, status


def on_pick(ctx: Context, run_ids: object, search: object, page_query: object):
    """The picked runs into the address (so the view can be bookmarked and sent); nothing when the
    address already says so (the picker was filled from it, leaving out the ids it names that are
    not stored: those stay in the address, reported, until the user picks other runs)."""
    if run_ids is not None and (not isinstance(run_ids, list) or not all(isinstance(r, str) for r in run_ids)):
        return no_update
    query = parse_qs(search.lstrip("?")) if isinstance(search, str) else {}
    known = {r.run_id for r in stored_runs(ctx.results_dir)}
    if (run_ids or []) == [r for r in address_runs(search) if r in known]:
        return no_update, no_update
    return with_query(query, runs=",".join(run_ids or []) or None), _state(page_query, runs=list(run_ids or []))


def _state(page_query: object, **changes) -> dict:
    """The page's state with ``changes`` (what the view is drawn from)."""
    state = dict(page_query) if isinstance(page_query, dict) else {}
    state.update(changes)
    return state


def with_query(query: dict, **changes: str | None) -> str:
    """The address's query with ``changes`` (None removes a key)."""
    values = {k: v[-1] for k, v in query.items() if v}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return ("?" + "&".join(f"{k}={v}" for k, v in values.items())) if values else ""


def on_nav(search: object, pathname: object, links: object) -> tuple[list, list]:
    """Each page's link carries the address's query, so moving between pages keeps the runs; the
    link of the page shown is marked as the current one."""
    query = parse_qs(search.lstrip("?")) if isinstance(search, str) else {}
    runs = query.get("runs", [])
    suffix = f"?runs={runs[-1]}" if runs else ""
    keys = [link.get("page") if isinstance(link, dict) else None for link in links] if isinstance(links, list) else []
    here = pathname if isinstance(pathname, str) else "/"
    classes = [f"nav-link nav-{k}" + (" nav-current" if PATHS.get(k) == here else "") for k in keys]
    return [f"{PATHS.get(k, '/')}{suffix}" for k in keys], classes


def on_replicate(replicate: object, search: object, page_query: object):
    """The Gantt chart's replicate into the address and the view."""
    if replicate is not None and (isinstance(replicate, bool) or not isinstance(replicate, int | float)):
        return no_update, no_update
    query = parse_qs(search.lstrip("?")) if isinstance(search, str) else {}
    value = None if replicate is None else str(int(replicate))
    if value == (query.get("replicate") or [None])[-1]:
        return no_update, no_update
    return with_query(query, replicate=value), _state(page_query, replicate=value)


def build_view(ctx: Context, page: object, run_ids: object, replicate: object) -> View:
    """The View of a page for the runs the address names (DashboardError when it cannot be shown)."""
    if page not in PAGE_TABS:
        raise DashboardError(f"there is no page {str(page)[:40]!r}")
    runs = load_runs(ctx.results_dir, run_ids)
    if not runs and page == "forecast":
        return PAGES[page](runs)  # it says how to make a forecast
    if not runs:
        raise NothingPicked("Pick one or more stored runs above, or run scenario files.")
    if page == "timeline":
        chosen = (
            None if replicate in (None, "") else whole_number(_number(replicate), "The Gantt replicate", 0, MAX_SEED)
        )
        return PAGES[page](runs, chosen)
    return PAGES[page](runs)


def _number(value: object) -> object:
    """A number written in the address ("3"), as a number; anything else as it is (then refused)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


class NothingPicked(DashboardError):
    """Not an error: the page needs runs picked first (shown as a hint)."""


def on_view(ctx: Context, query: object) -> list:
    """Draw the page's view from its state in the address."""
    if not isinstance(query, dict):
        return layout.error("This page's state could not be read; reload the page.")
    page = query.get("page")
    if page == "scenario":
        return on_scenario(ctx, query.get("file"))
    try:
        return layout.render(build_view(ctx, page, query.get("runs"), query.get("replicate")))
    except NothingPicked as exc:
        return layout.hint(str(exc))
    except DashboardError as exc:
        return layout.error(messages(ctx, exc))
    except Exception as exc:  # a run whose tables are not what a run holds: say so on its page
        return layout.error(
            f"These runs cannot be shown ({type(exc).__name__}: {messages(ctx, exc)}). "
            "A stored run may be damaged; run its scenario again."
        )


def on_scenario_options(ctx: Context, _id: object, query: object):
    """The Scenario page's file picker, with the file the address names."""
    files = list(scenario_files(ctx.scenarios_dir))
    named = query.get("file") if isinstance(query, dict) else None
    return files, named if named in files else None


def on_scenario_picked(name: object, search: object, page_query: object):
    """The picked scenario file into the address and the view."""
    query = parse_qs(search.lstrip("?")) if isinstance(search, str) else {}
    value = name if isinstance(name, str) and name else None
    if value == (query.get("file") or [None])[-1]:
        return no_update, no_update
    return with_query(query, file=value), _state(page_query, file=value)


def on_run(ctx: Context, set_progress: Callable, files: object, replicates: object, seed: object):
    """Run the picked scenario files on one seed (so they compare on common random numbers),
    store every run, and show them; at most ``max_replicates`` in all, one job at a time."""
    prepare_job_process(ctx.server_pid)
    try:
        picked = names(files, "scenario files to run")
        n = job_replicates(ctx, len(picked), replicates)
        seed = whole_number(seed, "The seed", 0, MAX_SEED)
        loaded = [(name, *load_scenario_file(ctx.scenarios_dir, name)) for name in picked]
        with ctx.jobs.hold(f"{len(loaded)} scenario run(s) of {n:,} replicates"):
            run_ids = run_and_store(ctx, set_progress, loaded, n, seed)
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, no_update, messages(ctx, exc)
    status = f"Stored {len(run_ids)} run(s) of {n} replicates, seed {seed}: {', '.join(run_ids)}"
    return run_options(ctx.results_dir), run_ids, status


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
        return layout.error(messages(ctx, exc))
    return layout.render(lot_plan_view(plan, scenario.name, seed))


# -- the Forecast tab ------------------------------------------------------------------------


def _actuals_dir(ctx: Context) -> Path:
    return ctx.actuals_dir if ctx.actuals_dir is not None else ctx.scenarios_dir / "actuals"


def on_load_forecast(ctx: Context, _id: object = None):
    """The Forecast page's pickers: scenario files, the records folders of the actuals folder, and
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


def _forecast_inputs(
    scenarios_dir: Path, actuals_dir: Path, scenario_name: object, choice: object, upload: object, as_of: object
):
    """The scenario, the records and the as-of date the page picked, checked as the CLI checks them."""
    if not scenario_name:
        raise DashboardError("Pick the trial's scenario file.")
    scenario, text = load_scenario_file(scenarios_dir, scenario_name)
    day = as_of_date(as_of)
    if day < scenario.start_date:
        raise DashboardError(f"As of {day}: before the study's start {scenario.start_date}")
    if scenario.day_of(day) + 1 >= scenario.horizon_days:
        raise DashboardError(f"As of {day}: past the scenario's horizon ({scenario.horizon_days:g} days)")
    return scenario, text, records_source(actuals_dir, choice, upload), day


def _shown(source: RecordFiles | RecordBook | Path | None, exc: ActualsError) -> str:
    """The records' problems with their folder named as the user knows it."""
    if source is None:
        return str(exc)
    return scrub(str(exc), source if isinstance(source, Path) else Path(str(source.origin)))


# Reading a visitor's records costs what the visitor makes it cost: the three functions below run
# in a bounded child process (``ctx.checks``, see ``bounded``), never in the server's threads.


def records_as_of_hint(actuals_dir: Path, choice: object, upload: object) -> str | None:
    """The as-of date the records suggest (``as_of_hint``), as the date picker takes it."""
    try:
        latest = as_of_hint(records_source(actuals_dir, choice, upload))
    except DashboardError:
        return None
    return latest.isoformat() if latest is not None else None


def records_summary(
    scenarios_dir: Path, actuals_dir: Path, scenario_name: object, choice: object, as_of: object, upload: object
) -> list[str]:
    """The picked records checked against the scenario as the CLI checks them: what they hold."""
    source = None
    try:
        scenario, _, source, day = _forecast_inputs(scenarios_dir, actuals_dir, scenario_name, choice, upload, as_of)
        records = read_records(source, scenario, day)
    except ActualsError as exc:
        raise DashboardError(_shown(source, exc)) from None
    counts = ", ".join(f"{len(lines)} rows in {name}" for name, lines in records.actuals.tables.items())
    lines = [f"The records are valid as of {day}: {counts}. The simulation takes over on day {records.restart_day:g}."]
    return lines + [f"Warning: {w}" for w in records.warnings]


def uploaded_records_name(filename: str, contents: str) -> str:
    """An uploaded zip or workbook unpacked and read as far as it can be without a scenario: the
    name it goes by."""
    return str(records_upload(filename, contents).origin)


def on_records_picked(ctx: Context, choice: object, upload: object):
    """A first guess at the as-of date: the date in the records' name, else their last day."""
    try:
        latest = ctx.checks.run(records_as_of_hint, _actuals_dir(ctx), choice, upload)
    except DashboardError:
        return no_update
    return latest if latest is not None else no_update


def on_records_check(ctx: Context, scenario_name: object, choice: object, as_of: object, upload: object):
    """Check the picked records against the scenario as the CLI would, and say what they hold."""
    if not scenario_name or not choice:
        return "Pick the scenario file and the trial's records (a folder or workbook, or upload a zip or a workbook)."
    try:
        lines = ctx.checks.run(
            records_summary, ctx.scenarios_dir, _actuals_dir(ctx), scenario_name, choice, as_of, upload
        )
    except DashboardError as exc:
        return layout.error(messages(ctx, exc))
    return dash.html.Div([dash.html.P(line, className="records-ok") for line in lines])


def on_records_upload(ctx: Context, contents: object, filename: object, options: object):
    """Check an uploaded zip of records (sizes, layout, CSV files) and keep it in the page; it is
    checked against the scenario when one is picked. Nothing is written on the server."""
    current = (
        [o for o in options if isinstance(o, str) and not o.startswith(UPLOADED)] if isinstance(options, list) else []
    )
    if not contents or not isinstance(contents, str):
        return no_update, no_update, no_update, layout.error("The upload was empty or larger than the limit.")
    name = Path(filename).name if isinstance(filename, str) and filename else "records.zip"
    try:
        origin = ctx.checks.run(uploaded_records_name, name, contents)
    except DashboardError as exc:  # the page keeps what it had: the message is all that changes
        return no_update, no_update, no_update, layout.error(str(exc))
    label = f"{UPLOADED}{origin}"
    kept = {"name": name, "content": contents.split(",", 1)[-1]}
    return kept, [*current, label], label, no_update


def on_forecast(
    ctx: Context,
    set_progress: Callable,
    scenario_name: object,
    choice: object,
    upload: object,
    as_of: object,
    learning: object,
    replicates: object,
    seed: object,
):
    """Forecast the trial from its records (as ``ctdild-sim forecast``, without the lot-plan
    search), store the run and show it; one job at a time, at most ``max_replicates``."""
    prepare_job_process(ctx.server_pid)
    source = None
    try:
        scenario, text, source, day = _forecast_inputs(
            ctx.scenarios_dir, _actuals_dir(ctx), scenario_name, choice, upload, as_of
        )
        n = whole_number(replicates, "Replicates", 1, ctx.max_replicates)
        seed = whole_number(seed, "The seed", 0, MAX_SEED)
        learn = isinstance(learning, list) and "learn" in learning
        with ctx.jobs.hold(f"a forecast of {n:,} replicates"):
            records = read_records(source, scenario, day)  # the job's own process, one job at a time
            started = dt.datetime.now(dt.UTC)
            done: dict[str, int] = {}

            def progress(step: str, total: int | None, k: int) -> None:
                done[step] = done.get(step, 0) + k
                set_progress((f"{step}: {done[step]:,}" + (f" / {total:,}" if total else "") + " replicates",))

            made = forecast(scenario, records, day, n, seed, learning=learn, progress=progress, workers=ctx.workers)
            extra = made.manifest()
            if isinstance(source, RecordFiles | RecordBook):
                extra["actuals_folder"] = f"{UPLOADED}{source.origin}"
            path = save_run(
                ctx.results_dir,
                made.output_tables(),
                scenario=scenario,
                scenario_file=ctx.scenarios_dir / str(scenario_name),
                scenario_text=text,
                seed=seed,
                replicates=n,
                options={"workers": ctx.workers, "source": "dashboard"},
                command=sys.argv,
                started=started,
                extra=extra,
            )
    except ActualsError as exc:
        return no_update, layout.error(_shown(source, exc))
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, layout.error(messages(ctx, exc))
    return path.name, f"Stored forecast {path.name} ({n} replicates, seed {seed}, as of {day})."


# fmt: off
MIME = {"html": "text/html", "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# fmt: on


def _download(pack: Pack, fmt: object, name: str) -> dict:
    """A report as a download (``ReportError``/``DashboardError`` when it cannot be made)."""
    if fmt not in FORMATS:
        raise DashboardError(f"a report is one of {', '.join(FORMATS)} (got {str(fmt)[:20]!r})")
    content = report_bytes(pack, fmt)
    return {
        "content": base64.b64encode(content).decode(),
        "base64": True,
        "filename": f"{name}.{fmt}",
        "type": MIME[fmt],
    }


def on_export(ctx: Context, query: object, fmt: object = "html"):
    """The page's view as a report (HTML, PDF or Excel), written by the same code as
    ``ctdild-sim report``; a message instead when it cannot be made."""
    try:
        if not isinstance(query, dict):
            raise DashboardError("This page's state could not be read; reload the page.")
        page = query.get("page")
        if page == "scenario":
            name = query.get("file")
            if not name:
                raise DashboardError("Pick a scenario file to export its parameters.")
            scenario, text = load_scenario_file(ctx.scenarios_dir, name)
            view = scenario_view(scenario, str(name), file_comments_in(ctx.scenarios_dir, text))
        else:
            view = build_view(ctx, page, query.get("runs"), query.get("replicate"))
        return _download(view_pack(view), fmt, f"ctdild-sim-{page}"), ""
    except (DashboardError, ReportError) as exc:
        return no_update, messages(ctx, exc)


def on_steering_pack(ctx: Context, run_ids: object, fmt: object = "pdf"):
    """The steering pack of the picked runs (as ``ctdild-sim report``)."""
    try:
        runs = load_runs(ctx.results_dir, run_ids)
        if not runs:
            raise DashboardError("Pick the runs the steering pack is about.")
        return _download(steering_pack(runs), fmt, f"steering-pack-{slug(runs[0].run_id)}"), ""
    except (DashboardError, ReportError) as exc:
        return no_update, messages(ctx, exc)


def on_csv(key: object, rows: object, columns: object):
    """A table's CSV download, named after the table ("NCT06574581 base: milestones" ->
    ``nct06574581-base-milestones.csv``), with the columns and cells the page shows."""
    if not isinstance(rows, list) or not isinstance(columns, list):
        return no_update
    names = [c.get("name") for c in columns if isinstance(c, dict)]
    frame = pd.DataFrame([r for r in rows if isinstance(r, dict)], columns=names)
    return {
        "content": safe_for_spreadsheets(frame).to_csv(index=False),
        "filename": f"{slug(str(key))}.csv",
        "type": "text/csv",
    }


def slug(text: str) -> str:
    """A file name from a title: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120] or "table"


# -- wiring ----------------------------------------------------------------------------------


def on_typical_options(ctx: Context, _id: object, query: object) -> list[dict]:
    """The Gantt chart's typical replicates for the first run the address names."""
    try:
        runs = load_runs(ctx.results_dir, query.get("runs") if isinstance(query, dict) else None)
    except DashboardError:
        return []
    if not runs:
        return []
    return typical_options(runs[0])


def register(app: dash.Dash, ctx: Context) -> None:
    """Wire the callbacks to the components (``ids``)."""
    app.callback(
        Output(ids.SCENARIO_FILES, "options"),
        Output(ids.RUN_PICKER, "options"),
        Output(ids.RUN_PICKER, "value"),
        Output(ids.URL_STATUS, "children"),
        Input(ids.URL, "search"),
    )(lambda search: on_load(ctx, search))

    # the address follows the page's state (refresh=False: it is written, the page is not reloaded;
    # the same callback hands the view its new state)
    app.callback(
        Output(ids.URL, "search"),
        Output(ids.QUERY, "data"),
        Input(ids.RUN_PICKER, "value"),
        State(ids.URL, "search"),
        State(ids.QUERY, "data"),
        prevent_initial_call=True,
    )(lambda run_ids, search, query: on_pick(ctx, run_ids, search, query))

    app.callback(
        Output({"type": ids.NAV, "page": ALL}, "href"),
        Output({"type": ids.NAV, "page": ALL}, "className"),
        Input(ids.URL, "search"),
        Input(ids.URL, "pathname"),
        State({"type": ids.NAV, "page": ALL}, "id"),
    )(on_nav)

    app.callback(Output(ids.VIEW, "children"), Input(ids.QUERY, "data"))(lambda query: on_view(ctx, query))

    # timeline: the Gantt chart's replicate
    app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Output(ids.QUERY, "data", allow_duplicate=True),
        Input(ids.GANTT_REPLICATE, "value"),
        State(ids.URL, "search"),
        State(ids.QUERY, "data"),
        prevent_initial_call=True,
    )(on_replicate)
    app.callback(Output(ids.GANTT_TYPICAL, "options"), Input(ids.GANTT_TYPICAL, "id"), State(ids.QUERY, "data"))(
        lambda _id, query: on_typical_options(ctx, _id, query)
    )
    app.callback(Output(ids.GANTT_REPLICATE, "value"), Input(ids.GANTT_TYPICAL, "value"), prevent_initial_call=True)(
        lambda value: value if isinstance(value, int) else no_update
    )

    # scenario page
    app.callback(
        Output(ids.SCENARIO_DETAIL, "options"),
        Output(ids.SCENARIO_DETAIL, "value"),
        Input(ids.SCENARIO_DETAIL, "id"),
        State(ids.QUERY, "data"),
    )(lambda _id, query: on_scenario_options(ctx, _id, query))
    app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Output(ids.QUERY, "data", allow_duplicate=True),
        Input(ids.SCENARIO_DETAIL, "value"),
        State(ids.URL, "search"),
        State(ids.QUERY, "data"),
        prevent_initial_call=True,
    )(on_scenario_picked)

    job_callback(
        app,
        [
            Output(ids.RUN_PICKER, "options", allow_duplicate=True),
            Output(ids.RUN_PICKER, "value", allow_duplicate=True),
            Output(ids.RUN_STATUS, "children"),
        ],
        ids.RUN_BUTTON,
        ids.CANCEL_BUTTON,
        [Output(ids.RUN_PROGRESS, "value"), Output(ids.RUN_PROGRESS, "max"), Output(ids.RUN_PROGRESS_TEXT, "children")],
        [State(ids.SCENARIO_FILES, "value"), State(ids.REPLICATES, "value"), State(ids.SEED, "value")],
        lambda set_progress, *values: on_run(ctx, set_progress, *values),
    )

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

    # forecast page
    app.callback(
        Output(ids.FORECAST_SCENARIO, "options"),
        Output(ids.FORECAST_RECORDS, "options"),
        Output(ids.FORECAST_AS_OF, "date"),
        Input(ids.FORECAST_SCENARIO, "id"),
    )(lambda _id: on_load_forecast(ctx, _id))
    app.callback(
        Output(ids.FORECAST_AS_OF, "date", allow_duplicate=True),
        Input(ids.FORECAST_RECORDS, "value"),
        State(ids.FORECAST_UPLOAD_STORE, "data"),
        prevent_initial_call=True,
    )(lambda choice, upload: on_records_picked(ctx, choice, upload))
    app.callback(
        Output(ids.FORECAST_RECORDS_STATUS, "children"),
        Input(ids.FORECAST_SCENARIO, "value"),
        Input(ids.FORECAST_RECORDS, "value"),
        Input(ids.FORECAST_AS_OF, "date"),
        State(ids.FORECAST_UPLOAD_STORE, "data"),
    )(lambda name, choice, as_of, upload: on_records_check(ctx, name, choice, as_of, upload))
    app.callback(
        Output(ids.FORECAST_UPLOAD_STORE, "data"),
        Output(ids.FORECAST_RECORDS, "options", allow_duplicate=True),
        Output(ids.FORECAST_RECORDS, "value"),
        Output(ids.FORECAST_RECORDS_STATUS, "children", allow_duplicate=True),
        Input(ids.FORECAST_UPLOAD, "contents"),
        State(ids.FORECAST_UPLOAD, "filename"),
        State(ids.FORECAST_RECORDS, "options"),
        prevent_initial_call=True,
    )(lambda contents, filename, options: on_records_upload(ctx, contents, filename, options))

    # the forecast's run id goes to a store on its page, and from there to the run picker
    job_callback(
        app,
        [Output(ids.FORECAST_MADE, "data"), Output(ids.FORECAST_STATUS, "children")],
        ids.FORECAST_BUTTON,
        ids.FORECAST_CANCEL,
        [Output(ids.FORECAST_PROGRESS, "children")],
        [
            State(ids.FORECAST_SCENARIO, "value"),
            State(ids.FORECAST_RECORDS, "value"),
            State(ids.FORECAST_UPLOAD_STORE, "data"),
            State(ids.FORECAST_AS_OF, "date"),
            State(ids.FORECAST_LEARNING, "value"),
            State(ids.REPLICATES, "value"),
            State(ids.SEED, "value"),
        ],
        lambda set_progress, *values: on_forecast(ctx, set_progress, *values),
    )

    show_stored(app, ctx, ids.FORECAST_MADE)

    # tables and reports
    app.callback(
        Output({"type": ids.CSV_DOWNLOAD, "key": MATCH}, "data"),
        Input({"type": ids.CSV_BUTTON, "key": MATCH}, "n_clicks"),
        State({"type": ids.CSV_BUTTON, "key": MATCH}, "id"),
        State({"type": ids.TABLE, "key": MATCH}, "data"),
        State({"type": ids.TABLE, "key": MATCH}, "columns"),
        prevent_initial_call=True,
    )(
        lambda _clicks, button, rows, columns: on_csv(
            button.get("key") if isinstance(button, dict) else "", rows, columns
        )
    )
    app.callback(
        Output(ids.EXPORT_DOWNLOAD, "data"),
        Output(ids.EXPORT_STATUS, "children"),
        Input(ids.EXPORT_BUTTON, "n_clicks"),
        State(ids.QUERY, "data"),
        State(ids.EXPORT_FORMAT, "value"),
        prevent_initial_call=True,
    )(lambda _clicks, query, fmt: on_export(ctx, query, fmt))
    app.callback(
        Output(ids.EXPORT_DOWNLOAD, "data", allow_duplicate=True),
        Output(ids.EXPORT_STATUS, "children", allow_duplicate=True),
        Input(ids.PACK_BUTTON, "n_clicks"),
        State(ids.RUN_PICKER, "value"),
        State(ids.EXPORT_FORMAT, "value"),
        prevent_initial_call=True,
    )(lambda _clicks, run_ids, fmt: on_steering_pack(ctx, run_ids, fmt))
