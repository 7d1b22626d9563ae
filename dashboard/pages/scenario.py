"""Scenario: a scenario file's parameters grouped as in the file, with each one's description,
range and the file's comment (its source, WEAK flags: ``views.scenario.scenario_view``); upload or
edit one, check it as the CLI checks a file, run it like the picked files, and save it into the
scenarios folder only when asked, under a new name (never over a file).

Nothing uploaded or edited is written anywhere until "Save" is pressed; a run of an edited text
stores the text in the run's manifest like any run.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path

import dash
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from ctdild_sim.runs.export import WriteFailed
from ctdild_sim.runs.results import StoreError
from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.views.scenario import scenario_view
from ctdild_sim.views.view import View
from dashboard import ids
from dashboard.address import follow, keep_in_address
from dashboard.context import MAX_SEED, Context, NothingPicked, messages, whole_number
from dashboard.data import (
    MAX_UPLOAD_BYTES,
    DashboardError,
    file_comments_in,
    load_scenario_file,
    save_scenario_text,
    scenario_files,
    validate_text,
)
from dashboard.jobs import prepare_job_process
from dashboard.layout import ROW, drop_zone, error, page_layout, render
from dashboard.running import job_callback, run_and_store, show_stored

KEY, PATH, NAME = "scenario", "/scenario", "Scenario"


def layout(**query) -> html.Div:
    controls = [
        html.Div(
            [html.Label("Scenario file"), dcc.Dropdown(id=ids.SCENARIO_DETAIL, style={"minWidth": "420px"})], style=ROW
        ),
        drop_zone(
            ids.UPLOAD,
            "a scenario YAML file",
            f" to check it and edit it below (up to {MAX_UPLOAD_BYTES // 1024} kB; kept in this page only)",
            MAX_UPLOAD_BYTES,
        ),
        html.Div(id=ids.UPLOAD_RESULT),
        html.Details(
            [
                html.Summary("Edit and run (the picked or uploaded file's text)"),
                dcc.Textarea(
                    id=ids.SCENARIO_TEXT,
                    style={"width": "100%", "height": "320px", "fontFamily": "monospace", "fontSize": "12px"},
                    spellCheck=False,
                ),
                dcc.Store(id=ids.SCENARIO_TEXT_NAME),
                dcc.Store(id=ids.SCENARIO_MADE),
                html.Div(
                    [
                        html.Button("Check", id=ids.SCENARIO_CHECK),
                        html.Button("Run this scenario", id=ids.SCENARIO_RUN),
                        dcc.Checklist(
                            id=ids.SCENARIO_WITH_BASE,
                            value=["base"],
                            options=[{"label": " with its base (the file it came from, same seed)", "value": "base"}],
                        ),
                        html.Button("Cancel", id=ids.SCENARIO_RUN_CANCEL, disabled=True),
                        html.Span(id=ids.SCENARIO_RUN_PROGRESS),
                        html.Label("Save as"),
                        dcc.Input(
                            id=ids.SCENARIO_SAVE_NAME,
                            placeholder="new-name.yaml",
                            debounce=True,
                            style={"width": "220px"},
                        ),
                        html.Button("Save into the scenarios folder", id=ids.SCENARIO_SAVE),
                    ],
                    style=ROW,
                ),
                html.Div(id=ids.SCENARIO_STATUS, style={"whiteSpace": "pre-wrap"}),
            ],
            id="scenario-editor",
            open=True,
        ),
        html.Div(id=ids.SCENARIO_VIEW),
    ]
    return page_layout(KEY, controls, query)


def edited_name(name: object) -> str:
    """What the editor's text is called (``nct06574581 (edited).yaml``): not the file it came from,
    so its ``extends: nct06574581.yaml`` is not a cycle, and a run of it is told apart."""
    path = Path(name if isinstance(name, str) and name else "scenario.yaml")
    return f"{path.stem} (edited){path.suffix or '.yaml'}"


def view(ctx: Context, query: dict) -> View:
    """The picked file's parameters, section by section, with the file's comments."""
    name = query.get("file")
    if not name:
        raise NothingPicked("Pick a scenario file to see its parameters, or upload one.")
    scenario, text = load_scenario_file(ctx.scenarios_dir, name)
    return scenario_view(scenario, str(name), file_comments_in(ctx.scenarios_dir, text))


def on_scenario_options(ctx: Context, _id: object, query: object):
    """The page's file picker, with the file the address names."""
    files = list(scenario_files(ctx.scenarios_dir))
    named = query.get("file") if isinstance(query, dict) else None
    return files, named if named in files else None


def on_scenario_picked(name: object, search: object, page_query: object):
    """The picked scenario file into the address and the view."""
    return follow("file", name if isinstance(name, str) and name else None, search, page_query)


def on_file_to_editor(ctx: Context, name: object):
    """The picked file's text into the editor."""
    if not isinstance(name, str) or not name:
        raise PreventUpdate
    try:
        _, text = load_scenario_file(ctx.scenarios_dir, name)
    except DashboardError:
        raise PreventUpdate from None  # the view says what is wrong with it
    return text, name


def on_upload(ctx: Context, contents: object, filename: object):
    """Check an uploaded file with the CLI's messages and put its text in the editor; nothing is
    written to disk. Returns (message, editor text, its name)."""
    if not contents:
        return error("The upload was empty or larger than the limit."), no_update, no_update
    shown = Path(filename).name if isinstance(filename, str) and filename else "upload.yaml"
    if not isinstance(contents, str) or "," not in contents:
        return error(f"{shown}: the upload could not be decoded"), no_update, no_update
    try:
        payload = base64.b64decode(contents.split(",", 1)[1], validate=False)
        text = payload.decode("utf-8")
    except (binascii.Error, ValueError):
        return error(f"{shown}: the upload could not be decoded"), no_update, no_update
    try:
        scenario = validate_text(shown, text, ctx.scenarios_dir)
    except DashboardError as exc:
        return error(str(exc)), text if len(payload) <= 256 * 1024 else no_update, shown
    view = scenario_view(scenario, shown, file_comments_in(ctx.scenarios_dir, text))
    return (
        [html.P(f"{shown}: valid; its text is in the editor below.", className="upload-ok"), *render(view)],
        text,
        shown,
    )


def on_check(ctx: Context, text: object, name: object):
    """Check the editor's text and show its parameters (or the CLI's message)."""
    shown = edited_name(name)
    try:
        scenario = validate_text(shown, text, ctx.scenarios_dir)
    except DashboardError as exc:
        return error(str(exc))
    view = scenario_view(scenario, shown, file_comments_in(ctx.scenarios_dir, str(text)))
    return [html.P(f"{shown}: valid.", className="upload-ok"), *render(view)]


def on_run_text(
    ctx: Context,
    set_progress: Callable,
    text: object,
    name: object,
    replicates: object,
    seed: object,
    with_base: object = None,
):
    """Run the editor's text as the Run button runs a file (checked first; stored with its text),
    and with ``with_base`` the file it came from too, on the same seed: a what-if and its base,
    ready for Compare. Returns (the run ids, a message)."""
    prepare_job_process(ctx.server_pid)
    try:
        n = whole_number(replicates, "Replicates", 1, ctx.max_replicates)
        seed = whole_number(seed, "The seed", 0, MAX_SEED)
        label = edited_name(name)
        runs = [(label, validate_text(label, text, ctx.scenarios_dir), str(text))]
        if isinstance(with_base, list) and "base" in with_base:
            if not isinstance(name, str) or not name or name not in scenario_files(ctx.scenarios_dir):
                raise DashboardError(
                    "The edited text did not come from a scenario file of the folder: there is no "
                    "base to run with it (pick a file, or untick 'with its base')."
                )
            runs.insert(0, (name, *load_scenario_file(ctx.scenarios_dir, name)))
        with ctx.jobs.hold(f"{len(runs)} run(s) of {n:,} replicates of {label}"):
            run_ids = run_and_store(ctx, set_progress_text(set_progress), runs, n, seed)
    except (DashboardError, BudgetExceeded, StoreError, WriteFailed) as exc:
        return no_update, error(messages(ctx, exc))
    stored = " and ".join(f"{run_id} ({run_name})" for run_id, (run_name, _, _) in zip(run_ids, runs, strict=True))
    compare = " Open Compare to see the what-if against its base." if len(run_ids) > 1 else ""
    return run_ids, f"Stored {stored}: {n} replicates, seed {seed}; picked above.{compare}"


def set_progress_text(set_progress: Callable) -> Callable:
    """The run job's progress (done, total, text) as this page's one progress text."""
    return lambda values: set_progress((values[-1],))


def on_save(ctx: Context, text: object, new_name: object):
    """Save the editor's text into the scenarios folder under a new name, checked first."""
    try:
        path = save_scenario_text(ctx.scenarios_dir, new_name, text)
    except DashboardError as exc:
        return error(messages(ctx, exc))
    return html.P(
        f"Saved as {ctx.scenarios_dir.name}/{path.name}; it is listed with the scenario files.", className="upload-ok"
    )


def register(app: dash.Dash, ctx: Context) -> None:
    app.callback(
        Output(ids.SCENARIO_DETAIL, "options"),
        Output(ids.SCENARIO_DETAIL, "value"),
        Input(ids.SCENARIO_DETAIL, "id"),
        State(ids.QUERY, "data"),
    )(lambda _id, query: on_scenario_options(ctx, _id, query))
    keep_in_address(app, ids.SCENARIO_DETAIL, on_scenario_picked)
    app.callback(
        Output(ids.UPLOAD_RESULT, "children"),
        Output(ids.SCENARIO_TEXT, "value", allow_duplicate=True),
        Output(ids.SCENARIO_TEXT_NAME, "data", allow_duplicate=True),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        prevent_initial_call=True,
    )(lambda contents, filename: on_upload(ctx, contents, filename))
    app.callback(
        Output(ids.SCENARIO_TEXT, "value"),
        Output(ids.SCENARIO_TEXT_NAME, "data"),
        Input(ids.SCENARIO_DETAIL, "value"),
    )(lambda name: on_file_to_editor(ctx, name))
    app.callback(
        Output(ids.SCENARIO_VIEW, "children"),
        Input(ids.SCENARIO_CHECK, "n_clicks"),
        State(ids.SCENARIO_TEXT, "value"),
        State(ids.SCENARIO_TEXT_NAME, "data"),
        prevent_initial_call=True,
    )(lambda _clicks, text, name: on_check(ctx, text, name))
    app.callback(
        Output(ids.SCENARIO_STATUS, "children", allow_duplicate=True),
        Input(ids.SCENARIO_SAVE, "n_clicks"),
        State(ids.SCENARIO_TEXT, "value"),
        State(ids.SCENARIO_SAVE_NAME, "value"),
        prevent_initial_call=True,
    )(lambda _clicks, text, new_name: on_save(ctx, text, new_name))

    job_callback(
        app,
        [Output(ids.SCENARIO_MADE, "data"), Output(ids.SCENARIO_STATUS, "children")],
        ids.SCENARIO_RUN,
        ids.SCENARIO_RUN_CANCEL,
        [Output(ids.SCENARIO_RUN_PROGRESS, "children")],
        [
            State(ids.SCENARIO_TEXT, "value"),
            State(ids.SCENARIO_TEXT_NAME, "data"),
            State(ids.REPLICATES, "value"),
            State(ids.SEED, "value"),
            State(ids.SCENARIO_WITH_BASE, "value"),
        ],
        lambda set_progress, *values: on_run_text(ctx, set_progress, *values),
    )

    show_stored(app, ctx, ids.SCENARIO_MADE)
