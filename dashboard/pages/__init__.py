"""One module per page, each holding the page's whole behaviour: its address (``KEY``, ``PATH``,
``NAME``), its ``layout`` (a pure function of the address's query: its own controls, the query as
a ``dcc.Store``, a place for the view), its ``view`` (the study's view model for the page's state)
and, where it has controls of its own, the callbacks and their ``register``.

- ``timeline``: milestones, the registered date's chance, one replicate's Gantt chart;
- ``forecast``: a trial under way, from its records; picking, uploading and checking them;
- ``track_record``: a backtest: the forecast as of past dates against what then happened;
- ``product``: vials needed and released, stock, waste, cost, and the lot planner;
- ``cohorts``: when each cohort passes its gate, stops and pauses;
- ``screening``: which criteria rule candidates out;
- ``compare``: scenarios side by side on common random numbers;
- ``sensitivity``: the tornado of a sensitivity run, and the variance ranking;
- ``scenario``: a file's parameters with their sources, the editor and uploads.

The frame around them (links, run controls, the view's drawing, exports) is ``dashboard.shell``.
"""

from __future__ import annotations

from dashboard.pages import (
    cohorts,
    compare,
    forecast,
    product,
    scenario,
    screening,
    sensitivity,
    timeline,
    track_record,
)

PAGES = (timeline, forecast, track_record, product, cohorts, screening, compare, sensitivity, scenario)
"""The pages in the order of their links."""
BY_KEY = {page.KEY: page for page in PAGES}
PATHS = {page.KEY: page.PATH for page in PAGES}
