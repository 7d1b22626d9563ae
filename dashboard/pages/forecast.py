"""Forecast: a trial under way, from its records (a folder or workbook of the actuals folder, or an
uploaded zip or workbook), learning its assumptions from them; and stored forecasts (the address's runs)."""

from __future__ import annotations

from dash import dcc, html

from ctdild_sim.actuals.archive import MAX_ZIP_BYTES
from dashboard import ids
from dashboard.layout import drop_zone
from dashboard.pages import ROW, page_layout


def layout(**query) -> html.Div:
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
                    options=[{"label": " learn the assumptions from the records", "value": "learn"}],
                ),
                html.Button("Forecast", id=ids.FORECAST_BUTTON),
                html.Button("Cancel", id=ids.FORECAST_CANCEL, disabled=True),
                html.Span(id=ids.FORECAST_PROGRESS),
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
        html.Div(id=ids.FORECAST_RECORDS_STATUS, style={"whiteSpace": "pre-wrap", "margin": "4px 0"}),
        html.Div(id=ids.FORECAST_STATUS, style={"whiteSpace": "pre-wrap", "color": "#555"}),
    ]
    return page_layout("forecast", controls, query)
