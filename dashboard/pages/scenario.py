"""Scenario: a scenario file's parameters grouped as in the file, with each one's description,
range and the file's comment (its source, WEAK flags); upload or edit one, check it, run it, and
save it under a new name only when asked."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.data import MAX_UPLOAD_BYTES
from dashboard.layout import drop_zone
from dashboard.pages import ROW, page_layout


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
    return page_layout("scenario", controls, query)
