"""Timeline: when the milestones come, the chance of the registered date, and one replicate's
subjects phase by phase (the Gantt chart, replicate from the address)."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.pages import ROW, page_layout


def layout(**query) -> html.Div:
    replicate = query.get("replicate")
    value = int(replicate) if isinstance(replicate, str) and replicate.isdigit() else None
    controls = [
        html.Div(
            [
                html.Label("Gantt chart: replicate"),
                dcc.Input(
                    id=ids.GANTT_REPLICATE,
                    type="number",
                    min=0,
                    step=1,
                    value=value,
                    debounce=True,
                    placeholder="number",
                    style={"width": "90px"},
                ),
                html.Label("or a typical one"),
                dcc.Dropdown(
                    id=ids.GANTT_TYPICAL,
                    placeholder="P10 / P50 / P90 of LPLV, stopped early",
                    style={"minWidth": "420px"},
                ),
            ],
            style=ROW,
        )
    ]
    return page_layout("timeline", controls, query)
