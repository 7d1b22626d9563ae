"""The address holds each page's state (``/timeline?runs=A,B&replicate=3``), so any view can be
bookmarked, reloaded and sent: what it says, and how a control's new value is written into it.

Values are passed on as text; the pages check them (an unknown run id is reported, not dropped)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import parse_qs, quote

import dash
from dash import Input, Output, State, no_update

from dashboard import ids

TEXT_KEYS = ("replicate", "file", "targets", "scenario", "records", "as_of")
"""The address's keys besides ``runs`` that a page reads: the Gantt chart's replicate, the
Scenario page's file, the Forecast page's target dates, scenario file, records and as-of date."""


def query_state(page: str, /, runs: object = None, **query) -> dict:
    """The page's state from the address: ``runs`` (comma-separated ids) and ``TEXT_KEYS`` (``page``
    is positional only: an address's own ``?page=`` is a key like any other, not a second page)."""
    picked = [r for r in str(runs).split(",") if r] if isinstance(runs, str) else []
    text = {k: query[k] if isinstance(query.get(k), str) and query[k] else None for k in TEXT_KEYS}
    return {"page": page, "runs": picked, **text}


def parsed(search: object) -> dict[str, list[str]]:
    """The address's query (``?runs=A,B``) as lists of values."""
    return parse_qs(search.lstrip("?")) if isinstance(search, str) else {}


def address_runs(search: object) -> list[str]:
    """The run ids the address names (``?runs=A,B``), as written."""
    return [r for r in ",".join(parsed(search).get("runs", [])).split(",") if r]


def with_query(query: dict, **changes: str | None) -> str:
    """The address's query with ``changes`` (None removes a key)."""
    values = {k: v[-1] for k, v in query.items() if v}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return ("?" + "&".join(f"{k}={quote(str(v), safe=',')}" for k, v in values.items())) if values else ""


def page_state(page_query: object, **changes) -> dict:
    """The page's state with ``changes`` (what the view is drawn from)."""
    state = dict(page_query) if isinstance(page_query, dict) else {}
    state.update(changes)
    return state


def follow(key: str, value: str | None, search: object, page_query: object):
    """A control's new value into the address and the page's state; nothing when the address
    already says so."""
    return follow_all({key: value}, search, page_query)


def follow_all(changes: dict[str, str | None], search: object, page_query: object):
    """Several controls' values into the address in one write (controls set together and written
    one by one would each start from the same address, and the last write would undo the others);
    nothing when the address already says so."""
    query = parsed(search)
    if all(value == (query[key][-1] if query.get(key) else None) for key, value in changes.items()):
        return no_update, no_update
    return with_query(query, **changes), page_state(page_query, **changes)


def keep_in_address(app: dash.Dash, controls: str | Sequence[tuple[str, str]], on_change: Callable) -> None:
    """Wire a page's control (its ``value``), or several ``(control, property)`` at once, to the
    address: ``on_change(*values, search, page_query)`` gives the new query and the page's new state
    (``follow``, ``follow_all``), so the view is drawn from the address."""
    watched = [(controls, "value")] if isinstance(controls, str) else list(controls)
    app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Output(ids.QUERY, "data", allow_duplicate=True),
        *(Input(control, prop) for control, prop in watched),
        State(ids.URL, "search"),
        State(ids.QUERY, "data"),
        prevent_initial_call=True,
    )(on_change)
