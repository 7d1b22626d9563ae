"""The dashboard cannot be used to take the machine down: tested against the server, without a browser.

Requests are made as the page's JavaScript makes them (``/_dash-update-component``), but with
values the page's controls would never send: a POST can ask for anything. A live server (started
with ``ctdild-sim dashboard``) checks the Host header, the job cap, the one-job rule and that the
page keeps answering while a job runs; the app's test client checks the rest.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dash
import psutil
import pytest

from ctdild_sim.runs.results import save_run
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario
from dashboard import create_app
from dashboard.data import DashboardError
from dashboard.jobs import JobSlot

from conftest import ROOT, SCENARIOS, cpu_seconds, gone, wait_until

BASE = "nct06574581.yaml"


def _callback_key(app, prefix: str) -> str:
    return next(k for k in app.callback_map if k.startswith(prefix))


def _payload(app, key: str, values: dict) -> dict:
    """The JSON the page posts for a callback, with ``values`` by ``id.property``."""
    callback = app.callback_map[key]
    names = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = [{"id": n.split(".", 1)[0], "property": n.split(".", 1)[1]} for n in names]

    def filled(items):
        return [dict(item, value=values.get(f"{item['id']}.{item['property']}")) for item in items]

    first = callback["inputs"][0]
    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": filled(callback["inputs"]),
        "state": filled(callback["state"]),
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def _text(response_json: dict) -> str:
    return json.dumps(response_json)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A scenarios folder (the shipped files, a link that leads outside it, a broken file) and a
    store with one good run and one damaged run."""
    root = tmp_path_factory.mktemp("dash")
    scenarios = root / "scenarios"
    scenarios.mkdir()
    for file in SCENARIOS.glob("*.yaml"):
        shutil.copy(file, scenarios / file.name)
    outside = root / "outside.yaml"
    outside.write_text((SCENARIOS / BASE).read_text())
    (scenarios / "escape.yaml").symlink_to(outside)
    (scenarios / "broken.yaml").write_text("extends: nct06574581.yaml\nname: broken\nsafety:\n  hold_day: 28\n")
    store = root / "results"
    scenario = load_scenario(SCENARIOS / BASE)
    ids = []
    for _ in range(2):
        tables = run_scenario(scenario, 6, seed=5, keep_events=6)
        ids.append(
            save_run(
                store,
                tables.with_summaries(scenario),
                scenario=scenario,
                scenario_file=SCENARIOS / BASE,
                scenario_text=(SCENARIOS / BASE).read_text(),
                seed=5,
                replicates=6,
                options={},
                command=["test"],
                started=dt.datetime.now(dt.UTC),
            ).name
        )
    (store / ids[1] / "metrics.parquet").write_bytes(b"not parquet at all")
    for name, manifest in (("name-not-text", '{"run_id": 1, "scenario_name": {"a": 1}}'), ("deep", "[" * 9000)):
        (store / name).mkdir()
        (store / name / "manifest.json").write_text(manifest)
    return scenarios, store, {"good": ids[0], "damaged": ids[1]}


@pytest.fixture(scope="module")
def app(folders):
    scenarios, store, _ = folders
    return create_app(scenarios, store, workers=1, max_replicates=500)


def _post(app, prefix: str, values: dict) -> dict:
    key = _callback_key(app, prefix)
    response = app.server.test_client().post("/_dash-update-component", json=_payload(app, key, values))
    assert response.status_code == 200, response.data[:500]
    return response.get_json()


def test_a_deeply_nested_request_is_a_400_not_a_recursion_error(app, caplog):
    """A callback body nested 100,000 deep was an HTTP 500 and a RecursionError in the log."""
    client = app.server.test_client()
    body = b'{"output": "x", "inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.data.decode() == "The request is nested 100,001 levels deep; the limit is 100.\n"
    assert "RecursionError" not in caplog.text and "Traceback" not in caplog.text
    text = '"' + "[" * 5000 + '"'  # brackets inside a string are text
    ok = client.post(
        "/_dash-update-component", data=b'{"output": ' + text.encode() + b"}", content_type="application/json"
    )
    assert ok.status_code != 400


def test_links_out_of_the_folder_are_not_offered(app, folders):
    data = _post(app, "..scenario-files.options", {"url.search": ""})
    offered = data["response"]["scenario-files"]["options"]
    assert BASE in offered and "broken.yaml" in offered and "escape.yaml" not in offered
    # runs whose manifests are not a run's are left out of the picker, not crashed on
    runs = {o["value"] for o in data["response"]["run-picker"]["options"]}
    assert runs == set(folders[2].values())


def test_messages_do_not_show_server_paths(app, folders):
    scenarios, store, _ = folders
    text = _text(_post(app, "page-view.children", {"page-query.data": {"page": "scenario", "file": "broken.yaml"}}))
    assert "safety.hold_day: unknown field" in text
    assert str(scenarios.parent) not in text and str(store) not in text
    text = _text(_post(app, "page-view.children", {"page-query.data": {"page": "scenario", "file": "escape.yaml"}}))
    assert "is not a scenario file in scenarios/" in text and str(scenarios) not in text


# fmt: off
FORECAST_REQUESTS = [
    ("forecast-records-status", {"forecast-scenario.value": {"a": 1}, "forecast-records.value": "x"}, "not dict"),
    ("forecast-records-status", {"forecast-scenario.value": BASE, "forecast-records.value": ["x"],
                                 "forecast-as-of.date": "2026-11-25"}, "Pick the trial's records"),
    ("forecast-records-status", {"forecast-scenario.value": BASE, "forecast-records.value": "../../etc",
                                 "forecast-as-of.date": "2026-11-25"}, "is not a records folder"),
    ("forecast-records-status", {"forecast-scenario.value": BASE, "forecast-records.value": "upload: x.zip",
                                 "forecast-upload-store.data": {"name": ["x"], "content": 5},
                                 "forecast-as-of.date": "2026-11-25"}, "no longer held by the page"),
    ("forecast-records-status", {"forecast-scenario.value": BASE, "forecast-records.value": "upload: x.zip",
                                 "forecast-upload-store.data": {"name": "x.zip", "content": "!!!"},
                                 "forecast-as-of.date": "2026-11-25"}, "x.zip: not a zip file"),
    ("forecast-records-status", {"forecast-scenario.value": BASE, "forecast-records.value": "upload: x.zip",
                                 "forecast-upload-store.data": {"name": "x.zip", "content": "UEs="},
                                 "forecast-as-of.date": 12}, "Pick the date the records are complete to"),
    ("..forecast-upload-store", {"forecast-upload.contents": 12, "forecast-upload.filename": ["x"]},
     "empty or larger than the limit"),
    ("..forecast-upload-store", {"forecast-upload.contents": "data:,UEs=", "forecast-upload.filename": "a.zip",
                                 "forecast-records.options": "not a list"}, "a.zip: not a zip file"),
]
# fmt: on


@pytest.mark.parametrize(
    ("prefix", "values", "expected"),
    [
        ("page-view", {"page-query.data": {"page": "timeline", "runs": [["a", "b"]]}}, "a list of run ids"),
        ("page-view", {"page-query.data": {"page": "timeline", "runs": "../../etc"}}, "a list of run ids"),
        ("page-view", {"page-query.data": {"page": "timeline", "runs": ["../x"]}}, "is not a run id"),
        ("page-view", {"page-query.data": {"page": "nowhere", "runs": []}}, "there is no page"),
        ("page-view", {"page-query.data": "not a mapping"}, "could not be read"),
        ("page-view", {"page-query.data": {"page": "scenario", "file": ["nct06574581.yaml"]}}, "not list"),
        ("page-view", {"page-query.data": {"page": "scenario", "file": {"a": 1}}}, "not dict"),
        ("..url.search", {"run-picker.value": "not a list", "url.search": "?runs=x"}, '"response": {}'),
        ("..upload-result", {"upload.contents": 12, "upload.filename": ["x"]}, "could not be decoded"),
        ("..upload-result", {"upload.contents": "data:,!!!", "upload.filename": "x.yaml"}, "the file is empty"),
        ("scenario-view", {"scenario-text.value": 5, "scenario-text-name.data": ["x"]}, "the scenario text is empty"),
        (
            "scenario-view",
            {"scenario-text.value": "name: x\n", "scenario-text-name.data": "../x.yaml"},
            "x (edited).yaml: start_date: required field",
        ),
        (
            "scenario-status",
            {"scenario-text.value": "name: x\n", "scenario-save-name.value": "../x.yaml"},
            "a new file name",
        ),
        (
            "scenario-status",
            {"scenario-text.value": "name: x\n", "scenario-save-name.value": BASE},
            "exists in scenarios/: pick a new name",
        ),
        (
            "scenario-status",
            {"scenario-text.value": "name: x\n", "scenario-save-name.value": "new.yaml"},
            "new.yaml: start_date: required field",
        ),
        *FORECAST_REQUESTS,
    ],
)
def test_malformed_requests_get_a_message_not_a_500(app, prefix, values, expected):
    assert expected in _text(_post(app, prefix, values))


def test_a_gantt_replicate_that_is_not_a_number_gets_a_message(app, folders):
    _, _, ids = folders
    text = _text(
        _post(app, "page-view", {"page-query.data": {"page": "timeline", "runs": [ids["good"]], "replicate": "abc"}})
    )
    assert "The Gantt replicate must be a whole number" in text


def test_a_damaged_run_shows_a_message_on_its_tab(app, folders):
    _, store, ids = folders
    for tab, picked in (
        ("timeline", [ids["damaged"]]),
        ("product", [ids["damaged"]]),
        ("screening", [ids["damaged"]]),
        ("compare", [ids["good"], ids["damaged"]]),
    ):
        text = _text(_post(app, "page-view", {"page-query.data": {"page": tab, "runs": picked}}))
        assert "cannot be read" in text and str(store) not in text, text[:300]


def test_a_damaged_run_s_export_is_a_message_not_an_error(folders, tmp_path):
    from dashboard import shell
    from dashboard.context import Context

    scenarios, store, ids = folders
    ctx = Context(scenarios, store, 1, 50, JobSlot(tmp_path / "job.lock"), os.getpid())
    download, message = shell.on_export(ctx, {"page": "timeline", "runs": [ids["damaged"]]}, "html")
    assert download is dash.no_update and "cannot be read" in message and str(store) not in message
    download, message = shell.on_steering_pack(ctx, [ids["damaged"]], "html")
    assert download is dash.no_update and "cannot be read" in message


def test_a_small_upload_of_deep_nesting_is_refused_fast(app):
    deep = b"[" * 5000 + b"]" * 5000
    contents = "data:application/x-yaml;base64," + base64.b64encode(deep).decode()
    started = time.monotonic()
    text = _text(_post(app, "..upload-result", {"upload.contents": contents, "upload.filename": "deep.yaml"}))
    assert "nested more than 32 levels deep" in text
    assert time.monotonic() - started < 10  # a hang guard: it takes a fraction of a second


def test_the_host_header_is_checked(folders):
    scenarios, store, _ = folders
    client = create_app(scenarios, store, allowed_hosts=["trial.example.org"]).server.test_client()
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 403
    assert client.get("/_dash-layout", headers={"Host": "attacker.test:8050"}).status_code == 403
    for host in ("localhost:8050", "127.0.0.1:8050", "[::1]:8050", "trial.example.org", "TRIAL.example.org:80"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host


# -- a live server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Live:
    """``ctdild-sim dashboard`` in a process of its own, spoken to over HTTP."""

    def __init__(self, scenarios: Path, store: Path, log: Path):
        self.port = _free_port()
        self.app = create_app(scenarios, store)  # the same layout: for the callbacks' keys only
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ctdild_sim",
                "dashboard",
                "--scenarios",
                str(scenarios),
                "--results",
                str(store),
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--max-replicates",
                "200000",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,  # a process group of its own, as a terminal gives it
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/")
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)

    def request(self, method: str, path: str, body: dict | None = None, host: str | None = None, timeout=10.0):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json", "Host": host or f"127.0.0.1:{self.port}"}
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()

    def get(self, path: str, host: str | None = None):
        return self.request("GET", path, host=host)

    def start_run(self, replicates: int) -> dict:
        key = _callback_key(self.app, "..run-picker.options@")
        body = _payload(
            self.app,
            key,
            {"run-button.n_clicks": 1, "scenario-files.value": [BASE], "replicates.value": replicates, "seed.value": 1},
        )
        status, data = self.request("POST", "/_dash-update-component", body)
        assert status == 200, data
        return {"body": body, **json.loads(data)}

    def result(self, job: dict, timeout: float = 60) -> str | None:
        """The job's status text once it is done; None while it runs (after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, data = self.request(
                "POST", f"/_dash-update-component?cacheKey={job['cacheKey']}&job={job['job']}", job["body"]
            )
            if status == 200 and b'"run-status"' in data:
                return json.loads(data)["response"]["run-status"]["children"]
            time.sleep(0.3)
        return None

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def live(folders, tmp_path):
    scenarios, _, _ = folders
    server = Live(scenarios, tmp_path / "results", tmp_path / "server.log")
    yield server
    server.close()


def test_live_server_refuses_other_hosts(live):
    assert live.get("/", host="rebound.attacker.test")[0] == 403
    assert live.get("/", host=f"localhost:{live.port}")[0] == 200


@pytest.mark.signals
@pytest.mark.slow
def test_live_server_caps_replicates_and_runs_one_job_at_a_time(live):
    assert "Replicates must be from 1 to 200,000 (got 10,000,000)" in live.result(live.start_run(10_000_000))
    big = live.start_run(200_000)  # minutes of work for one worker
    big_pid = int(big["job"].split("~")[0])
    wait_until(lambda: cpu_seconds(big_pid) > 1, "the job to simulate")
    # the page keeps answering while the job runs
    for _ in range(20):
        status, _ = live.request("GET", "/_dash-layout", timeout=10)
        assert status == 200
    second = live.result(live.start_run(5))
    assert "Another job is running (1 scenario run of 200,000 replicates" in second
    assert live.result(big, timeout=1) is None  # still running
    os.kill(big_pid, signal.SIGKILL)  # the job's own process: ending it frees the server's one slot
    wait_until(lambda: gone(big_pid), "the killed job to end")
    assert "Stored 1 run of 5 replicates" in live.result(live.start_run(5))


def test_thirty_identical_run_requests_at_once_are_all_answered(live):
    """Of 30 simultaneous run POSTs, 7 were never answered (identical requests shared one result,
    then jobs forked mid-SQLite waited for ever), and the log had diskcache Timeout tracebacks."""
    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda _: live.result(live.start_run(20), timeout=120), range(30)))
    assert all(a is not None for a in answers), f"{answers.count(None)} of 30 unanswered"
    stored = [a for a in answers if a.startswith("Stored 1 run of 20 replicates")]
    refused = [a for a in answers if a.startswith("Another job is running")]
    assert stored and len(stored) + len(refused) == 30, answers
    live.log.flush()
    assert "Traceback" not in Path(live.log.name).read_text()


def test_the_job_slot_is_released_however_the_job_ends(tmp_path):
    slot = JobSlot(tmp_path / "job.lock")
    with slot.hold("first"), pytest.raises(Exception, match=r"Another job is running \(first, started"):  # noqa: SIM117
        with slot.hold("second"):
            pass
    with slot.hold("third"):
        pass


@pytest.mark.signals
def test_ctrl_c_stops_the_dashboard_with_status_130(live):
    """The dashboard took Ctrl-C and exited 0, as if it had ended of itself."""
    live.proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    live.proc.wait(timeout=10)
    assert live.proc.returncode == 130 and time.monotonic() - started < 1.0
    live.log.flush()
    log = Path(live.log.name).read_text()
    assert "Traceback" not in log and log.rstrip().endswith("The dashboard stopped (Ctrl-C).")


def _status(pid: int) -> dict[str, str]:
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _records_check(live, upload: dict) -> dict:
    key = _callback_key(live.app, "forecast-records-status.children")
    values = {
        "forecast-scenario.value": BASE,
        "forecast-records.value": f"upload: {upload['name']}",
        "forecast-as-of.date": "2026-11-25",
        "forecast-upload-store.data": upload,
    }
    return _payload(live.app, key, values)


@pytest.mark.signals
@pytest.mark.slow
def test_costly_records_checks_leave_the_server_answering_and_its_memory_as_it_was(live):
    """Four checks of a costly upload at once ran in the server's threads: ~100 s each, the server
    grew from 157 to 677 MB and GET / took 6.75 s. They run in child processes now."""
    from test_dashboard_forecast import costly_records

    body = _records_check(live, costly_records())
    live.get("/")
    before = int(_status(live.proc.pid)["VmRSS"].split()[0]) / 1024
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        checks = [pool.submit(live.request, "POST", "/_dash-update-component", body, timeout=120) for _ in range(4)]
        assert live.get("/")[0] == 200  # while they run
        answers = [check.result() for check in checks]
    assert all(status == 200 and b"The records are valid as of 2026-11-25" in data for status, data in answers)
    peak = int(_status(live.proc.pid)["VmHWM"].split()[0]) / 1024
    assert peak - before < 60, (before, peak)
    # a Ctrl-C now also ends the fork server the checks came from, without a word
    helpers = _children(live.proc.pid)
    assert helpers
    live.proc.send_signal(signal.SIGINT)
    live.proc.wait(timeout=10)
    assert live.proc.returncode == 130
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in helpers)
    live.log.flush()
    assert "Traceback" not in Path(live.log.name).read_text()


@pytest.mark.signals
@pytest.mark.slow
def test_ctrl_c_at_the_terminal_stops_the_dashboard_and_its_job_without_a_traceback(live):
    """The terminal's Ctrl-C reaches the whole process group: a running job printed a
    KeyboardInterrupt traceback."""
    job = live.start_run(200_000)
    job_pid = int(job["job"].split("~")[0])
    wait_until(lambda: cpu_seconds(job_pid) > 1, "the job to simulate")
    assert live.result(job, timeout=1) is None  # it runs
    os.killpg(live.proc.pid, signal.SIGINT)
    started = time.monotonic()
    live.proc.wait(timeout=10)
    assert live.proc.returncode == 130 and time.monotonic() - started < 1.0
    deadline = time.monotonic() + 5
    while psutil.pid_exists(job_pid) and psutil.Process(job_pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the job outlived the dashboard"
        time.sleep(0.1)
    live.log.flush()
    log = Path(live.log.name).read_text()
    assert "Traceback" not in log and log.rstrip().endswith("The dashboard stopped (Ctrl-C).")


@pytest.mark.signals
@pytest.mark.slow
def test_a_job_ends_when_the_server_is_killed(live):
    job = live.start_run(200_000)
    job_pid = int(job["job"].split("~")[0])
    wait_until(lambda: cpu_seconds(job_pid) > 1, "the job to simulate")
    assert live.result(job, timeout=1) is None
    live.proc.kill()  # kill -9 of the server: no handler runs
    live.proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(job_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(job_pid, signal.SIGKILL)
    pytest.fail("the job outlived the server")


def test_an_upload_with_an_impossible_date_names_the_field(app):
    text = (SCENARIOS / BASE).read_text().replace("start_date: 2024-08-20", "start_date: 2024-13-01")
    contents = "data:application/x-yaml;base64," + base64.b64encode(text.encode()).decode()
    message = _text(_post(app, "..upload-result", {"upload.contents": contents, "upload.filename": "dated.yaml"}))
    assert "dated.yaml: start_date: Input should be a valid date" in message


def test_callbacks_are_plain_functions_a_test_can_call(folders, tmp_path):
    from dashboard import shell
    from dashboard.context import Context

    scenarios, store, ids = folders
    ctx = Context(
        scenarios, store, workers=1, max_replicates=50, jobs=JobSlot(tmp_path / "job.lock"), server_pid=os.getpid()
    )
    files, options, picked, status = shell.on_load(ctx, f"?runs={ids['good']},nope")
    assert BASE in files and picked == [ids["good"]] and len(options) == 2
    assert "The address names runs that are not in the results store: nope" in str(status)
    progress = []
    _, _, status = shell.on_run(ctx, progress.append, [BASE], 51, 1)
    assert status == "Replicates must be from 1 to 50 (got 51)" and progress == []
    with ctx.jobs.hold("a test's job"):
        _, _, status = shell.on_run(ctx, progress.append, [BASE], 5, 1)
    assert "Another job is running (a test's job" in status
    own_store = dataclasses.replace(ctx, results_dir=tmp_path / "results")  # leave the shared store as it is
    options, picked, status = shell.on_run(own_store, progress.append, [BASE], 3, 1)
    assert status.startswith("Stored 1 run of 3 replicates") and [o["value"] for o in options] == picked
    assert progress[-1][:2] == ("3", "3")


def test_a_job_is_bounded_in_all_not_per_file(folders, tmp_path):
    """A run POSTed with one file named 200 times and 20,000 replicates once started one job of
    4,000,000 replicates: a file counts once, a job runs at most 10 files and max_replicates in all."""
    from dashboard import shell
    from dashboard.context import Context
    from dashboard.data import load_runs

    scenarios, store, ids = folders
    ctx = Context(
        scenarios,
        tmp_path / "results",
        workers=1,
        max_replicates=50,
        jobs=JobSlot(tmp_path / "job.lock"),
        server_pid=os.getpid(),
    )
    progress = []
    _, picked, status = shell.on_run(ctx, progress.append, [BASE] * 200, 50, 1)
    assert status.startswith("Stored 1 run of 50 replicates") and len(picked) == 1
    others = sorted(p.name for p in scenarios.glob("*.yaml"))
    assert len(others) >= 2
    _, _, status = shell.on_run(ctx, progress.append, others[:2], 26, 1)
    assert (
        status == "A job runs at most 50 replicates in all: 2 files x 26 replicates is 52; pick fewer files or "
        "replicates."
    )
    many = [f"file{k}.yaml" for k in range(11)]
    _, _, status = shell.on_run(ctx, progress.append, many, 1, 1)
    assert status == "Pick at most 10 scenario files to run (11 were picked)."
    assert len(load_runs(store, [ids["good"]] * 50)) == 1
    with pytest.raises(DashboardError, match=r"Pick at most 10 runs \(11 were picked\)"):
        load_runs(store, [f"run{k}" for k in range(11)])


def test_page_links_keep_the_runs_and_mark_the_page_shown():
    from dashboard.shell import on_nav

    links = [{"type": "nav", "page": key} for key in ("timeline", "product", "scenario")]
    hrefs, classes = on_nav("?runs=A,B&replicate=3", "/product", links)
    assert hrefs == ["/?runs=A,B", "/product?runs=A,B", "/scenario?runs=A,B"]  # the replicate is the Timeline's own
    assert classes == ["nav-link nav-timeline", "nav-link nav-product nav-current", "nav-link nav-scenario"]
    hrefs, classes = on_nav(None, None, links)
    assert hrefs == ["/", "/product", "/scenario"] and classes[0].endswith("nav-current")


@pytest.mark.parametrize(("errno_code", "reason"), [(30, "Read-only file system"), (28, "No space left on device")])
def test_a_store_that_cannot_be_written_is_one_message_at_start(tmp_path, monkeypatch, errno_code, reason):
    """``dashboard --results`` on a read-only or full file system raised OSError (or SQLite's
    OperationalError from the job cache) with a traceback."""
    import tempfile

    from click.testing import CliRunner

    from ctdild_sim import cli

    def refused(*args, **kwargs):
        raise OSError(errno_code, os.strerror(errno_code))

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    result = CliRunner().invoke(cli.main, ["dashboard", "--scenarios", str(SCENARIOS), "--results", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == (
        f"--results: {tmp_path}: cannot be written ({reason}); the dashboard stores its "
        "runs there: pick a folder it can write with --results"
    )


def test_a_job_cache_that_cannot_be_opened_is_one_message_at_start(tmp_path, monkeypatch):
    import sqlite3

    from click.testing import CliRunner

    import dashboard
    from ctdild_sim import cli

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(dashboard, "create_app", locked)
    result = CliRunner().invoke(cli.main, ["dashboard", "--scenarios", str(SCENARIOS), "--results", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "the dashboard's job cache cannot be written there (database is locked)" in result.stderr


def test_the_job_cache_waits_for_a_busy_database_instead_of_giving_up(tmp_path):
    """A job whose result met SQLite's lock raised diskcache.core.Timeout and its request was never
    answered: the dashboard's cache waits."""
    import threading

    import diskcache

    from dashboard.app import PatientCache

    plain, patient = diskcache.Cache(str(tmp_path), timeout=0.05), PatientCache(str(tmp_path), timeout=0.05)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with diskcache.Cache(str(tmp_path), timeout=0.05).transact():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait(5)
    with pytest.raises(diskcache.Timeout):
        plain.set("result", 1)
    threading.Timer(0.3, release.set).start()
    assert patient.set("result", 2) is True and patient.get("result") == 2
    holder.join(5)


def _write_from_a_job(cache) -> None:
    cache.set("from the job", 1)


def test_a_job_forked_while_another_thread_writes_the_cache_can_still_write_it(tmp_path):
    """Dash forks the threaded server to start a job. Forked while another thread was inside an
    SQLite transaction, the job inherited SQLite's record of that thread's lock and waited for it
    for ever (1 to 4 of 30 simultaneous run requests were never answered)."""
    import multiprocessing
    import threading

    from dashboard.app import PatientCache

    cache = PatientCache(str(tmp_path))
    cache.set("warm", 0)  # this thread has its connection, as a request thread has
    writing, done = threading.Event(), threading.Event()

    def write_slowly() -> None:
        with cache.transact():
            writing.set()
            done.wait(0.5)
            cache.set("from the server", 1)

    writer = threading.Thread(target=write_slowly)
    writer.start()
    assert writing.wait(5)
    job = multiprocessing.get_context("fork").Process(target=_write_from_a_job, args=(cache,))
    job.start()  # as Dash starts a job, while the other thread is inside its transaction
    job.join(30)
    if job.exitcode is None:
        job.kill()
        job.join()
    done.set()
    writer.join(5)
    assert job.exitcode == 0 and cache.get("from the job") == 1 and cache.get("from the server") == 1


def test_a_callback_naming_a_component_no_page_has_fails_when_the_app_is_made(folders):
    """The app turned Dash's check of its callbacks' components off for every page: a misspelt id
    would only show as a page that never updates."""
    from dash import Input, Output

    from dashboard import ids
    from dashboard.app import WiringError, check_wiring

    scenarios, store, _ = folders
    app = create_app(scenarios, store)
    check_wiring(app)  # as made: every component it names exists
    assert app.config.suppress_callback_exceptions is False
    app.callback(Output("no-such-graph", "figure"), Input(ids.RUN_PICKER, "value"))(lambda value: None)
    with pytest.raises(WiringError, match="callbacks name components that no page has: no-such-graph"):
        check_wiring(app)
