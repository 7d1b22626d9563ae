"""One module per page; the address holds each page's state (``/timeline?runs=A,B&replicate=3``),
so any view can be bookmarked, reloaded and sent.

- ``timeline``: milestones, the registered date's chance, one replicate's Gantt chart;
- ``cohorts``: when each cohort passes its gate, stops and pauses;
- ``screening``: which criteria rule candidates out;
- ``product``: vials needed and released, stock, waste, cost, and the lot planner;
- ``compare``: scenarios side by side on common random numbers;
- ``sensitivity``: the tornado of a sensitivity run, and the variance ranking;
- ``forecast``: a trial under way, from its records;
- ``scenario``: a file's parameters with their sources, the editor and uploads.

A page's layout is a pure function of the address's query: its own controls, the query as a
``dcc.Store`` (``ids.QUERY``), and a place for the view, which a callback draws from the store
(the callbacks hold the server's folders; a layout holds nothing but the address).
"""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids

PAGES = [
    # key, path, name
    ("timeline", "/", "Timeline"),
    ("forecast", "/forecast", "Forecast"),
    ("product", "/product", "Cell product"),
    ("cohorts", "/cohorts", "Cohorts"),
    ("screening", "/screening", "Screening"),
    ("compare", "/compare", "Compare"),
    ("sensitivity", "/sensitivity", "Sensitivity"),
    ("scenario", "/scenario", "Scenario"),
]
PATHS = {key: path for key, path, _ in PAGES}
ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap", "marginBottom": "8px"}


def query_state(page: str, runs: object = None, replicate: object = None, file: object = None, **_ignored) -> dict:
    """The page's state from the address: ``runs`` (comma-separated ids), the Gantt chart's
    ``replicate``, the Scenario page's ``file``. Values are passed on as text; the callbacks check
    them (an unknown run id is reported, not dropped)."""
    picked = [r for r in str(runs).split(",") if r] if isinstance(runs, str) else []
    text = {k: v if isinstance(v, str) and v else None for k, v in (("replicate", replicate), ("file", file))}
    return {"page": page, "runs": picked, **text}


def page_layout(page: str, controls: list, query: dict) -> html.Div:
    """A page: its controls, its state, and the view the callbacks draw."""
    return html.Div(
        [
            *controls,
            dcc.Store(id=ids.QUERY, data=query_state(page, **query)),
            dcc.Loading(html.Div(id=ids.VIEW), type="default"),
        ]
    )
