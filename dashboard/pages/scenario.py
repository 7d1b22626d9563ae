"""Scenario: a scenario file's parameters grouped as in the file, with each one's description,
range and the file's comment (its source, WEAK flags); upload or edit one, validate it, run it."""

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
            f" to validate it (up to {MAX_UPLOAD_BYTES // 1024} kB)",
            MAX_UPLOAD_BYTES,
        ),
        html.Div(id=ids.UPLOAD_RESULT),
        html.Div(id=ids.SCENARIO_VIEW),
    ]
    return page_layout("scenario", controls, query)
