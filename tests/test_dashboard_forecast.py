"""The Forecast tab without a browser: records uploaded as a zip (limits, layout, the CLI's
messages, nothing written), the callbacks as plain functions, the view of a stored forecast, and
the weekly progress bands it draws."""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import datetime as dt
import io
import json
import multiprocessing
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from dash import no_update

from ctdild_sim.actuals.archive import MAX_UNPACKED_BYTES, MAX_ZIP_BYTES, unpack_zip
from ctdild_sim.actuals.reader import ActualsError, as_of_hint, latest_record_date, read_actuals
from ctdild_sim.actuals.records import read_records
from ctdild_sim.analysis.bands import PROGRESS_MEASURES
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.studies.forecast import forecast
from ctdild_sim.views.forecast import forecast_view
from dashboard import running, shell
from dashboard.bounded import BoundedChecks, CheckBudget
from dashboard.context import Context
from dashboard.data import UPLOADED, DashboardError, load_runs, records_source
from dashboard.jobs import JobSlot
from dashboard.pages import forecast as forecast_page

from conftest import BASE_SCENARIO, SCENARIOS

EXAMPLE_NAME = "nct06574581-2026-11-25"
EXAMPLE = SCENARIOS / "actuals" / EXAMPLE_NAME
AS_OF = dt.date(2026, 11, 25)
BASE = "nct06574581.yaml"


def zip_bytes(files: dict[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _damaged(content: bytes, name: bytes, patch: bytes, offset: int) -> bytes:
    """``content`` with ``patch`` written ``offset`` bytes after the local header's file ``name``
    (0: the entry's first compressed bytes; minus its length: the name itself, flagged UTF-8)."""
    at = content.index(name) + len(name) + offset
    damaged = content[:at] + patch + content[at + len(patch) :]
    if offset < 0:  # bit 11 of the local header's flags: the name is UTF-8
        flags = content.index(b"PK\x03\x04") + 6
        damaged = damaged[: flags + 1] + bytes([damaged[flags + 1] | 0x08]) + damaged[flags + 2 :]
    return damaged


def example_files(folder: str = "") -> dict[str, bytes]:
    return {f"{folder}{p.name}": p.read_bytes() for p in sorted(EXAMPLE.glob("*.csv"))}


def data_url(content: bytes) -> str:
    return "data:application/zip;base64," + base64.b64encode(content).decode()


# -- a zip of records ----------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["", f"{EXAMPLE_NAME}/"])
def test_a_zip_of_records_reads_as_the_folder_does(folder):
    scenario = load_scenario(BASE_SCENARIO)
    extra = {f"{folder}README.md": b"notes", "__MACOSX/._subjects.csv": b"\x00", f"{folder}.DS_Store": b"\x00"}
    records = unpack_zip("records.zip", zip_bytes({**example_files(folder), **extra}))
    assert sorted(records.files) == sorted(p.name for p in EXAMPLE.glob("*.csv"))
    from_zip, from_folder = read_records(records, scenario, AS_OF), read_records(EXAMPLE, scenario, AS_OF)
    assert from_zip.actuals.sha256 == from_folder.actuals.sha256
    assert from_zip.observed.history == from_folder.observed.history


# fmt: off
BAD_ZIPS = [
    ("not-a-zip", b"PK but not really a zip", "not a zip file"),
    ("too-big", b"\x00" * (MAX_ZIP_BYTES + 1), f"the limit is {MAX_ZIP_BYTES:,} bytes"),
    ("bomb", zip_bytes({"subjects.csv": b"0" * (MAX_UNPACKED_BYTES + 10)}), "unpacks to more than 20 MB"),
    ("deep", zip_bytes({"a/b/subjects.csv": b"x"}), "a/b/subjects.csv: the records' CSV files go at the zip's top"),
    ("two-folders", zip_bytes({"a/subjects.csv": b"x", "b/sites.csv": b"y"}), "go at the zip's top level or in one"),
    ("escape", zip_bytes({"../subjects.csv": b"x"}), "../subjects.csv: the records' CSV files go at"),
    ("empty", zip_bytes({"README.md": b"nothing here"}), "no CSV files of records in the zip"),
    ("bzip2", zip_bytes({"sites.csv": b"site,activated_on\n"}, zipfile.ZIP_BZIP2),
     "sites.csv: compressed with bzip2; zip it with the usual compression (deflate)"),
    ("lzma", zip_bytes({"sites.csv": b"site,activated_on\n"}, zipfile.ZIP_LZMA), "sites.csv: compressed with LZMA"),
    ("corrupt-deflate", _damaged(zip_bytes({"sites.csv": b"site,activated_on\n" * 50}), b"sites.csv", b"\xff" * 8, 0),
     "sites.csv: cannot be unpacked ("),
    ("undecodable-local-name", _damaged(zip_bytes({"sites.csv": b"site\n"}), b"sites.csv", b"\xff", -9),
     "sites.csv: cannot be unpacked ("),
]
# fmt: on


@pytest.mark.parametrize(("case", "content", "problem"), BAD_ZIPS, ids=[b[0] for b in BAD_ZIPS])
def test_a_bad_zip_is_refused_with_its_name_and_the_problem(case, content, problem):
    with pytest.raises(ActualsError) as caught:
        unpack_zip(f"{case}.zip", content)
    assert str(caught.value).startswith(f"{case}.zip") and problem in str(caught.value), str(caught.value)


def test_a_zip_holding_a_file_twice_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("sites.csv", "site,activated_on\n")
        archive.writestr("sites.csv", "site,activated_on\n")
    with pytest.raises(ActualsError, match=r"sites\.csv is in the zip twice"):
        unpack_zip("twice.zip", buffer.getvalue())


def test_records_in_a_zip_get_the_clis_messages_with_the_zips_name():
    files = example_files()
    files["subjects.csv"] = files["subjects.csv"].replace(b"2024-12-20", b"2024-13-20")
    files["subject.csv"] = b"subject_id\n1\n"
    records = unpack_zip("mine.zip", zip_bytes(files))
    with pytest.raises(ActualsError) as caught:
        read_actuals(records, load_scenario(BASE_SCENARIO), AS_OF)
    message = str(caught.value)
    assert "mine.zip/subjects.csv:2:enrolled_on: Input should be a valid date" in message
    assert "mine.zip/subject.csv: not a records file; did you mean 'subjects.csv'? (names are exact)" in message


def test_the_as_of_date_is_guessed_from_the_name_else_the_last_recorded_day():
    assert as_of_hint(EXAMPLE) == AS_OF
    assert latest_record_date(EXAMPLE) == dt.date(2026, 11, 15)  # a discharge; lot expiries are not events
    assert as_of_hint(unpack_zip("export.zip", zip_bytes(example_files()))) == dt.date(2026, 11, 15)


# -- the callbacks ---------------------------------------------------------------------------------


@pytest.fixture
def ctx(tmp_path):
    scenarios, store, actuals = tmp_path / "scenarios", tmp_path / "results", tmp_path / "actuals"
    scenarios.mkdir()
    shutil.copy(BASE_SCENARIO, scenarios / BASE)
    shutil.copytree(EXAMPLE, actuals / EXAMPLE_NAME)
    (actuals / "not-records").mkdir()  # no CSV files: not offered
    return Context(
        scenarios,
        store,
        workers=1,
        max_replicates=60,
        jobs=JobSlot(tmp_path / "job.lock"),
        server_pid=os.getpid(),
        actuals_dir=actuals,
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_pickers_offer_the_scenario_files_and_the_records_folders(ctx):
    files, records, scenario, choice, today, *_ = forecast_page.on_controls(ctx, [], {"page": "forecast", "runs": []})
    assert files == [BASE] and records == [EXAMPLE_NAME] and today == dt.date.today().isoformat()
    assert scenario is None and choice is None
    assert forecast_page.on_records_picked(ctx, EXAMPLE_NAME, None) == "2026-11-25"
    with pytest.raises(DashboardError, match="is not a records folder"):
        records_source(ctx.actuals_dir, "../actuals", None)


def test_a_bad_upload_changes_nothing_but_the_message(ctx):
    before = _files(ctx.actuals_dir.parent)
    store, options, value, message = forecast_page.on_records_upload(
        ctx, data_url(b"not a zip"), "bad.zip", [EXAMPLE_NAME]
    )
    assert (store, options, value) == (no_update, no_update, no_update)
    assert "bad.zip: not a zip file" in str(message)
    *_, message = forecast_page.on_records_upload(ctx, data_url(zip_bytes(example_files())), "records.xlsx", [])
    assert "records.xlsx: not a readable .xlsx workbook" in str(message)
    *_, message = forecast_page.on_records_upload(ctx, data_url(b"%PDF-1.4"), "records.pdf", [])
    assert "records.pdf: neither a zip file nor an .xlsx workbook" in str(message)
    assert _files(ctx.actuals_dir.parent) == before


def test_an_uploaded_zip_is_checked_against_the_scenario_and_forecast_from(ctx):
    files = example_files()
    files["subjects.csv"] = files["subjects.csv"].replace(b"2024-12-20", b"2024-13-20")
    store, options, value, _ = forecast_page.on_records_upload(
        ctx, data_url(zip_bytes(files)), "faulty.zip", [EXAMPLE_NAME, f"{UPLOADED}old.zip"]
    )
    assert value == f"{UPLOADED}faulty.zip" and options == [EXAMPLE_NAME, value] and store["name"] == "faulty.zip"
    status = str(forecast_page.on_records_check(ctx, BASE, value, "2026-11-25", store))
    assert "faulty.zip/subjects.csv:2:enrolled_on: Input should be a valid date" in status
    _, status = forecast_page.on_forecast(ctx, lambda _: None, BASE, value, store, "2026-11-25", ["learn"], 10, 1)
    assert "faulty.zip/subjects.csv:2:enrolled_on" in str(status) and not ctx.results_dir.exists()
    store, _, value, _ = forecast_page.on_records_upload(
        ctx, data_url(zip_bytes(example_files(f"{EXAMPLE_NAME}/"))), "good.zip", [EXAMPLE_NAME]
    )
    assert "The records are valid as of 2026-11-25" in str(
        forecast_page.on_records_check(ctx, BASE, value, "2026-11-25", store)
    )
    made, status = forecast_page.on_forecast(ctx, lambda _: None, BASE, value, store, "2026-11-25", [], 8, 3)
    options, picked = running.on_stored(ctx, made)
    assert status.startswith("Stored forecast") and picked == [made] == [o["value"] for o in options]
    run = load_runs(ctx.results_dir, picked)[0]
    assert run.manifest["actuals_folder"] == f"{UPLOADED}good.zip" and run.manifest["learning"] is False
    assert "assumptions" not in run.tables  # learning was off


@pytest.mark.parametrize(
    ("as_of", "replicates", "problem"),
    [
        ("2023-01-01", 5, "before the study's start 2024-08-20"),
        ("2026-13-01", 5, "is not a date"),
        (None, 5, "Pick the date the records are complete to"),
        ("2026-11-14", 5, "2026-11-15 is after the as-of date 2026-11-14"),
        ("2026-11-25", 61, "Replicates must be from 1 to 60 (got 61)"),
        ("2050-01-01", 5, "past the scenario's horizon"),
    ],
)
def test_a_forecast_asked_for_wrongly_gets_a_message_and_writes_nothing(ctx, as_of, replicates, problem):
    _, status = forecast_page.on_forecast(
        ctx, lambda _: None, BASE, EXAMPLE_NAME, None, as_of, ["learn"], replicates, 1
    )
    assert problem in str(status) and not ctx.results_dir.exists()


def test_one_forecast_job_at_a_time(ctx):
    with ctx.jobs.hold("a test's job"):
        _, status = forecast_page.on_forecast(ctx, lambda _: None, BASE, EXAMPLE_NAME, None, "2026-11-25", [], 5, 1)
    assert "Another job is running (a test's job" in str(status)


# -- the records check's budget ----------------------------------------------------------------------
# Four costly checks in the server's threads once took ~100 s each, grew the server from 157 to
# 677 MB, slowed GET / to 6.75 s, and a 47 kB zip of bad rows made a 112 MB response.


def costly_records(rows: int = 19_000, bad: bool = False) -> dict:
    """The example with ``rows`` candidates added to its screening table (still in screening, or
    failing a criterion nobody has heard of), as the page holds an upload."""
    files = example_files()
    first = dt.date(2024, 9, 20)
    added = (
        f"{100 + k},CMUH,{first + dt.timedelta(days=k % 790)},,"
        + (f"{first + dt.timedelta(days=k % 790)},failed,unknown_criterion_{k},\n" if bad else ",,,\n")
        for k in range(rows)
    )
    files["screening.csv"] += "".join(added).encode()
    return {"name": "costly.zip", "content": base64.b64encode(zip_bytes(files)).decode()}


def _budgeted(ctx, **budget):
    return dataclasses.replace(ctx, checks=BoundedChecks(CheckBudget(**budget)))


def test_records_are_read_in_a_process_of_their_own(ctx):
    assert ctx.checks.run(os.getpid) != os.getpid()
    assert "The records are valid as of 2026-11-25: 1 row in sites.csv, 19,025 rows in screening.csv" in str(
        forecast_page.on_records_check(ctx, BASE, f"{UPLOADED}costly.zip", "2026-11-25", costly_records())
    )


def test_a_records_check_past_its_time_is_stopped_with_a_message(ctx):
    status = str(
        forecast_page.on_records_check(
            _budgeted(ctx, seconds=0.3), BASE, f"{UPLOADED}costly.zip", "2026-11-25", costly_records()
        )
    )
    assert "Checking the records took longer than 0.3 s, the dashboard's limit for one check" in status
    assert "ctdild-sim forecast SCENARIO --actuals RECORDS" in status


def test_a_records_check_past_its_memory_is_stopped_with_a_message(ctx):
    status = str(
        forecast_page.on_records_check(
            _budgeted(ctx, megabytes=20), BASE, f"{UPLOADED}costly.zip", "2026-11-25", costly_records()
        )
    )
    assert "Checking the records needed more than 20 MB, the dashboard's limit for one check" in status
    with pytest.raises(DashboardError, match="needed more than 20 MB"):  # one large allocation: refused at once
        _budgeted(ctx, megabytes=20).checks.run(bytearray, 100 * 2**20)


@pytest.mark.slow
def test_the_problems_of_bad_records_are_the_first_200_of_them(ctx):
    status = forecast_page.on_records_check(ctx, BASE, f"{UPLOADED}costly.zip", "2026-11-25", costly_records(bad=True))
    lines = status.children.splitlines()
    assert len(lines) == 201 and lines[-1] == "... the first 200 of 19,000 problems"
    assert lines[0].startswith("costly.zip/screening.csv:27:failed_criteria: unknown criterion 'unknown_criterion_0'")
    assert len(json.dumps(status.to_plotly_json(), default=str)) < 100_000


def _wait_for(started, release) -> str:
    started.set()
    release.wait(30)
    return "released"


def test_checks_beyond_those_running_at_once_wait_then_are_told_to_try_again(ctx):
    budgeted = _budgeted(ctx, at_once=1, wait_seconds=0.2)
    events = multiprocessing.get_context("forkserver")
    started, release = events.Event(), events.Event()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(budgeted.checks.run, _wait_for, started, release)
        assert started.wait(30)
        status = str(forecast_page.on_records_check(budgeted, BASE, EXAMPLE_NAME, "2026-11-25", None))
        release.set()
        assert first.result(30) == "released"
    assert "The server is already checking 1 sets of records, the most it checks at once; try again" in status
    assert "The records are valid" in str(
        forecast_page.on_records_check(budgeted, BASE, EXAMPLE_NAME, "2026-11-25", None)
    )


# -- the view ----------------------------------------------------------------------------------------


def test_the_forecast_view_of_a_stored_forecast(ctx):
    progress = []
    made, status = forecast_page.on_forecast(
        ctx, progress.append, BASE, EXAMPLE_NAME, None, "2026-11-25", ["learn"], 30, 2
    )
    picked = [made]
    assert status.startswith("Stored forecast") and progress
    view = forecast_page.view(ctx, {"runs": picked})
    assert [key.split("-NCT")[0] for key, _ in view.figures] == ["progress", "forecast-milestones"]
    titles = " | ".join(title for title, _ in view.tables)
    for part in (
        "milestones (observed or forecast)",
        "against the plan",
        "prior against posterior",
        "stock on 2026-11-25",
        "lots still to start",
        "product from 2026-11-25",
    ):
        assert part in titles, part
    notes = " ".join(view.notes)
    assert f"forecast as of 2026-11-25: from the records {EXAMPLE_NAME}, with assumptions learned" in notes
    progress_fig = view.figures[0][1]
    observed = [t for t in progress_fig.data if t.name == "the records"]
    assert len(observed) == len(PROGRESS_MEASURES) and max(observed[0].y) == 25  # referrals in the records
    stock = dict(view.tables)[f"NCT06574581 base, forecast as of {AS_OF}: stock on {AS_OF}, lot by lot"]
    assert list(stock["status"]) == ["expired", "expired", "expired", "released"]  # lots.csv of the example
    assert list(stock["on_hand"]) == [0, 0, 0, 24] and stock["days_to_expiry"].iloc[-1] == 234
    # a run that is not a forecast is not drawn here, and says so
    plain = shell.on_run(ctx, lambda _: None, [BASE], 4, 1)[1]
    mixed = forecast_page.view(ctx, {"runs": picked + plain})
    assert "1 of the picked runs are not forecasts" in " ".join(mixed.notes) and len(mixed.figures) == 2
    assert "Pick a forecast run above" in " ".join(forecast_view([]).notes)


# -- progress bands ------------------------------------------------------------------------------------


def test_progress_bands_are_the_quantiles_of_every_replicates_counts():
    scenario = load_scenario(BASE_SCENARIO)
    tables = run_scenario(scenario, 40, 11, progress=True, keep_events=40, workers=2, chunk_size=7)
    bands = tables.progress.table()
    events = tables.events
    weeks = bands["end_day"].to_numpy()
    for measure in PROGRESS_MEASURES:
        counts = np.stack(
            [
                np.searchsorted(np.sort(g.loc[g["event"] == measure, "day"].to_numpy()), weeks, side="left")
                for _, g in events.groupby("replicate")
            ]
        )
        for q in (10, 50, 90):
            exact = np.quantile(counts, q / 100, axis=0, method="inverted_cdf")
            assert np.array_equal(bands[f"{measure}_p{q}"].to_numpy(), exact), (measure, q)
        assert np.allclose(bands[f"mean_{measure}"], counts.mean(axis=0))
    one = run_scenario(scenario, 40, 11, progress=True, keep_events=0, workers=1).progress.table()
    assert one.equals(bands)  # however the replicates were split


def test_a_forecasts_progress_before_the_as_of_date_is_the_records():
    scenario = load_scenario(BASE_SCENARIO)
    made = forecast(scenario, EXAMPLE, AS_OF, 20, 4, workers=1)
    bands, observed = dict(made.output_tables())["progress_weekly"], made.observed_progress()
    before = bands[bands["end_day"] <= made.restart_day - 1]
    for measure in PROGRESS_MEASURES:
        at_week_end = np.searchsorted(observed["day"].to_numpy(), before["end_day"].to_numpy(), side="left") - 1
        recorded = observed[measure].to_numpy()[at_week_end]
        for q in (10, 50, 90):
            assert np.array_equal(before[f"{measure}_p{q}"].to_numpy(), recorded), (measure, q)
    assert observed.iloc[-1][list(PROGRESS_MEASURES)].tolist() == [25, 7, 11]
