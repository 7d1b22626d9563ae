"""Forecast: a trial under way, from its records (a folder or workbook of the actuals folder, or an
uploaded zip or workbook), learning its assumptions from them; and stored forecasts (the address's
runs), drawn by ``views.forecast.forecast_view``.

The controls never contradict the view: they follow the address (``?scenario=``, ``?records=``,
``?as_of=``, written back as they change), and when the address picks one stored forecast they
show what it was made from (``on_controls``).

Reading a visitor's records costs what the visitor makes it cost: picking, uploading and checking
them run in a bounded child process (``ctx.checks``, see ``bounded``), never in the server's
threads; a forecast reads them inside its job."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import dash
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from ctdild_sim.actuals.archive import MAX_ZIP_BYTES
from ctdild_sim.actuals.reader import ActualsError, RecordBook, RecordFiles, as_of_hint
from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.sources import source_name
from ctdild_sim.runs.export import WriteFailed
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.runs.results import StoreError, save_run
from ctdild_sim.scenario.loading import ScenarioError, read_text
from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.studies.forecast import as_of_problem, forecast
from ctdild_sim.views.columns import counted
from ctdild_sim.views.forecast import forecast_view
from ctdild_sim.views.view import View
from dashboard import ids
from dashboard.address import follow, follow_all, keep_in_address
from dashboard.context import MAX_SEED, Context, messages, whole_number
from dashboard.data import (
    MAX_PICKED,
    UPLOADED,
    DashboardError,
    actuals_folders,
    load_run,
    load_runs,
    load_scenario_file,
    records_source,
    records_upload,
    scenario_files,
    scrub,
)
from dashboard.jobs import prepare_job_process
from dashboard.layout import ROW, drop_zone, error, hint, page_layout
from dashboard.running import job_callback, show_stored

KEY, PATH, NAME = "forecast", "/forecast", "Forecast"


MAX_TARGETS = 10
"""Most target dates a page asks the chance of."""


def layout(**query) -> html.Div:
    targets = query.get("targets")
    controls = [
        html.Div(
            [
                html.Label("Scenario file"),
                dcc.Dropdown(id=ids.FORECAST_SCENARIO, style={"minWidth": "320px"}),
                html.Label("Records"),
                dcc.Dropdown(
                    id=ids.FORECAST_RECORDS,
                    placeholder="a records folder or workbook, or upload one",
                    style={"minWidth": "320px"},
                ),
                html.Label("As of"),
                dcc.DatePickerSingle(id=ids.FORECAST_AS_OF, display_format="YYYY-MM-DD"),
                dcc.Checklist(
                    id=ids.FORECAST_LEARNING,
                    value=["learn"],
                    options=[
                        {"label": " learn the assumptions from the records", "value": "learn"},
                        {"label": " the records as they stood on the as-of date (later rows left out)", "value": "cut"},
                    ],
                ),
                html.Button("Forecast", id=ids.FORECAST_BUTTON),
                html.Button("Cancel", id=ids.FORECAST_CANCEL, disabled=True),
                html.Span(id=ids.FORECAST_PROGRESS),
            ],
            style=ROW,
        ),
        html.Div(id=ids.FORECAST_SOURCE),
        html.Div(
            [
                html.Label("Chance of finishing by"),
                dcc.Input(
                    id=ids.FORECAST_TARGETS,
                    type="text",
                    value=targets if isinstance(targets, str) else "",
                    placeholder="target dates: YYYY-MM-DD, YYYY-MM-DD",
                    debounce=True,
                    style={"width": "320px"},
                ),
                html.Span("the last patient's last visit, for the forecasts shown", className="hint"),
            ],
            style=ROW,
        ),
        drop_zone(
            ids.FORECAST_UPLOAD,
            "a zip of a records folder, or a records workbook (.xlsx),",
            f" (up to {MAX_ZIP_BYTES // (1024 * 1024)} MB; checked, kept in this page only)",
            MAX_ZIP_BYTES,
        ),
        dcc.Store(id=ids.FORECAST_UPLOAD_STORE),
        dcc.Store(id=ids.FORECAST_MADE),
        dcc.Store(id=ids.FORECAST_SET),
        html.Div(id=ids.FORECAST_RECORDS_STATUS, style={"whiteSpace": "pre-wrap", "margin": "4px 0"}),
        html.Div(id=ids.FORECAST_STATUS, style={"whiteSpace": "pre-wrap", "color": "#555"}),
    ]
    return page_layout(KEY, controls, query)


def view(ctx: Context, query: dict) -> View:
    """The stored forecasts the address names (with none, how to make one), with the chance of
    the address's target dates."""
    return forecast_view(load_runs(ctx.results_dir, query.get("runs")), address_dates(query.get("targets")))


def address_dates(text: object) -> list[dt.date]:
    """The target dates written in the address (``2028-06-30,2028-12-31``)."""
    if not isinstance(text, str) or not text.strip():
        return []
    written = [t.strip() for t in text.split(",") if t.strip()]
    if len(written) > MAX_TARGETS:
        raise DashboardError(f"Target dates: at most {MAX_TARGETS} (got {len(written)})")
    dates = []
    for t in written:
        try:
            dates.append(dt.date.fromisoformat(t))
        except ValueError:
            raise DashboardError(f"Target dates: {t[:40]!r} is not a date (YYYY-MM-DD)") from None
    return dates


def on_targets(value: object, search: object, page_query: object):
    """The target dates typed into the address and the view (spaces dropped, so the address reads)."""
    text = ",".join(t.strip() for t in value.split(",") if t.strip())[:400] if isinstance(value, str) else ""
    return follow("targets", text or None, search, page_query)


def _actuals_dir(ctx: Context) -> Path:
    return ctx.actuals_dir if ctx.actuals_dir is not None else ctx.scenarios_dir / "actuals"


DAY = re.compile(r"(\d{4}-\d{2}-\d{2})(T[0-9:.+Z-]{0,30})?")


def day_text(value: object) -> str | None:
    """A date as the address and the date picker write it (``YYYY-MM-DD``, the picker perhaps with a
    time), or None for anything else: an address's date is not trusted."""
    written = DAY.fullmatch(value) if isinstance(value, str) else None
    if written is None:
        return None
    try:
        return dt.date.fromisoformat(written.group(1)).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class Picks:
    """What the controls show: a scenario file and records by the names their pickers list, an
    as-of date; and, per control, a note saying what a stored forecast was made from where the
    picker cannot show it."""

    scenario: str | None = None
    records: str | None = None
    as_of: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


def shown_forecast(ctx: Context, runs: object) -> RunRecord | None:
    """The one stored forecast among the runs the address names (the page draws forecasts only),
    or None: none, several, or runs that cannot be read (the view says why)."""
    if not isinstance(runs, list):
        return None
    found = []
    for run_id in list(dict.fromkeys(r for r in runs if isinstance(r, str)))[:MAX_PICKED]:
        try:
            run = load_run(ctx.results_dir, run_id)
        except DashboardError:
            continue
        if run.forecast:
            found.append(run)
    return found[0] if len(found) == 1 else None


def forecast_picks(ctx: Context, run: RunRecord, uploads: list[str]) -> Picks:
    """What a stored forecast was made from, as the pickers name it: its scenario file and records
    where the folders (or the uploads the page holds) list them by that name, and its as-of date."""
    manifest, notes = run.manifest, {}
    written = manifest.get("scenario_file")
    name = PurePath(written).name if isinstance(written, str) else ""
    files = scenario_files(ctx.scenarios_dir)
    scenario = name if name in files else None
    if scenario is None:
        notes["scenario"] = (
            f"This forecast was made from the scenario file {name or '(not recorded)'}, which is not in "
            f"{ctx.scenarios_dir.name}/."
        )
    elif _sha256(files[name]) not in (None, manifest.get("scenario_sha256")):
        notes["scenario"] = f"{name} has changed since this forecast was made from it."
    source = manifest.get("actuals_folder")
    records = None
    if isinstance(source, str) and source.startswith(UPLOADED):
        records = source if source in uploads else None
        if records is None:
            notes["records"] = (
                f"This forecast was made from records uploaded as {source.removeprefix(UPLOADED)[:120]}; "
                "upload them again to forecast from them."
            )
    else:
        folder = source_name(source) if isinstance(source, str) else ""
        records = folder if folder in actuals_folders(_actuals_dir(ctx)) else None
        if records is None:
            notes["records"] = (
                f"This forecast was made from the records {folder or '(not recorded)'}, which are not in "
                f"{_actuals_dir(ctx).name}/."
            )
    return Picks(scenario, records, day_text(manifest.get("as_of")), notes)


def _sha256(path: Path) -> str | None:
    """A scenario file's SHA-256 as a manifest keeps it (None if it cannot be read)."""
    try:
        return hashlib.sha256(read_text(path).encode()).hexdigest()
    except ScenarioError:
        return None


def address_picks(ctx: Context, query: dict) -> Picks:
    """The scenario file, records and as-of date the address names, where they are a listed file,
    listed records and a date; anything else is ignored (an address can say anything)."""
    scenario, records = query.get("scenario"), query.get("records")
    return Picks(
        scenario if isinstance(scenario, str) and scenario in scenario_files(ctx.scenarios_dir) else None,
        records if isinstance(records, str) and records in actuals_folders(_actuals_dir(ctx)) else None,
        day_text(query.get("as_of")),
    )


def on_controls(ctx: Context, picked: object, query: object, before: object = None, records_options: object = None):
    """The controls from the page's state, so they never contradict the view. When the page opens:
    what its address says, else what the one stored forecast the address shows was made from, else
    today as the as-of date. When the runs ``picked`` change the forecast shown: the new one's
    values, if there is one (else the controls stay the user's). Either way an earlier job's
    progress and notes are cleared (they describe nothing shown). Nothing while the same forecast is
    shown: the user's later choices stand.

    Returns the two pickers' options, the scenario file, the records, the as-of date, the notes,
    the progress text, and what was set (``before`` next time)."""
    state = query if isinstance(query, dict) else {}
    previous = before if isinstance(before, dict) else None
    named = state.get("runs") if previous is None else picked
    run = shown_forecast(ctx, named)
    shown_id = run.run_id if run is not None else None
    if previous is not None and previous.get("forecast") == shown_id:
        raise PreventUpdate
    offered = records_options if isinstance(records_options, list) else []
    held = [o for o in offered if isinstance(o, str) and o.startswith(UPLOADED)]
    options = list(scenario_files(ctx.scenarios_dir)), [*actuals_folders(_actuals_dir(ctx)), *held]
    shown: tuple[object, object, object]  # the scenario file, records and as-of date, or no_update
    made = forecast_picks(ctx, run, held) if run is not None else None
    if previous is None:  # the page opens
        given, made = address_picks(ctx, state), made or Picks()
        picks = Picks(
            given.scenario or made.scenario,
            given.records or made.records,
            given.as_of or made.as_of,
            {k: note for k, note in made.notes.items() if getattr(given, k) is None},
        )
        shown = (picks.scenario, picks.records, picks.as_of or dt.date.today().isoformat())
    elif made is not None:
        picks = made
        shown = (made.scenario, made.records, made.as_of or no_update)
    else:  # no forecast shown any more: the controls are the user's
        picks = Picks(records=previous.get("records"), as_of=previous.get("as_of"))
        shown = (no_update, no_update, no_update)
    notes = [hint(note) for note in picks.notes.values()] or None
    done = {"forecast": shown_id, "records": picks.records, "as_of": picks.as_of}
    return (*options, *shown, notes, "", done)


def on_controls_changed(scenario: object, records: object, as_of: object, search: object, page_query: object):
    """The scenario file, records and as-of date into the address, in one write (uploaded records
    are held by the page alone, so the address says nothing of them). The view is not drawn from
    them, so the page's state is left as it is: a new state would draw the view again."""
    written, _ = follow_all(
        {
            "scenario": scenario if isinstance(scenario, str) and scenario else None,
            "records": records if isinstance(records, str) and records and not records.startswith(UPLOADED) else None,
            "as_of": day_text(as_of),
        },
        search,
        page_query,
    )
    return written, no_update


def on_forecast_started(_clicks: object) -> str:
    """A new forecast clears the last one's progress (its "200 / 200" is not this one's)."""
    return ""


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
    problem = as_of_problem(scenario, day)
    if problem:
        raise DashboardError(f"As of: {problem}")
    return scenario, text, records_source(actuals_dir, choice, upload), day


def _shown(source: RecordFiles | RecordBook | Path | None, exc: ActualsError) -> str:
    """The records' problems with their folder named as the user knows it."""
    if source is None:
        return str(exc)
    return scrub(str(exc), source if isinstance(source, Path) else Path(str(source.origin)))


def records_as_of_hint(actuals_dir: Path, choice: object, upload: object) -> str | None:
    """The as-of date the records suggest (``as_of_hint``), as the date picker takes it."""
    try:
        latest = as_of_hint(records_source(actuals_dir, choice, upload))
    except DashboardError:
        return None
    return latest.isoformat() if latest is not None else None


def records_summary(
    scenarios_dir: Path,
    actuals_dir: Path,
    scenario_name: object,
    choice: object,
    as_of: object,
    upload: object,
    cut: bool = False,
) -> list[str]:
    """The picked records checked against the scenario as the CLI checks them (``cut``: as they
    stood on the as-of date): what they hold."""
    source = None
    try:
        scenario, _, source, day = _forecast_inputs(scenarios_dir, actuals_dir, scenario_name, choice, upload, as_of)
        records = read_records(source, scenario, day, cut)
    except ActualsError as exc:
        raise DashboardError(_shown(source, exc)) from None
    later = records.later_rows
    counts = ", ".join(f"{counted(len(lines), 'row')} in {name}" for name, lines in records.actuals.tables.items())
    lines = [f"The records are valid as of {day}: {counts}. The simulation takes over on day {records.restart_day:g}."]
    if later:
        lines.append(
            f"{counted(later, 'row')} of the records came later than {day} and are not read (or read as they "
            f"stood that day): the forecast is the one that could have been made then."
        )
    return lines + [f"Warning: {w}" for w in records.warnings]


def uploaded_records_name(filename: str, contents: str) -> str:
    """An uploaded zip or workbook unpacked and read as far as it can be without a scenario: the
    name it goes by."""
    return str(records_upload(filename, contents).origin)


def on_records_picked(ctx: Context, choice: object, upload: object, before: object = None):
    """A first guess at the as-of date: the date in the records' name, else their last day; but
    records set from the address or a stored forecast come with the date set with them."""
    if isinstance(before, dict) and choice and choice == before.get("records") and day_text(before.get("as_of")):
        return before["as_of"]
    if not choice:
        return no_update
    try:
        latest = ctx.checks.run(records_as_of_hint, _actuals_dir(ctx), choice, upload)
    except DashboardError:
        return no_update
    return latest if latest is not None else no_update


def on_records_check(
    ctx: Context, scenario_name: object, choice: object, as_of: object, upload: object, options: object = None
):
    """Check the picked records against the scenario as the CLI would, and say what they hold."""
    if not scenario_name or not choice:
        return "Pick the scenario file and the trial's records (a folder or workbook, or upload a zip or a workbook)."
    cut = isinstance(options, list) and "cut" in options
    try:
        lines = ctx.checks.run(
            records_summary, ctx.scenarios_dir, _actuals_dir(ctx), scenario_name, choice, as_of, upload, cut
        )
    except DashboardError as exc:
        return error(messages(ctx, exc))
    return html.Div([html.P(line, className="records-ok") for line in lines])


def on_records_upload(ctx: Context, contents: object, filename: object, options: object):
    """Check an uploaded zip of records (sizes, layout, CSV files) and keep it in the page; it is
    checked against the scenario when one is picked. Nothing is written on the server."""
    current = (
        [o for o in options if isinstance(o, str) and not o.startswith(UPLOADED)] if isinstance(options, list) else []
    )
    if not contents or not isinstance(contents, str):
        return no_update, no_update, no_update, error("The upload was empty or larger than the limit.")
    name = Path(filename).name if isinstance(filename, str) and filename else "records.zip"
    try:
        origin = ctx.checks.run(uploaded_records_name, name, contents)
    except DashboardError as exc:  # the page keeps what it had: the message is all that changes
        return no_update, no_update, no_update, error(str(exc))
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
        cut = isinstance(learning, list) and "cut" in learning
        with ctx.jobs.hold(f"a forecast of {n:,} replicates"):
            records = read_records(source, scenario, day, cut)  # the job's own process, one job at a time
            started = dt.datetime.now(dt.UTC)
            done: dict[str, int] = {}

            def progress(step: str, total: int | None, k: int) -> None:
                done[step] = done.get(step, 0) + k
                set_progress((f"{step}: {done[step]:,}" + (f" / {total:,}" if total else "") + " replicates",))

            made = forecast(
                scenario, records, day, n, seed, learning=learn, records_cut=cut, progress=progress, workers=ctx.workers
            )
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
        return no_update, error(_shown(source, exc))
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, error(messages(ctx, exc))
    return path.name, f"Stored forecast {path.name} ({n} replicates, seed {seed}, as of {day})."


def register(app: dash.Dash, ctx: Context) -> None:
    keep_in_address(app, ids.FORECAST_TARGETS, on_targets)
    # the controls from the page's state: when the page opens, and when the forecast shown changes
    # (the run picker, not the address: the controls write the address, which would close a loop)
    app.callback(
        Output(ids.FORECAST_SCENARIO, "options"),
        Output(ids.FORECAST_RECORDS, "options"),
        Output(ids.FORECAST_SCENARIO, "value"),
        Output(ids.FORECAST_RECORDS, "value"),
        Output(ids.FORECAST_AS_OF, "date"),
        Output(ids.FORECAST_SOURCE, "children"),
        Output(ids.FORECAST_PROGRESS, "children"),
        Output(ids.FORECAST_SET, "data"),
        Input(ids.FORECAST_SCENARIO, "id"),
        Input(ids.RUN_PICKER, "value"),
        State(ids.QUERY, "data"),
        State(ids.FORECAST_SET, "data"),
        State(ids.FORECAST_RECORDS, "options"),
    )(lambda _id, picked, query, before, options: on_controls(ctx, picked, query, before, options))
    keep_in_address(
        app,
        [(ids.FORECAST_SCENARIO, "value"), (ids.FORECAST_RECORDS, "value"), (ids.FORECAST_AS_OF, "date")],
        on_controls_changed,
    )
    app.callback(
        Output(ids.FORECAST_AS_OF, "date", allow_duplicate=True),
        Input(ids.FORECAST_RECORDS, "value"),
        State(ids.FORECAST_UPLOAD_STORE, "data"),
        State(ids.FORECAST_SET, "data"),
        prevent_initial_call=True,
    )(lambda choice, upload, before: on_records_picked(ctx, choice, upload, before))
    app.callback(
        Output(ids.FORECAST_RECORDS_STATUS, "children"),
        Input(ids.FORECAST_SCENARIO, "value"),
        Input(ids.FORECAST_RECORDS, "value"),
        Input(ids.FORECAST_AS_OF, "date"),
        State(ids.FORECAST_UPLOAD_STORE, "data"),
        Input(ids.FORECAST_LEARNING, "value"),
    )(lambda name, choice, as_of, upload, options: on_records_check(ctx, name, choice, as_of, upload, options))
    app.callback(
        Output(ids.FORECAST_UPLOAD_STORE, "data"),
        Output(ids.FORECAST_RECORDS, "options", allow_duplicate=True),
        Output(ids.FORECAST_RECORDS, "value", allow_duplicate=True),
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
    app.callback(
        Output(ids.FORECAST_PROGRESS, "children", allow_duplicate=True),
        Input(ids.FORECAST_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(on_forecast_started)

    show_stored(app, ctx, ids.FORECAST_MADE)
