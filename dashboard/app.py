"""The app factory: ``create_app(scenarios_dir, results_dir)`` gives a Dash app over one folder of
scenario files and one results store.

The page draws its graphs with plotly.js's cartesian bundle (``assets/plotly-cartesian.min.js``,
v4.1.1 from npm, MIT; 1.5 MB where the full bundle is 4.8 MB): dcc.Graph uses ``window.Plotly`` when
an asset defines it, and the browser then compiles a third of the code before the first graph. The
figures use scatter, bar and box traces only, all in that bundle.

Long runs are Dash background callbacks on a diskcache manager (a separate process per job), so
the page keeps answering while replicates run; one job runs at a time, capped in replicates and
at low priority (``jobs``). The cache lives in ``cache_dir`` (by default a ``.dashboard-cache``
folder in the results store, which the store's listing skips). Requests must name a loopback host
or one of ``allowed_hosts`` in their Host header.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

import dash
import diskcache
import flask
import numpy as np

from ctdild_sim.actuals.archive import MAX_ZIP_BYTES
from dashboard import layout, shell
from dashboard.bounded import BoundedChecks, CheckBudget
from dashboard.context import Context
from dashboard.data import MAX_UPLOAD_BYTES
from dashboard.jobs import JobSlot
from dashboard.pages import PAGES

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_MAX_REPLICATES = 20_000
"""Most replicates one job from the page may ask for, unless the server is started with more."""


def default_workers() -> int:
    """Worker processes per job: the cores but one (left to the web server), at least 1, at most 4."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port (``[::1]:8050`` -> ``::1``)."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0].lower()
    return host_header.rsplit(":", 1)[0].lower() if host_header.count(":") == 1 else host_header.lower()


def check_host(server: flask.Flask, allowed: Iterable[str]) -> None:
    """Refuse requests whose Host header names another host: a web page elsewhere cannot reach the
    dashboard by pointing a DNS name of its own at 127.0.0.1 (DNS rebinding)."""
    names = {name.lower() for name in (*LOOPBACK_NAMES, *allowed)}

    @server.before_request
    def _known_host():
        if host_name(flask.request.host or "") not in names:
            return (
                "This dashboard answers only to " + ", ".join(sorted(names)) + "; start it with "
                "--allowed-host NAME to allow another name.\n",
                403,
                {"Content-Type": "text/plain"},
            )
        return None


_SQLITE_IN_USE = threading.RLock()
"""Held by every cache operation of this process, and by a fork while it copies the process.

Dash starts each background job by forking the threaded web server. A fork made while another
thread was inside an SQLite statement copied that thread's lock into the job as SQLite's own
bookkeeping (the lock's owner does not exist in the job), so the job's first write to the cache
waited for it for ever: 1 to 4 of 30 simultaneous run requests were never answered. Holding
this lock across the fork means no statement is under way when the process is copied."""
os.register_at_fork(
    before=_SQLITE_IN_USE.acquire, after_in_parent=_SQLITE_IN_USE.release, after_in_child=_SQLITE_IN_USE.release
)


class PatientCache(diskcache.Cache):
    """The background jobs' cache: its operations wait while SQLite is busy instead of giving up
    (of 30 simultaneous run requests, a job whose result met a lock raised
    ``diskcache.core.Timeout``, a traceback in the log, and its request was never answered), and
    none is under way while the process forks (``_SQLITE_IN_USE``). Only the operations Dash
    uses hold that lock (set, get, add, delete, touch, transact): any other must be added here
    before it is used."""

    def set(self, key, value, expire=None, read=False, tag=None, retry=True):
        with _SQLITE_IN_USE:
            return super().set(key, value, expire, read, tag, retry)

    def get(self, key, default=None, read=False, expire_time=False, tag=False, retry=True):
        with _SQLITE_IN_USE:
            return super().get(key, default, read, expire_time, tag, retry)

    def add(self, key, value, expire=None, read=False, tag=None, retry=True):
        with _SQLITE_IN_USE:
            return super().add(key, value, expire, read, tag, retry)

    def delete(self, key, retry=True):
        with _SQLITE_IN_USE:
            return super().delete(key, retry)

    def touch(self, key, expire=None, retry=True):
        with _SQLITE_IN_USE:
            return super().touch(key, expire, retry)

    @contextlib.contextmanager
    def transact(self, retry=True):
        with _SQLITE_IN_USE, super().transact(retry):
            yield


RESULT_SECONDS = 600
"""How long a background job's result stays in the cache after it was read."""


def request_key() -> str:
    """A part of every background request's cache key that no other request has."""
    return uuid.uuid4().hex


MAX_NESTING = 100
"""Deepest nesting of a request's JSON (the page's own are under 20 levels): Python's JSON reader
recurses, and a body nested 100,000 deep was an HTTP 500 with a RecursionError in the log."""
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
OPENING, CLOSING = np.frombuffer(b"[{", dtype=np.uint8), np.frombuffer(b"]}", dtype=np.uint8)


def nesting_depth(body: bytes) -> int:
    """How deep a JSON body's arrays and objects nest (brackets inside strings do not count)."""
    codes = np.frombuffer(_JSON_STRING.sub(b'""', body), dtype=np.uint8)
    if not len(codes):
        return 0
    steps = np.isin(codes, OPENING).astype(np.int32) - np.isin(codes, CLOSING).astype(np.int32)
    return int(np.cumsum(steps).max())


def check_nesting(server: flask.Flask) -> None:
    """Refuse a JSON request nested deeper than ``MAX_NESTING`` with a 400, before it is parsed."""

    @server.before_request
    def _shallow():
        if flask.request.method == "POST" and flask.request.is_json:
            depth = nesting_depth(flask.request.get_data(cache=True))
            if depth > MAX_NESTING:
                return (
                    f"The request is nested {depth:,} levels deep; the limit is {MAX_NESTING}.\n",
                    400,
                    {"Content-Type": "text/plain"},
                )
        return None


class WiringError(Exception):
    """A callback names a component no page has: a mistake in the dashboard's own code."""


def check_wiring(app: dash.Dash) -> None:
    """Every component a callback names (pattern-matching ids aside) is in the shell or in a page's
    layout, checked when the app is made. Dash checks this only in the browser's developer tools,
    and the app once turned the check off for every page (``suppress_callback_exceptions``)."""
    root = app.validation_layout
    known = {c.id for c in [root, *root._traverse()] if isinstance(getattr(c, "id", None), str)}
    named = set()
    for key, callback in app.callback_map.items():
        outputs = key.strip(".").split("...") if key.startswith("..") else [key]
        named |= {o.rsplit(".", 1)[0] for o in outputs}
        named |= {d["id"] for d in [*callback["inputs"], *callback["state"]] if isinstance(d["id"], str)}
    missing = sorted(i for i in named if not i.startswith("{") and i not in known)
    if missing:
        raise WiringError(f"callbacks name components that no page has: {', '.join(missing)}")


def create_app(
    scenarios_dir: str | Path,
    results_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    max_replicates: int = DEFAULT_MAX_REPLICATES,
    allowed_hosts: Iterable[str] = (),
    actuals_dir: str | Path | None = None,
    records_budget: CheckBudget | None = None,
) -> dash.Dash:
    """A Dash app over ``scenarios_dir`` (scenario files) and ``results_dir`` (the results store).

    ``max_replicates`` caps each job started from the page; ``allowed_hosts`` are Host names the
    page answers to besides the loopback ones; ``actuals_dir`` holds folders of trials' records
    for the Forecast tab (by default the ``actuals`` folder of ``scenarios_dir``); ``records_budget``
    is what checking a visitor's records may take (``bounded.CheckBudget``'s defaults)."""
    scenarios_dir, results_dir = Path(scenarios_dir).resolve(), Path(results_dir).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    cache_path = Path(cache_dir) if cache_dir else results_dir / ".dashboard-cache"
    cache = PatientCache(str(cache_path))
    app = dash.Dash(
        __name__,
        title="ctdild-sim",
        # every request its own result: identical requests (the same files, replicates and seed) had
        # one result between them, read and deleted by the first to ask; the others were never
        # answered (23 of 30 simultaneous run requests). Results are kept RESULT_SECONDS once read.
        background_callback_manager=dash.DiskcacheManager(cache, cache_by=[request_key], expire=RESULT_SECONDS),
        use_pages=True,
        pages_folder="",
    )
    for page in PAGES:
        dash.register_page(
            page.KEY,
            path=page.PATH,
            name=page.NAME,
            title=f"ctdild-sim: {page.NAME}",
            order=len(dash.page_registry),
            layout=page.layout,
        )
    # no request body beyond an upload's: a zip of records, base64 (4/3), twice the limit (the page's own check)
    app.server.config["MAX_CONTENT_LENGTH"] = 3 * MAX_ZIP_BYTES + 8 * MAX_UPLOAD_BYTES
    check_host(app.server, allowed_hosts)
    check_nesting(app.server)
    app.layout = layout.app_layout(max_replicates, [(p.KEY, p.PATH, p.NAME) for p in PAGES])
    context = Context(
        scenarios_dir=scenarios_dir,
        results_dir=results_dir,
        workers=workers or default_workers(),
        max_replicates=max_replicates,
        jobs=JobSlot(cache_path / "job.lock"),
        server_pid=os.getpid(),
        actuals_dir=Path(actuals_dir).resolve() if actuals_dir else scenarios_dir / "actuals",
        checks=BoundedChecks(records_budget),
    )
    shell.register(app, context)
    for page in PAGES:
        if hasattr(page, "register"):
            page.register(app, context)
    app.validation_layout = dash.html.Div([app.layout, *(page.layout() for page in PAGES)])
    check_wiring(app)
    return app
