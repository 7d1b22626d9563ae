"""Components: the frame every page shares (title, run controls, the run picker, exports, the
pages' links), a page's frame (``page_layout``), and how a view model is drawn (``render``).
Component ids: ``ids``; the pages: ``pages``; their callbacks: ``shell`` and each page."""

from __future__ import annotations

import dash
import pandas as pd
from dash import dash_table, dcc, html

from ctdild_sim.views.columns import label, present
from ctdild_sim.views.view import View
from dashboard import ids
from dashboard.address import query_state

DEFAULT_REPLICATES = 500
DEFAULT_SEED = 20240820

ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap", "marginBottom": "8px"}


def run_controls(max_replicates: int) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("Scenario files"),
                    dcc.Dropdown(
                        id=ids.SCENARIO_FILES,
                        multi=True,
                        placeholder="pick one or more scenario files",
                        style={"minWidth": "420px"},
                    ),
                    html.Label("Replicates"),
                    dcc.Input(
                        id=ids.REPLICATES,
                        type="number",
                        min=1,
                        max=max_replicates,
                        step=1,
                        value=DEFAULT_REPLICATES,
                        style={"width": "90px"},
                    ),
                    html.Label("Seed"),
                    dcc.Input(id=ids.SEED, type="number", min=0, step=1, value=DEFAULT_SEED, style={"width": "160px"}),
                    html.Button("Run", id=ids.RUN_BUTTON),
                    html.Button("Cancel", id=ids.CANCEL_BUTTON, disabled=True),
                    html.Progress(id=ids.RUN_PROGRESS, value="0", max="1", style={"width": "200px"}),
                    html.Span(id=ids.RUN_PROGRESS_TEXT),
                ],
                style=ROW,
            ),
            html.Div(id=ids.RUN_STATUS, style={"whiteSpace": "pre-wrap", "color": "#555"}),
            html.Div(
                [
                    html.Label("Runs shown"),
                    dcc.Dropdown(
                        id=ids.RUN_PICKER, multi=True, placeholder="pick stored runs", style={"minWidth": "640px"}
                    ),
                    dcc.Dropdown(
                        id=ids.EXPORT_FORMAT,
                        options=[
                            {"label": "HTML", "value": "html"},
                            {"label": "PDF", "value": "pdf"},
                            {"label": "Excel", "value": "xlsx"},
                        ],
                        value="html",
                        clearable=False,
                        style={"width": "100px"},
                    ),
                    html.Button("Export this view", id=ids.EXPORT_BUTTON),
                    html.Button("Steering pack", id=ids.PACK_BUTTON, title="the picked runs' steering-committee pack"),
                    dcc.Download(id=ids.EXPORT_DOWNLOAD),
                    html.Span(id=ids.EXPORT_STATUS, className="hint"),
                ],
                style=ROW,
            ),
        ]
    )


def page_layout(page: str, controls: list, query: dict) -> html.Div:
    """A page: its controls, its state (from the address), and the view the shell draws from it."""
    return html.Div(
        [
            *controls,
            dcc.Store(id=ids.QUERY, data=query_state(page, **query)),
            dcc.Loading(html.Div(id=ids.VIEW), type="default"),
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


def data_table(key: str, frame: pd.DataFrame) -> html.Div:
    """A table as people read it (``columns.present``: labels, units, formatted cells), sortable,
    with a button that downloads it as CSV under the table's own name."""
    shown = present(frame)
    return html.Div(
        [
            html.Button("Download CSV", id={"type": ids.CSV_BUTTON, "key": key}, className="csv-button"),
            dcc.Download(id={"type": ids.CSV_DOWNLOAD, "key": key}),
            dash_table.DataTable(
                id={"type": ids.TABLE, "key": key},
                columns=[{"name": c, "id": c} for c in shown.columns],
                data=shown.to_dict("records"),
                sort_action="native",
                page_size=15,
                style_table={"overflowX": "auto"},
                style_header={"fontWeight": "bold", "whiteSpace": "normal"},
                style_cell={
                    "fontSize": "13px",
                    "maxWidth": "420px",
                    "whiteSpace": "normal",
                    "textAlign": "left",
                    "fontFamily": "sans-serif",
                },
                style_data_conditional=_highlights(shown),
            ),
        ]
    )


WEAK_LABEL = label("weak")


def _highlights(shown: pd.DataFrame) -> list[dict]:
    """Rows a reader should see first: parameters the scenario file marks WEAK."""
    if WEAK_LABEL not in shown.columns:
        return []
    return [
        {"if": {"filter_query": f'{{{WEAK_LABEL}}} = "yes"'}, "backgroundColor": "#fff4e0"},
        {
            "if": {"filter_query": f'{{{WEAK_LABEL}}} = "yes"', "column_id": WEAK_LABEL},
            "color": "#a15c00",
            "fontWeight": "bold",
        },
    ]


def render(view: View) -> list:
    """A study's view model as components: its warnings, its headline answers, notes, then graphs
    (each with its caption), then tables (each with its caption and CSV button)."""
    warned = [n for n in view.notes if n.startswith("Warning:")]
    parts: list = [html.P(note, className="note warning") for note in warned]
    if view.answers:
        parts.append(
            html.Dl(
                [item for a in view.answers for item in (html.Dt(a.question), html.Dd(a.answer))],
                className="answers",
            )
        )
    parts += [html.P(note, className="note") for note in view.notes if note not in warned]
    for key, fig in view.figures:
        parts.append(dcc.Graph(id={"type": ids.FIGURE, "key": key}, figure=fig))
        if key in view.captions:
            parts.append(html.P(view.captions[key], className="caption"))
    for k, (title, frame) in enumerate(view.tables):
        caption = [html.P(view.captions[title], className="caption")] if title in view.captions else []
        if view.folded:
            parts.append(
                html.Details(
                    [html.Summary(title), *caption, data_table(title, frame)], className="parameter-group", open=k == 0
                )
            )
        else:
            parts += [html.H4(title), *caption, data_table(title, frame)]
    return parts


def error(message: str) -> html.Pre:
    """Something went wrong: in red, as the CLI would say it."""
    return html.Pre(message, className="error", style={"color": "#b00", "whiteSpace": "pre-wrap"})


def hint(message: str) -> html.P:
    """What to do next (pick runs, a scenario file): not an error."""
    return html.P(message, className="hint", style={"color": "#555", "fontStyle": "italic"})


def app_layout(max_replicates: int, pages: list[tuple[str, str, str]]) -> html.Div:
    """Every page's frame: the address, title, run controls, the pages' links and the page."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),  # written by callbacks without reloading the page
            html.H2("ctdild-sim: NCT06574581 trial and AD-MSC supply scenarios"),
            run_controls(max_replicates),
            html.Nav(
                [
                    dcc.Link(
                        name,
                        href=path,
                        id={"type": ids.NAV, "page": key},
                        className=f"nav-link nav-{key}",
                        style={
                            "padding": "6px 14px",
                            "border": "1px solid #ccd",
                            "borderRadius": "4px",
                            "textDecoration": "none",
                        },
                    )
                    for key, path, name in pages
                ],
                style={"display": "flex", "gap": "6px", "margin": "8px 0", "flexWrap": "wrap"},
            ),
            html.Div(id=ids.URL_STATUS),
            dash.page_container,
            # an empty graph in the first layout makes the browser load the graph component while
            # the first callbacks run, instead of after they return
            dcc.Graph(id="plotly-preload", style={"display": "none"}),
        ],
        style={"fontFamily": "sans-serif", "margin": "12px"},
    )
