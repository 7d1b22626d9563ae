"""The page: run controls, the run picker, one tab per question, and how a View is drawn.

Component ids are the contract with ``callbacks`` and the browser tests.
"""

from __future__ import annotations

import pandas as pd
from dash import dash_table, dcc, html

from ctdild_sim.actuals.archive import MAX_ZIP_BYTES
from ctdild_sim.reports.columns import present
from dashboard.data import MAX_UPLOAD_BYTES
from dashboard.views import View

DEFAULT_REPLICATES = 500
DEFAULT_SEED = 20240820

TABS = [
    ("timeline", "Timeline"),
    ("forecast", "Forecast"),
    ("product", "Cell product"),
    ("cohorts", "Cohorts"),
    ("screening", "Screening"),
    ("compare", "Compare"),
    ("scenario", "Scenario"),
]

_ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap", "marginBottom": "8px"}


def run_controls(max_replicates: int) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("Scenario files"),
                    dcc.Dropdown(
                        id="scenario-files",
                        multi=True,
                        placeholder="pick one or more scenario files",
                        style={"minWidth": "420px"},
                    ),
                    html.Label("Replicates"),
                    dcc.Input(
                        id="replicates",
                        type="number",
                        min=1,
                        max=max_replicates,
                        step=1,
                        value=DEFAULT_REPLICATES,
                        style={"width": "90px"},
                    ),
                    html.Label("Seed"),
                    dcc.Input(id="seed", type="number", min=0, step=1, value=DEFAULT_SEED, style={"width": "110px"}),
                    html.Button("Run", id="run-button"),
                    html.Button("Cancel", id="cancel-button", disabled=True),
                    html.Progress(id="run-progress", value="0", max="1", style={"width": "200px"}),
                    html.Span(id="run-progress-text"),
                ],
                style=_ROW,
            ),
            html.Div(id="run-status", style={"whiteSpace": "pre-wrap", "color": "#555"}),
            html.Div(
                [
                    html.Label("Runs shown"),
                    dcc.Dropdown(
                        id="run-picker", multi=True, placeholder="pick stored runs", style={"minWidth": "640px"}
                    ),
                    dcc.Dropdown(
                        id="export-format",
                        options=[{"label": "HTML", "value": "html"}, {"label": "PDF", "value": "pdf"},
                                 {"label": "Excel", "value": "xlsx"}],
                        value="html", clearable=False, style={"width": "100px"},
                    ),
                    html.Button("Export this view", id="export-button"),
                    html.Button("Steering pack", id="pack-button", title="the picked runs' steering-committee pack"),
                    dcc.Download(id="export-download"),
                    html.Span(id="export-status", className="hint"),
                ],
                style=_ROW,
            ),
        ]
    )


def drop_zone(component_id: str, what: str, limits: str, max_bytes: int) -> dcc.Upload:
    """A dashed box to drop a file on (or click). Files up to twice ``max_bytes`` reach the server,
    which says why one is too large; larger ones the browser refuses."""
    return dcc.Upload(
        id=component_id,
        children=html.Div([f"Drop {what} here or ", html.A("choose one"), limits]),
        max_size=2 * max_bytes,
        multiple=False,
        style={"border": "1px dashed #888", "padding": "8px", "textAlign": "center", "margin": "4px 0"},
    )


def forecast_controls() -> list:
    """Forecast a trial under way: its scenario file, its records (a folder of the actuals folder,
    or an uploaded zip), the date they are complete to, learning on or off."""
    return [
        html.Div(
            [
                html.Label("Scenario file"),
                dcc.Dropdown(id="forecast-scenario", style={"minWidth": "320px"}),
                html.Label("Records"),
                dcc.Dropdown(
                    id="forecast-records", placeholder="a records folder, or upload a zip", style={"minWidth": "320px"}
                ),
                html.Label("As of"),
                dcc.DatePickerSingle(id="forecast-as-of", display_format="YYYY-MM-DD"),
                dcc.Checklist(
                    id="forecast-learning",
                    options=[{"label": " learn the assumptions from the records", "value": "learn"}],
                    value=["learn"],
                ),
                html.Button("Forecast", id="forecast-button"),
                html.Button("Cancel", id="forecast-cancel", disabled=True),
                html.Span(id="forecast-progress"),
            ],
            style=_ROW,
        ),
        drop_zone(
            "forecast-upload",
            "a zip of a records folder",
            f" (up to {MAX_ZIP_BYTES // (1024 * 1024)} MB; checked, kept in this page only)",
            MAX_ZIP_BYTES,
        ),
        dcc.Store(id="forecast-upload-store"),
        html.Div(id="forecast-records-status", style={"whiteSpace": "pre-wrap", "margin": "4px 0"}),
        html.Div(id="forecast-status", style={"whiteSpace": "pre-wrap", "color": "#555"}),
    ]


def _tab(value: str, label: str) -> dcc.Tab:
    children: list = []
    if value == "timeline":
        children.append(
            html.Div(
                [
                    html.Label("Gantt replicate"),
                    dcc.Input(
                        id="gantt-replicate",
                        type="number",
                        min=0,
                        step=1,
                        value=0,
                        debounce=True,
                        style={"width": "90px"},
                    ),
                ],
                style=_ROW,
            )
        )
    if value == "product":
        children.append(
            html.Div(
                [
                    html.Label("Lot plan: target P(a subject waits for product)"),
                    dcc.Input(
                        id="plan-target", type="number", min=0.1, max=50, step=0.1, value=5, style={"width": "70px"}
                    ),
                    html.Span("%"),
                    html.Button("Plan lots", id="plan-button"),
                    html.Button("Cancel", id="plan-cancel", disabled=True),
                    html.Span(id="plan-progress"),
                ],
                style=_ROW,
            )
        )
        children.append(html.Div(id="plan-result"))
    if value == "forecast":
        children += forecast_controls()
    if value == "scenario":
        children += [
            html.Div(
                [html.Label("Scenario file"), dcc.Dropdown(id="scenario-detail", style={"minWidth": "420px"})],
                style=_ROW,
            ),
            drop_zone(
                "upload",
                "a scenario YAML file",
                f" to validate it (up to {MAX_UPLOAD_BYTES // 1024} kB)",
                MAX_UPLOAD_BYTES,
            ),
            html.Div(id="upload-result"),
        ]
    children.append(dcc.Loading(html.Div(id=f"view-{value}")))
    return dcc.Tab(label=label, value=value, children=children, id=f"tab-{value}")


def page(max_replicates: int) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="url"),
            html.H2("ctdild-sim: NCT06574581 trial and AD-MSC supply scenarios"),
            run_controls(max_replicates),
            dcc.Tabs(id="tabs", value="timeline", children=[_tab(v, label) for v, label in TABS]),
            # an empty graph in the first layout makes the browser load the graph component while
            # the first callbacks run, instead of after they return
            dcc.Graph(id="plotly-preload", style={"display": "none"}),
        ],
        style={"fontFamily": "sans-serif", "margin": "12px"},
    )


def data_table(key: str, frame: pd.DataFrame) -> html.Div:
    """A table as people read it (``columns.present``: labels, units, formatted cells), sortable,
    with a button that downloads it as CSV under the table's own name."""
    shown = present(frame)
    return html.Div(
        [
            html.Button("Download CSV", id={"type": "csv-button", "key": key}, className="csv-button"),
            dcc.Download(id={"type": "csv-download", "key": key}),
            dash_table.DataTable(
                id={"type": "table", "key": key},
                columns=[{"name": c, "id": c} for c in shown.columns],
                data=shown.to_dict("records"),
                sort_action="native",
                page_size=15,
                style_table={"overflowX": "auto"},
                style_header={"fontWeight": "bold", "whiteSpace": "normal"},
                style_cell={"fontSize": "13px", "maxWidth": "420px", "whiteSpace": "normal", "textAlign": "left",
                            "fontFamily": "sans-serif"},
            ),
        ]
    )  # fmt: skip


def render(view: View) -> list:
    """A View as components: notes, then graphs, then tables (each with its CSV button)."""
    parts: list = [html.P(note, className="note") for note in view.notes]
    for key, fig in view.figures:
        parts.append(dcc.Graph(id={"type": "figure", "key": key}, figure=fig))
    for title, frame in view.tables:
        parts += [html.H4(title), data_table(title, frame)]
    return parts


def error(message: str) -> html.Pre:
    return html.Pre(message, className="error", style={"color": "#b00", "whiteSpace": "pre-wrap"})
