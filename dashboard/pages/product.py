"""Cell product: vials needed against vials released, demand by month, stock, waste and cost, and
the lot planner."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.pages import ROW, page_layout


def layout(**query) -> html.Div:
    controls = [
        html.Div(
            [
                html.Label("Lot plan: target P(a subject waits for product)"),
                dcc.Input(
                    id=ids.PLAN_TARGET, type="number", min=0.1, max=50, step=0.1, value=5, style={"width": "70px"}
                ),
                html.Span("%"),
                html.Button("Plan lots", id=ids.PLAN_BUTTON),
                html.Button("Cancel", id=ids.PLAN_CANCEL, disabled=True),
                html.Span(id=ids.PLAN_PROGRESS),
            ],
            style=ROW,
        ),
        html.Div(id=ids.PLAN_RESULT),
    ]
    return page_layout("product", controls, query)
