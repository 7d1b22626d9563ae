"""The app factory: ``create_app(scenarios_dir, results_dir)`` gives a Dash app over one folder of
scenario files and one results store.

The page draws its graphs with plotly.js's cartesian bundle (``assets/plotly-cartesian.min.js``,
v4.1.1 from npm, MIT; 1.5 MB where the full bundle is 4.8 MB): dcc.Graph uses ``window.Plotly`` when
an asset defines it, and the browser then compiles a third of the code before the first graph. The
figures use scatter, bar and box traces only, all in that bundle.

Long runs are Dash background callbacks on a diskcache manager (a separate process per job), so
the page keeps answering while replicates run; the cache lives in ``cache_dir`` (by default a
``.dashboard-cache`` folder in the results store, which the store's listing skips).
"""

from __future__ import annotations

import os
from pathlib import Path

import dash
import diskcache

from dashboard import callbacks, layout
from dashboard.data import MAX_UPLOAD_BYTES


def create_app(
    scenarios_dir: str | Path,
    results_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    workers: int | None = None,
) -> dash.Dash:
    """A Dash app over ``scenarios_dir`` (scenario files) and ``results_dir`` (the results store)."""
    scenarios_dir, results_dir = Path(scenarios_dir).resolve(), Path(results_dir).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    cache = diskcache.Cache(str(Path(cache_dir) if cache_dir else results_dir / ".dashboard-cache"))
    app = dash.Dash(
        __name__,
        title="ctdild-sim",
        background_callback_manager=dash.DiskcacheManager(cache),
        suppress_callback_exceptions=True,
    )
    app.server.config["MAX_CONTENT_LENGTH"] = 8 * MAX_UPLOAD_BYTES  # no request body beyond an upload's
    app.layout = layout.page()
    callbacks.register(app, scenarios_dir, results_dir, workers or max(1, min(4, os.cpu_count() or 1)))
    return app
