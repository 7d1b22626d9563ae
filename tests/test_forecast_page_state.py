"""The Forecast page's controls never contradict the view: a stored forecast picked in the address
sets the scenario file, records and as-of date it was made from; the three live in the address
(``?scenario=&records=&as_of=``) and come back on a reload; what the address says is checked, not
trusted; and a job's progress text does not outlive the job it describes. Without a browser: the
callbacks as plain functions, and the app's own request handling."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from dash import dcc, no_update
from dash._pages import _parse_query_string
from dash.exceptions import PreventUpdate

from ctdild_sim import cli
from ctdild_sim.runs.results import list_runs
from dashboard import create_app, ids
from dashboard.address import query_state
from dashboard.context import Context
from dashboard.data import UPLOADED
from dashboard.jobs import JobSlot
from dashboard.pages import forecast as forecast_page

from conftest import BASE_SCENARIO, EXAMPLE, FORECAST_EXAMPLE

BASE = BASE_SCENARIO.name
RECORDS = EXAMPLE.name
AS_OF = "2026-11-20"
"""The stored forecast's as-of date: not the date in the records' name (2026-11-25, the page's
first guess), nor today, so a control showing it was set from the run."""
ODD_NAME = "my trial & co + 100%.yaml"
"""A scenario file whose name an address must escape."""


def _stored(store: Path, *args: str) -> str:
    """Run the CLI into ``store``; the id of the run it stored."""
    before = {r.run_id for r in list_runs(store)}
    result = CliRunner().invoke(cli.main, [*args, "-j", "1", "--quiet", "--results", str(store)])
    assert result.exit_code == 0, result.output
    [made] = [r.run_id for r in list_runs(store) if r.run_id not in before]
    return made


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, str]:
    """A store holding a forecast from the shipped records as of 2026-11-20 (made with the CLI), a
    plan run, and copies of the forecast said to be made from an uploaded zip and from a scenario
    file and records the dashboard's folders do not hold."""
    store = tmp_path_factory.mktemp("results")
    made = {
        "forecast": _stored(store, *FORECAST_EXAMPLE[:-1], AS_OF, "-n", "6", "--no-lot-plan"),
        "plan": _stored(store, "run", str(BASE_SCENARIO), "-n", "4"),
    }
    for copy, changes in (
        ("uploaded", {"actuals_folder": f"{UPLOADED}trial-export.zip"}),
        ("elsewhere", {"scenario_file": "/srv/other/gone.yaml", "actuals_folder": "/srv/other/old-records"}),
    ):
        shutil.copytree(store / made["forecast"], store / copy)
        manifest = json.loads((store / copy / "manifest.json").read_text())
        (store / copy / "manifest.json").write_text(json.dumps({**manifest, **changes, "run_id": copy}))
        made[copy] = copy
    made["store"] = str(store)
    return made


@pytest.fixture
def ctx(tmp_path, runs) -> Context:
    scenarios, actuals = tmp_path / "scenarios", tmp_path / "actuals"
    scenarios.mkdir()
    shutil.copy(BASE_SCENARIO, scenarios / BASE)
    shutil.copy(BASE_SCENARIO, scenarios / ODD_NAME)
    shutil.copytree(EXAMPLE, actuals / RECORDS)
    return Context(
        scenarios,
        Path(runs["store"]),
        workers=1,
        max_replicates=60,
        jobs=JobSlot(tmp_path / "job.lock"),
        server_pid=os.getpid(),
        actuals_dir=actuals,
    )


OUTPUTS = ("files", "record_options", "scenario", "records", "as_of", "notes", "progress", "set")
"""What ``on_controls`` returns, by name."""


def _controls(ctx: Context, query: object, before: object = None, options: object = None) -> dict:
    """``on_controls``'s outputs by name, for the page opening on ``query`` (``before`` None) or
    for the runs it names picked in the run picker."""
    return dict(zip(OUTPUTS, forecast_page.on_controls(ctx, _runs(query), query, before, options), strict=True))


def _runs(query: object) -> object:
    """The runs the run picker holds when the page's state names ``query``'s."""
    return query.get("runs") if isinstance(query, dict) else None


def _page_state(search: str) -> dict:
    """The page's state as a reload of ``/forecast{search}`` makes it: Dash's reading of the
    address, handed to the page's layout, which keeps it in its store."""
    root = forecast_page.layout(**_parse_query_string(search))
    [store] = [c for c in root._traverse() if isinstance(c, dcc.Store) and c.id == ids.QUERY]
    return store.data


def _notes(controls: dict) -> str:
    return " ".join(str(n.children) for n in controls["notes"] or [])


# -- (a) a stored forecast picked in the address ----------------------------------------------------


def test_a_stored_forecast_in_the_address_sets_the_controls_to_what_it_was_made_from(ctx, runs):
    controls = _controls(ctx, _page_state(f"?runs={runs['forecast']}"))
    assert (controls["scenario"], controls["records"], controls["as_of"]) == (BASE, RECORDS, AS_OF)
    assert controls["files"] == sorted([BASE, ODD_NAME]) and controls["record_options"] == [RECORDS]
    assert controls["notes"] is None and controls["progress"] == ""
    # the view the controls stand beside says the same date
    assert f"forecast as of {AS_OF}" in " ".join(forecast_page.view(ctx, {"runs": [runs["forecast"]]}).notes)
    # the records picked by the page come with the forecast's date, not the guess from their name
    assert forecast_page.on_records_picked(ctx, RECORDS, None, controls["set"]) == AS_OF
    assert forecast_page.on_records_picked(ctx, RECORDS, None) == "2026-11-25"  # picked by the user: the guess


def test_a_forecast_picked_while_the_page_is_open_sets_the_controls_and_later_picks_stand(ctx, runs):
    opened = _controls(ctx, _page_state(f"?runs={runs['plan']}"))
    assert (opened["scenario"], opened["records"]) == (None, None)  # a plan run says nothing of records
    assert opened["as_of"] == dt.date.today().isoformat()
    # the user picked another file and date, then picked the forecast in the run picker
    state = query_state("forecast", runs=runs["plan"], scenario=ODD_NAME, as_of="2025-01-01")
    picked = _controls(ctx, {**state, "runs": [runs["forecast"]]}, opened["set"])
    assert (picked["scenario"], picked["records"], picked["as_of"]) == (BASE, RECORDS, AS_OF)
    # more runs picked beside it, or the address changed for other reasons: the same forecast is
    # shown, and the controls (which the user may have changed since) are left alone
    with pytest.raises(PreventUpdate):
        forecast_page.on_controls(ctx, [runs["forecast"], runs["plan"]], state, picked["set"])
    # two forecasts shown: the controls cannot show both, and are left as they are; the progress
    # and notes of the one shown before go
    both = _controls(ctx, query_state("forecast", runs=f"{runs['forecast']},{runs['uploaded']}"), picked["set"])
    assert (both["scenario"], both["records"], both["as_of"]) == (no_update,) * 3
    assert both["progress"] == "" and both["notes"] is None
    # a plan run after that: still no forecast shown, nothing to change
    with pytest.raises(PreventUpdate):
        forecast_page.on_controls(ctx, [runs["plan"]], state, both["set"])
    # the forecast picked again: its values again
    again = _controls(ctx, query_state("forecast", runs=runs["forecast"]), both["set"])
    assert (again["scenario"], again["records"], again["as_of"]) == (BASE, RECORDS, AS_OF)


def test_what_the_address_says_stands_over_the_forecast_on_a_reload(ctx, runs):
    controls = _controls(ctx, _page_state(f"?runs={runs['forecast']}&scenario={quote(ODD_NAME)}"))
    assert (controls["scenario"], controls["records"], controls["as_of"]) == (ODD_NAME, RECORDS, AS_OF)


@pytest.mark.parametrize(
    ("run", "scenario", "records", "said"),
    [
        ("uploaded", BASE, None, "made from records uploaded as trial-export.zip; upload them again"),
        ("elsewhere", None, None, "made from the scenario file gone.yaml, which is not in scenarios/"),
        ("elsewhere", None, None, "made from the records old-records, which are not in actuals/"),
    ],
)
def test_a_forecast_made_from_files_the_pickers_do_not_list_leaves_them_empty_and_says_which(
    ctx, runs, run, scenario, records, said
):
    controls = _controls(ctx, _page_state(f"?runs={runs[run]}"))
    assert (controls["scenario"], controls["records"], controls["as_of"]) == (scenario, records, AS_OF)
    assert said in _notes(controls) and "/srv" not in _notes(controls)


def test_an_uploaded_forecast_s_records_are_picked_while_the_page_holds_the_upload(ctx, runs):
    opened = _controls(ctx, _page_state(""))
    label = f"{UPLOADED}trial-export.zip"
    picked = _controls(ctx, query_state("forecast", runs=runs["uploaded"]), opened["set"], [RECORDS, label])
    assert picked["records"] == label and picked["record_options"] == [RECORDS, label] and picked["notes"] is None


def test_a_scenario_file_changed_since_the_forecast_is_said(ctx, runs):
    (ctx.scenarios_dir / BASE).write_text(BASE_SCENARIO.read_text() + "\n# edited since\n")
    controls = _controls(ctx, _page_state(f"?runs={runs['forecast']}"))
    assert controls["scenario"] == BASE and f"{BASE} has changed since this forecast was made" in _notes(controls)


# -- (b) the address holds the controls --------------------------------------------------------------


def test_the_controls_round_trip_through_the_address(ctx, runs):
    search = f"?runs={runs['plan']}&targets=2028-06-30"
    written, state = forecast_page.on_controls_changed(ODD_NAME, RECORDS, AS_OF, search, _page_state(search))
    assert written.startswith(search) and "as_of=2026-11-20" in written
    assert state is no_update  # the view is not drawn from them: it is not drawn again
    reloaded = _page_state(written)
    assert (reloaded["scenario"], reloaded["records"], reloaded["as_of"], reloaded["targets"]) == (
        ODD_NAME,
        RECORDS,
        AS_OF,
        "2028-06-30",
    )
    controls = _controls(ctx, reloaded)
    assert (controls["scenario"], controls["records"], controls["as_of"]) == (ODD_NAME, RECORDS, AS_OF)
    # the address already says so: nothing is written; the picker's time of day is not a new date
    assert forecast_page.on_controls_changed(ODD_NAME, RECORDS, f"{AS_OF}T00:00:00", written, reloaded) == (
        no_update,
        no_update,
    )
    # a control emptied leaves the address; uploaded records are held by the page, not the address
    emptied, _ = forecast_page.on_controls_changed(None, f"{UPLOADED}mine.zip", AS_OF, written, reloaded)
    assert "scenario=" not in emptied and "records=" not in emptied and "as_of=2026-11-20" in emptied


# -- (c) an address can say anything ------------------------------------------------------------------

HOSTILE = [
    "?scenario=../../etc/passwd&records=../../etc&as_of=not-a-date",
    "?scenario=/etc/passwd&records=upload:%20evil.zip&as_of=2026-13-01",
    "?scenario=nct06574581.yaml%00&records=&as_of=" + "2026-11-25" * 500,
    "?scenario=a&scenario=b&records=x&records=y&as_of=2026-11-25&as_of=2026-11-26",
    "?runs=../../etc,no-such-run&as_of=99999-01-01",
    "?page=timeline&runs=&as_of=2026-11-25;%20DROP%20TABLE",
]


@pytest.mark.parametrize("search", HOSTILE, ids=["paths", "upload", "long", "twice", "runs", "page-key"])
def test_address_values_are_checked_and_ignored_when_wrong(ctx, search):
    controls = _controls(ctx, _page_state(search))
    assert controls["scenario"] is None and controls["records"] is None
    assert controls["as_of"] == dt.date.today().isoformat() and controls["notes"] is None


@pytest.mark.parametrize(
    ("picked", "query", "before", "options"),
    [
        (None, None, None, None),
        ("not a list", "not a dict", ["not", "a", "dict"], "not a list"),
        ("x", {"runs": "not-a-list", "scenario": 3, "as_of": {"a": 1}}, None, [None, 3, {"x": 1}]),
        ([1, None, "../x"] * 20, {"runs": [1, None, "../x"] * 20}, None, []),
        ([1, None, "../x"] * 20, None, {"forecast": 5, "records": [1], "as_of": "x"}, 7),
    ],
)
def test_a_request_of_the_wrong_shape_sets_nothing_from_it(ctx, picked, query, before, options):
    controls = dict(zip(OUTPUTS, forecast_page.on_controls(ctx, picked, query, before, options), strict=True))
    assert controls["scenario"] in (None, no_update) and controls["records"] in (None, no_update)
    assert controls["as_of"] in (dt.date.today().isoformat(), no_update) and controls["record_options"] == [RECORDS]


def test_a_hostile_address_or_request_gets_no_error_from_the_app(ctx, runs):
    app = create_app(ctx.scenarios_dir, ctx.results_dir, workers=1, actuals_dir=ctx.actuals_dir)
    client = app.server.test_client()
    for search in HOSTILE:
        assert client.get(f"/forecast{search}").status_code == 200
        # the page's own router draws the layout of the address
        drawn = _post(app, ROUTER, {"_pages_location.pathname": "/forecast", "_pages_location.search": search})
        assert ids.FORECAST_AS_OF in json.dumps(drawn)
        answer = _post(app, CONTROLS, {f"{ids.QUERY}.data": _page_state(search)})["response"]
        assert answer[ids.FORECAST_SCENARIO]["value"] is None
        follow = _post(
            app,
            FOLLOWED,
            {f"{ids.FORECAST_SCENARIO}.value": "../../etc/passwd", f"{ids.FORECAST_AS_OF}.date": "not-a-date"}
            | {f"{ids.URL}.search": search},
            f"{ids.URL}.search",
        )
        assert "not-a-date" not in json.dumps(follow)


ROUTER = ["_pages_location.pathname", "_pages_location.search"]
CONTROLS = [f"{ids.FORECAST_SCENARIO}.id", f"{ids.RUN_PICKER}.value"]
FOLLOWED = [f"{ids.FORECAST_SCENARIO}.value", f"{ids.FORECAST_RECORDS}.value", f"{ids.FORECAST_AS_OF}.date"]


def test_a_stored_forecast_picked_by_the_address_sets_the_controls_through_the_app(ctx, runs):
    app = create_app(ctx.scenarios_dir, ctx.results_dir, workers=1, actuals_dir=ctx.actuals_dir)
    state = _page_state(f"?runs={runs['forecast']}")
    answer = _post(app, CONTROLS, {f"{ids.QUERY}.data": state})["response"]
    assert answer[ids.FORECAST_SCENARIO]["value"] == BASE and answer[ids.FORECAST_RECORDS]["value"] == RECORDS
    assert answer[ids.FORECAST_AS_OF]["date"] == AS_OF and answer[ids.FORECAST_PROGRESS]["children"] == ""


def _post(app, inputs: list[str], values: dict, writes: str = "") -> dict:
    """Post the request the page makes for the callback triggered by ``inputs`` (``id.property``,
    the first the one that changed) that ``writes`` a property, with ``values`` by ``id.property``
    (the rest None); its answer."""
    client = app.server.test_client()
    client.get("/")  # the pages' router is registered on the first request
    [key] = [
        k
        for k, c in app.callback_map.items()
        if [f"{i['id']}.{i['property']}" for i in c["inputs"]] == inputs and writes in k
    ]
    callback = app.callback_map[key]
    names = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = [{"id": n.split(".", 1)[0], "property": n.split(".", 1)[1]} for n in names]

    def filled(items: list) -> list:
        return [dict(item, value=values.get(f"{item['id']}.{item['property']}")) for item in items]

    payload = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": filled(callback["inputs"]),
        "state": filled(callback["state"]),
        "changedPropIds": [inputs[0]],
    }
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code in (200, 204), response.data[:500]
    return response.get_json() if response.status_code == 200 else {}


# -- (d) a job's progress does not outlive it ----------------------------------------------------------


def test_the_progress_text_is_cleared_when_a_forecast_starts_and_when_one_is_picked(ctx, runs):
    assert forecast_page.on_forecast_started(1) == ""
    app = create_app(ctx.scenarios_dir, ctx.results_dir, workers=1, actuals_dir=ctx.actuals_dir)
    cleared = [
        key
        for key, callback in app.callback_map.items()
        if f"{ids.FORECAST_PROGRESS}.children" in key
        and [i["id"] for i in callback["inputs"]] in ([ids.FORECAST_BUTTON], [ids.FORECAST_SCENARIO, ids.RUN_PICKER])
    ]
    assert len(cleared) == 2, cleared  # the button's click, and the page opening or the runs picked
    opened = _controls(ctx, _page_state(""))
    assert _controls(ctx, query_state("forecast", runs=runs["forecast"]), opened["set"])["progress"] == ""
    assert opened["progress"] == ""
