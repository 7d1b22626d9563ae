"""The frame around every page: the address and the pages' links, the run picker, the run
controls (scenario files run and stored), the view each page draws from its state, and the
exports (a page's view, the steering pack, a table's CSV).

Each callback is a plain function of a ``Context`` (the two folders and the server's limits) and
the page's values, so a test can call it directly; ``register`` only wires them. Every value the
browser sends is checked before use (a request can send anything, not only what the page's
controls produce), and whatever goes wrong comes back as a message on the page, not as an HTTP
500 and a blank tab.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from types import ModuleType

import dash
import pandas as pd
from dash import ALL, MATCH, Input, Output, State, no_update

from ctdild_sim.reports.pack import Pack, steering_pack, view_pack
from ctdild_sim.reports.writers import FORMATS, ReportError, report_bytes
from ctdild_sim.runs.export import WriteFailed, safe_for_spreadsheets
from ctdild_sim.runs.results import StoreError
from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.views.columns import counted
from dashboard import ids, layout
from dashboard.address import address_runs, page_state, parsed, with_query
from dashboard.context import MAX_SEED, Context, NothingPicked, messages, whole_number
from dashboard.data import DashboardError, distinct_picks, load_runs, load_scenario_file, scenario_files, stored_runs
from dashboard.jobs import prepare_job_process
from dashboard.pages import BY_KEY, PATHS
from dashboard.running import job_callback, run_and_store, run_options

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


# -- the address, the links and the view ------------------------------------------------------


def on_load(ctx: Context, search: object):
    """Fill the pickers from the store and the address: the runs it names that are stored are
    picked; any it names that are not are reported (not silently dropped)."""
    files = list(scenario_files(ctx.scenarios_dir))
    options = run_options(ctx.results_dir)
    known = {o["value"] for o in options}
    picked = [r for r in address_runs(search) if r in known]
    return files, options, picked, unknown_runs_status(known, search)


def on_address(ctx: Context, search: object):
    """The address changed on the same page (a control or the run picker wrote it): report the
    runs it names that are not stored, or nothing once it names none."""
    return unknown_runs_status({o["value"] for o in run_options(ctx.results_dir)}, search)


def unknown_runs_status(known: set[str], search: object):
    """The runs the address names that are not in the store, as a message (None when there are none)."""
    unknown = [r for r in address_runs(search) if r not in known]
    if not unknown:
        return None
    return layout.error(
        "The address names runs that are not in the results store: "
        + ", ".join(r[:80] for r in unknown[:5])
        + (" ..." if len(unknown) > 5 else "")
    )


def on_pick(ctx: Context, run_ids: object, search: object, page_query: object):
    """The picked runs into the address (so the view can be bookmarked and sent); nothing when the
    address already says so (the picker was filled from it, leaving out the ids it names that are
    not stored: those stay in the address, reported, until the user picks other runs)."""
    if run_ids is not None and (not isinstance(run_ids, list) or not all(isinstance(r, str) for r in run_ids)):
        return no_update
    query = parsed(search)
    known = {r.run_id for r in stored_runs(ctx.results_dir)}
    if (run_ids or []) == [r for r in address_runs(search) if r in known]:
        return no_update, no_update
    return with_query(query, runs=",".join(run_ids or []) or None), page_state(page_query, runs=list(run_ids or []))


def on_nav(search: object, pathname: object, links: object) -> tuple[list, list]:
    """Each page's link carries the address's query, so moving between pages keeps the runs; the
    link of the page shown is marked as the current one."""
    query = parsed(search)
    runs = query.get("runs", [])
    suffix = f"?runs={runs[-1]}" if runs else ""
    keys = [link.get("page") if isinstance(link, dict) else None for link in links] if isinstance(links, list) else []
    here = pathname if isinstance(pathname, str) else "/"
    classes = [f"nav-link nav-{k}" + (" nav-current" if PATHS.get(k) == here else "") for k in keys]
    return [f"{PATHS.get(k, '/')}{suffix}" for k in keys], classes


def _page(query: object) -> ModuleType:
    """The page module the page's state names."""
    if not isinstance(query, dict):
        raise DashboardError("This page's state could not be read; reload the page.")
    page = BY_KEY.get(query.get("page"))  # type: ignore[arg-type]
    if page is None:
        raise DashboardError(f"there is no page {str(query.get('page'))[:40]!r}")
    return page


def on_view(ctx: Context, query: object) -> list:
    """Draw the page's view from its state in the address."""
    try:
        return layout.render(_page(query).view(ctx, query))
    except NothingPicked as exc:
        return layout.hint(str(exc))
    except DashboardError as exc:
        return layout.error(messages(ctx, exc))
    except Exception as exc:  # a run whose tables are not what a run holds: say so on its page
        return layout.error(
            f"These runs cannot be shown ({type(exc).__name__}: {messages(ctx, exc)}). "
            "A stored run may be damaged; run its scenario again."
        )


# -- the run controls ------------------------------------------------------------------------


def on_run(ctx: Context, set_progress: Callable, files: object, replicates: object, seed: object):
    """Run the picked scenario files on one seed (so they compare on common random numbers),
    store every run, and show them; at most ``max_replicates`` in all, one job at a time."""
    prepare_job_process(ctx.server_pid)
    try:
        picked = names(files, "scenario files to run")
        n = job_replicates(ctx, len(picked), replicates)
        seed = whole_number(seed, "The seed", 0, MAX_SEED)
        loaded = [(name, *load_scenario_file(ctx.scenarios_dir, name)) for name in picked]
        with ctx.jobs.hold(f"{counted(len(loaded), 'scenario run')} of {n:,} replicates"):
            run_ids = run_and_store(ctx, set_progress, loaded, n, seed)
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, no_update, messages(ctx, exc)
    status = f"Stored {counted(len(run_ids), 'run')} of {n} replicates, seed {seed}: {', '.join(run_ids)}"
    return run_options(ctx.results_dir), run_ids, status


# -- exports ---------------------------------------------------------------------------------


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
        page = _page(query)
        return _download(view_pack(page.view(ctx, query)), fmt, f"ctdild-sim-{page.KEY}"), ""
    except (DashboardError, ReportError, StoreError) as exc:
        return no_update, messages(ctx, exc)


def on_steering_pack(ctx: Context, run_ids: object, fmt: object = "pdf"):
    """The steering pack of the picked runs (as ``ctdild-sim report``)."""
    try:
        runs = load_runs(ctx.results_dir, run_ids)
        if not runs:
            raise DashboardError("Pick the runs the steering pack is about.")
        return _download(steering_pack(runs), fmt, f"steering-pack-{slug(runs[0].run_id)}"), ""
    except (DashboardError, ReportError, StoreError) as exc:
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


def register(app: dash.Dash, ctx: Context) -> None:
    """Wire the frame's callbacks to its components (``ids``)."""
    # the pickers are filled when a page is drawn (opened, reached by a link, or drawn again by the
    # browser's Back), not whenever the address changes: a page's controls write the address and
    # may follow the runs picked, and a picker filled from every address would close that loop
    # (Dash then drops the callbacks caught in it)
    app.callback(
        Output(ids.SCENARIO_FILES, "options"),
        Output(ids.RUN_PICKER, "options"),
        Output(ids.RUN_PICKER, "value"),
        Output(ids.URL_STATUS, "children"),
        Input(ids.VIEW, "id"),
        State(ids.URL, "search"),
    )(lambda _view, search: on_load(ctx, search))
    app.callback(
        Output(ids.URL_STATUS, "children", allow_duplicate=True),
        Input(ids.URL, "search"),
        prevent_initial_call=True,
    )(lambda search: on_address(ctx, search))

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
