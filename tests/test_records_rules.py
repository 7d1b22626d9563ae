"""The records' rules: every malformed or impossible record refused with its ``FILE:ROW:COLUMN:
problem`` line (exit 2, nothing written), every legal one accepted, the files matched by their exact
names, no symbolic link followed, the limits held, and a workbook read as a folder is."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from ctdild_sim.actuals import sources
from ctdild_sim.actuals.reader import ActualsError, read_actuals
from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.rows import FILES
from ctdild_sim.cli import main
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.runs.results import list_runs
from ctdild_sim.scenario.loading import load_scenario

from conftest import BASE_SCENARIO, EXAMPLE

AS_OF = dt.date(2026, 11, 25)
SCENARIO = load_scenario(BASE_SCENARIO)


# -- editing a copy of the example folder -----------------------------------------------------------


def _rows(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _save(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def edit(name: str, where: dict, /, **changes):
    """Set ``changes`` on the row(s) of ``name`` matching ``where`` (one at least)."""

    def change(folder: Path) -> None:
        header, rows = _rows(folder / name)
        hits = [r for r in rows if all(r[k] == str(v) for k, v in where.items())]
        assert hits, (name, where)
        for row in hits:
            row.update({k: str(v) for k, v in changes.items()})
        _save(folder / name, header, rows)

    return change


def add(name: str, /, **row):
    def change(folder: Path) -> None:
        header, rows = _rows(folder / name)
        rows.append({k: str(row.get(k, "")) for k in header})
        _save(folder / name, header, rows)

    return change


def drop(name: str, where: dict):
    def change(folder: Path) -> None:
        header, rows = _rows(folder / name)
        kept = [r for r in rows if not all(r[k] == str(v) for k, v in where.items())]
        assert len(kept) < len(rows), (name, where)
        _save(folder / name, header, kept)

    return change


def replace_text(name: str, old: str, new: str):
    def change(folder: Path) -> None:
        text = (folder / name).read_text()
        assert old in text, (name, old)
        (folder / name).write_text(text.replace(old, new, 1))

    return change


def write_file(name: str, content: bytes):
    return lambda folder: (folder / name).write_bytes(content)


def both(*changes):
    def change(folder: Path) -> None:
        for c in changes:
            c(folder)

    return change


def copy_example(tmp_path: Path, change=None) -> Path:
    folder = tmp_path / "records"
    shutil.copytree(EXAMPLE, folder)
    if change is not None:
        change(folder)
    return folder


def forecast(folder: Path, tmp_path: Path):
    store, out = tmp_path / "results", tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "forecast",
            str(BASE_SCENARIO),
            "--actuals",
            str(folder),
            "--as-of",
            str(AS_OF),
            "-n",
            "2",
            "--no-lot-plan",
            "--results",
            str(store),
            "--out",
            str(out),
            "--quiet",
        ],
    )
    return result, store, out


def assert_refused(tmp_path: Path, folder: Path, file: str, line: int | None, column: str | None, problem: str):
    result, store, out = forecast(folder, tmp_path)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    where = f"{folder / file}" + (f":{line}" if line else "") + (f":{column}" if column else "")
    assert f"{where}: {problem}" in result.stderr, result.stderr
    assert not store.exists() and not out.exists()


# -- malformed rows ---------------------------------------------------------------------------------

# fmt: off
MALFORMED = [
    # (id, change, file, line, column, problem)
    ("unknown-column", replace_text("subjects.csv", "body_weight_kg", "weight"), "subjects.csv", 1, "weight",
     "unknown column; did you mean 'body_weight_kg'?"),
    ("missing-column", replace_text("subjects.csv", "subject_id,cohort,", "cohort,"), "subjects.csv", 1, None,
     "missing column subject_id"),
    ("bad-date", edit("subjects.csv", {"subject_id": 2}, enrolled_on="2024-13-20"), "subjects.csv", 2,
     "enrolled_on", "Input should be a valid date"),
    ("future-date", edit("infusions.csv", {"subject_id": 23, "infusion": 2}, discharged_on="2026-12-15"),
     "infusions.csv", 12, "discharged_on", "2026-12-15 is after the as-of date 2026-11-25"),
    ("before-start", edit("sites.csv", {"site": "CMUH"}, activated_on="2024-01-01"), "sites.csv", 2, "activated_on",
     "2024-01-01 is before the study's start 2024-08-20"),
    ("infusion-before-enrolment", edit("infusions.csv", {"subject_id": 2}, admitted_on="2024-12-05"),
     "infusions.csv", 2, "admitted_on", "2024-12-05 is before the subject's enrolment (2024-12-20)"),
    ("unknown-criterion", edit("screening.csv", {"candidate_id": 1}, failed_criteria="I2_ild_pathwy"),
     "screening.csv", 2, "failed_criteria", "unknown criterion 'I2_ild_pathwy'; did you mean 'I2_ild_pathway'?"),
    ("unknown-site", edit("screening.csv", {"candidate_id": 1}, site="CMHU"), "screening.csv", 2, "site",
     "unknown site 'CMHU'; did you mean 'CMUH'?"),
    ("unknown-ae", edit("adverse_events.csv", {"subject_id": 6}, name="transient_fevre"), "adverse_events.csv", 2,
     "name", "unknown AE kind 'transient_fevre'; did you mean 'transient_fever'?"),
    ("unknown-lot", edit("infusions.csv", {"subject_id": 3}, lot_id=9), "infusions.csv", 3, "lot_id",
     "no lot 9 in lots.csv"),
    ("lot-over-used", edit("lots.csv", {"lot_id": 1}, vials=4, vials_used=4, vials_expired=0), "lots.csv", 2,
     "vials_used", "infusions.csv takes 6 vials from lot 1; vials_used says 4"),
    ("lot-counts-exceed-vials", edit("lots.csv", {"lot_id": 1}, vials_discarded=3), "lots.csv", 2, None,
     "vials_used + vials_discarded + vials_expired (=19) exceed the lot's 16 vials"),
    ("duplicate-subject", edit("subjects.csv", {"subject_id": 3}, subject_id=2), "subjects.csv", 3, "subject_id",
     "2 is listed again (first on line 2)"),
    ("duplicate-lot", edit("lots.csv", {"lot_id": 2}, lot_id=1), "lots.csv", 3, "lot_id",
     "1 is listed again (first on line 2)"),
    ("empty-file", write_file("reviews.csv", b""), "reviews.csv", 1, None, "empty file"),
    ("non-utf8", write_file("sites.csv", "site,activated_on\nCMUH\xe9,2024-09-19\n".encode("latin-1")),
     "sites.csv", None, None, "not UTF-8 text (byte 22 cannot be decoded)"),
    ("binary", write_file("sites.csv", b"site,activated_on\n\x00\x01\x02\n"), "sites.csv", None, None,
     "not a text file (it holds NUL bytes)"),
    ("wrong-cell-count", replace_text("sites.csv", "CMUH,2024-09-19", "CMUH,2024-09-19,extra"), "sites.csv", 2, None,
     "3 cells where the header names 2 columns"),
    ("subject-without-screening", edit("screening.csv", {"candidate_id": 2}, enrolled_on=""), "subjects.csv", 2,
     "subject_id", "no passed screening of candidate 2 in screening.csv leads to this enrolment"),
    ("too-many-infusions", edit("infusions.csv", {"subject_id": 3}, infusion=2), "infusions.csv", 3, "infusion",
     "infusion 2: cohort 1 gives 1"),
    ("criteria-unknown-many-times", edit("screening.csv", {"candidate_id": 1}, failed_criteria="x;" * 500 + "y;z;w"),
     "screening.csv", 2, "failed_criteria", "unknown criteria 'x', 'y', 'z' and 1 more"),
    ("criterion-named-twice", edit("screening.csv", {"candidate_id": 1},
                                   failed_criteria="I2_ild_pathway;I1_age;I2_ild_pathway"),
     "screening.csv", 2, "failed_criteria", "'I2_ild_pathway' is named 2 times; name each criterion once"),
    ("header-of-41-columns", write_file("sites.csv", ("site,activated_on" + ",x" * 39 + "\n").encode()),
     "sites.csv", 1, None, "more than 40 columns"),
    ("failed-without-criteria", edit("screening.csv", {"candidate_id": 1}, failed_criteria=""), "screening.csv", 2,
     "failed_criteria", "a failed screening names the criteria it failed"),
    ("status-without-day", edit("subjects.csv", {"subject_id": 2}, status_on=""), "subjects.csv", 2, "status_on",
     "a subject who is completed needs the day it happened"),
    ("unknown-file", write_file("subject.csv", b"subject_id\n1\n"), "subject.csv", None, None,
     "not a records file; did you mean 'subjects.csv'? (names are exact)"),
    ("bad-boolean", edit("adverse_events.csv", {"subject_id": 6}, triggers_review="perhaps"), "adverse_events.csv",
     2, "triggers_review", "must be true or false (got 'perhaps')"),
]
# fmt: on


def test_every_problem_of_a_folder_is_reported_at_once(tmp_path):
    cases = {m[0]: m for m in MALFORMED}
    chosen = ("unknown-column", "bad-boolean", "failed-without-criteria", "wrong-cell-count")
    folder = copy_example(tmp_path, both(*(cases[c][1] for c in chosen)))
    with pytest.raises(ActualsError) as caught:
        read_actuals(folder, SCENARIO, AS_OF)
    assert len(caught.value.problems) == len(chosen)
    for case in chosen:
        assert any(cases[case][5] in problem for problem in caught.value.problems), case


# -- impossible records: each refused with its exact message ----------------------------------------

STOP = edit("reviews.csv", {"subject_id": 23}, outcome="stop")
DIED = {"status": "died"}

# fmt: off
IMPOSSIBLE = [
    ("infusion-from-an-expired-lot", edit("infusions.csv", {"subject_id": 23, "infusion": 1}, lot_id=2),
     "infusions.csv", 11, "lot_id", "lot 2 expired on 2026-03-30, before the infusion on 2026-10-16"),
    ("completed-with-1-of-2-infusions", drop("infusions.csv", {"subject_id": 8, "infusion": 2}), "subjects.csv", 5,
     "status", "completed with 1 of the 2 infusions of cohort 2"),
    ("completed-before-the-infusion", edit("subjects.csv", {"subject_id": 2}, status_on="2025-01-01"),
     "infusions.csv", 2, "admitted_on", "2025-01-05 is after the subject completed (2025-01-01)"),
    ("completed-before-the-hold-ended", edit("subjects.csv", {"subject_id": 2}, status_on="2025-01-20"),
     "subjects.csv", 2, "status_on", "2025-01-20: completed before the safety hold after the last infusion ended "
     "(2025-02-02)"),
    ("completed-with-no-infusions", both(drop("infusions.csv", {"subject_id": 23}),
                                        edit("subjects.csv", {"subject_id": 23}, status="completed",
                                             status_on="2026-11-20")),
     "subjects.csv", 8, "status", "completed with 0 of the 2 infusions of cohort 2"),
    ("ae-after-death", edit("subjects.csv", {"subject_id": 23}, status="died", status_on="2026-10-20"),
     "adverse_events.csv", 4, "onset_on", "2026-10-28 is after the subject died (2026-10-20)"),
    ("discharge-after-death", edit("subjects.csv", {"subject_id": 23}, status="died", status_on="2026-11-14"),
     "infusions.csv", 12, "discharged_on", "2026-11-15 is after the subject died (2026-11-14)"),
    ("infusion-after-a-stop", STOP, "infusions.csv", 12, "admitted_on",
     "2026-11-13 is after the safety review that stopped the trial on 2026-11-06"),
    ("lot-expiring-before-its-fill", edit("lots.csv", {"lot_id": 4}, expires_on="2026-07-01"), "lots.csv", 5,
     "expires_on", "2026-07-01 is not after the lot's fill (2026-07-17)"),
    ("expiry-in-year-0001", edit("lots.csv", {"lot_id": 4}, expires_on="0001-01-01"), "lots.csv", 5, "expires_on",
     "0001-01-01 is not a plausible date (years 1900 to 2199)"),
    ("expiry-in-year-9999", edit("lots.csv", {"lot_id": 4}, expires_on="9999-01-01"), "lots.csv", 5, "expires_on",
     "9999-01-01 is not a plausible date (years 1900 to 2199)"),
    ("expiry-decades-after-the-fill", edit("lots.csv", {"lot_id": 4}, expires_on="2100-01-01"), "lots.csv", 5,
     "expires_on", "2100-01-01 is more than 10 years after the lot's fill (2026-07-17)"),
    ("date-in-year-0001", edit("sites.csv", {"site": "CMUH"}, activated_on="0001-01-01"), "sites.csv", 2,
     "activated_on", "0001-01-01 is not a plausible date (years 1900 to 2199)"),
    ("date-before-the-start", edit("sites.csv", {"site": "CMUH"}, activated_on="1990-01-01"), "sites.csv", 2,
     "activated_on", "1990-01-01 is before the study's start 2024-08-20"),
    ("initial-fill-decades-before-the-start", edit("lots.csv", {"lot_id": 1}, started_on="1990-01-01",
                                                   filled_on="1990-01-01", expires_on="1991-01-01"),
     "lots.csv", 2, "filled_on", "1990-01-01 is more than 10 years before the study's start 2024-08-20"),
    ("infusion-in-year-9999-of-a-completed-subject", edit("infusions.csv", {"subject_id": 2, "infusion": 1},
                                                          admitted_on="9999-12-31", infused_on="9999-12-31",
                                                          discharged_on="9999-12-31"),
     "infusions.csv", 2, "infused_on", "9999-12-31 is not a plausible date (years 1900 to 2199)"),
    ("fill-in-year-9999", edit("lots.csv", {"lot_id": 4}, filled_on="9999-12-30", expires_on="9999-12-31"),
     "lots.csv", 5, "filled_on", "9999-12-30 is not a plausible date (years 1900 to 2199)"),
    ("body-weight-1e-300", edit("subjects.csv", {"subject_id": 2}, body_weight_kg="1e-300"), "subjects.csv", 2,
     "body_weight_kg", "Input should be greater than or equal to 20"),
    ("vials-used-1e12", add("lots.csv", lot_id=5, initial_stock="false", ordered_on="2026-11-01",
                            vials_used="1000000000000"),
     "lots.csv", 6, "vials_used", "Input should be less than or equal to 100000"),
    ("vials-used-on-an-unfilled-lot", add("lots.csv", lot_id=5, initial_stock="false", ordered_on="2026-11-01",
                                          vials_used=5),
     "lots.csv", 6, "vials_used", "the lot has no vials (vials is empty: not filled)"),
    ("site-activated-after-its-referrals", edit("sites.csv", {"site": "CMUH"}, activated_on="2024-11-10"),
     "sites.csv", 2, "activated_on", "2024-11-10 is after the site's first referral"),
    ("enrolment-after-the-screen-expired", both(edit("screening.csv", {"candidate_id": 2}, enrolled_on="2025-02-15"),
                                                edit("subjects.csv", {"subject_id": 2}, enrolled_on="2025-02-15")),
     "screening.csv", 3, "enrolled_on", "2025-02-15 is after the passed screen expired (2025-01-31: screened_on plus "
     "screening.window_days)"),
    ("yes-as-a-boolean", edit("adverse_events.csv", {"subject_id": 6}, triggers_review="yes"), "adverse_events.csv",
     2, "triggers_review", "must be true or false (got 'yes')"),
    ("one-as-a-boolean", edit("lots.csv", {"lot_id": 1}, initial_stock="1"), "lots.csv", 2, "initial_stock",
     "must be true or false (got '1')"),
    ("file-name-in-capitals", lambda folder: (folder / "sites.csv").rename(folder / "SITES.CSV"), "SITES.CSV", None,
     None, "not a records file; did you mean 'sites.csv'? (names are exact)"),
    ("initial-lot-expired-before-the-start", edit("lots.csv", {"lot_id": 1}, expires_on="2024-08-01"), "lots.csv",
     2, "expires_on", "2024-08-01: an initial-stock lot is in stock, unexpired, on the study's start day (2024-08-20)"),
    ("initial-lot-with-an-order-day", edit("lots.csv", {"lot_id": 1}, ordered_on="2024-06-01"), "lots.csv", 2,
     "ordered_on", "an initial-stock lot was in stock before the study; it has no order day"),
    ("filled-lot-without-a-campaign", edit("lots.csv", {"lot_id": 2}, started_on=""), "lots.csv", 3, "started_on",
     "a filled lot's campaign started (started_on is empty)"),
    ("expired-vials-before-the-expiry", edit("lots.csv", {"lot_id": 4}, vials_expired=3, vials_used=4), "lots.csv",
     5, "vials_expired", "3, but the lot expires on 2027-07-17, after the as-of date"),
    ("failed-lot-with-used-vials", edit("lots.csv", {"lot_id": 3}, released_on="", failed_on="2025-09-05",
                                        vials_expired=0, vials_used=2),
     "lots.csv", 4, "vials_used", "a lot that failed QC was destroyed; none of its vials were used, discarded or "
     "expired"),
    ("triggering-ae-without-its-review", drop("reviews.csv", {"subject_id": 23}), "adverse_events.csv", 4,
     "triggers_review", "true, but reviews.csv has no review of subject 23 opened on 2026-10-28"),
    ("review-without-its-ae", add("reviews.csv", opened_on="2025-07-01", closed_on="2025-07-05", outcome="resume",
                                  subject_id=8),
     "reviews.csv", 3, "opened_on", "no AE of subject 8 that triggers a review (adverse_events.csv), nor their "
     "death, on 2025-07-01"),
    ("admitted-before-the-last-discharge", edit("infusions.csv", {"subject_id": 8, "infusion": 2},
                                                admitted_on="2025-07-01"),
     "infusions.csv", 6, "admitted_on", "2025-07-01 is before the discharge after infusion 1 (2025-07-02)"),
    ("admitted-while-in-hospital", edit("infusions.csv", {"subject_id": 8, "infusion": 1}, discharged_on=""),
     "infusions.csv", 6, "admitted_on", "infusion 1 (line 5) has no discharge: a subject still in hospital is not "
     "admitted again"),
    ("completed-while-in-hospital", edit("infusions.csv", {"subject_id": 2}, discharged_on=""), "infusions.csv", 2,
     "discharged_on", "empty (still in hospital), but the subject completed on 2025-06-22"),
    ("screened-again-after-failing", add("screening.csv", candidate_id=1, site="CMUH", referred_on="2024-11-06",
                                         screening_started_on="2024-12-01", screened_on="2024-12-10",
                                         outcome="passed"),
     "screening.csv", 27, "candidate_id", "candidate 1 is screened again after a screening failed there (line 2): "
     "only a passed screen is redone"),
    ("rescreen-before-the-decision", both(
        add("screening.csv", candidate_id=26, site="CMUH", referred_on="2026-10-01", screened_on="2026-10-10",
            outcome="passed"),
        add("screening.csv", candidate_id=26, site="CMUH", referred_on="2026-10-01",
            screening_started_on="2026-10-05")),
     "screening.csv", 28, "screening_started_on", "2026-10-05 is before the decision of the screening it redoes "
     "(line 27: 2026-10-10)"),
    ("id-beyond-the-limit", edit("screening.csv", {"candidate_id": 1}, candidate_id=10**10), "screening.csv", 2,
     "candidate_id", "Input should be less than or equal to 999999999"),
    ("rescreen-whose-default-start-follows-its-decision", both(
        add("screening.csv", candidate_id=30, site="CMUH", referred_on="2026-10-20", screened_on="2026-11-01",
            outcome="passed"),
        add("screening.csv", candidate_id=30, site="CMUH", referred_on="2026-10-20", screened_on="2026-11-20",
            outcome="failed", failed_criteria="I2_ild_pathway")),
     "screening.csv", 28, "screening_started_on", "empty, so the rescreen started when the screen passed on "
     "2026-11-01 expired (2026-12-13), after its own decision: give the day it started"),
    ("rescreen-whose-default-start-follows-the-as-of-date", both(
        add("screening.csv", candidate_id=30, site="CMUH", referred_on="2026-10-20", screened_on="2026-11-01",
            outcome="passed"),
        add("screening.csv", candidate_id=30, site="CMUH", referred_on="2026-10-20")),
     "screening.csv", 28, "screening_started_on", "empty, so the rescreen started when the screen passed on "
     "2026-11-01 expired (2026-12-13), after the as-of date: give the day it started"),
    ("subject-rescreened-after-the-first-admission", add("screening.csv", candidate_id=23, site="CMUH",
                                                         referred_on="2026-09-30", screening_started_on="2026-10-20",
                                                         screened_on="2026-10-30", outcome="passed"),
     "screening.csv", 27, "screening_started_on", "a rescreen of subject 23 after their first admission "
     "(2026-10-16): only a subject waiting for their first dose is rescreened"),
    ("referral-after-a-stop", both(STOP, add("screening.csv", candidate_id=26, site="CMUH", referred_on="2026-11-10")),
     "screening.csv", 27, "referred_on", "2026-11-10 is after the safety review that stopped the trial on "
     "2026-11-06"),
]
# fmt: on


@pytest.mark.parametrize(
    ("case", "change", "file", "line", "column", "problem"),
    MALFORMED + IMPOSSIBLE,
    ids=[m[0] for m in MALFORMED + IMPOSSIBLE],
)
def test_malformed_and_impossible_records_are_refused_with_file_row_column_and_problem(
    tmp_path, case, change, file, line, column, problem
):
    assert_refused(tmp_path, copy_example(tmp_path, change), file, line, column, problem)


def test_a_symbolic_link_is_refused_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("site,activated_on\nTOP-SECRET-LINE,2024-09-19\n")
    folder = copy_example(tmp_path)
    (folder / "sites.csv").unlink()
    (folder / "sites.csv").symlink_to(secret)
    assert_refused(
        tmp_path, folder, "sites.csv", None, None, "a symbolic link; records are read from regular files only"
    )
    result, _, _ = forecast(folder, tmp_path)
    assert "TOP-SECRET" not in result.output


# -- legal records: accepted, and read as the README says ------------------------------------------


def _history(folder: Path):
    return read_records(folder, SCENARIO, AS_OF).observed.history


def test_a_rescreen_while_the_passed_screen_is_still_valid_is_accepted(tmp_path):
    """Candidate 26 passed on 2026-10-10 and was rescreened on 2026-10-20, within the 42-day window
    (the replay this replaced failed on it with a KeyError)."""
    folder = copy_example(
        tmp_path,
        both(
            add(
                "screening.csv",
                candidate_id=26,
                site="CMUH",
                referred_on="2026-10-01",
                screened_on="2026-10-10",
                outcome="passed",
            ),
            add(
                "screening.csv",
                candidate_id=26,
                site="CMUH",
                referred_on="2026-10-01",
                screening_started_on="2026-10-20",
                screened_on="2026-11-01",
                outcome="passed",
            ),
        ),
    )
    result, _, _ = forecast(folder, tmp_path)
    assert result.exit_code == 0, result.output
    rows = [(e.event, e.day) for e in _history(folder) if e.patient_id == 26]
    day = SCENARIO.day_of
    assert rows == [
        ("referred", day(dt.date(2026, 10, 1))),
        ("screen_passed", day(dt.date(2026, 10, 10))),
        ("screen_passed", day(dt.date(2026, 11, 1))),
    ]


def test_a_folder_without_lots_is_the_scenarios_initial_stock(tmp_path):
    folder = copy_example(tmp_path, lambda f: (f / "lots.csv").unlink())
    result, _, _ = forecast(folder, tmp_path)
    assert result.exit_code == 0, result.output
    records = read_records(folder, SCENARIO, AS_OF)
    assert not records.observed.lots_recorded
    assert any("could not come from the scenario's initial stock" in w for w in records.warnings)


def test_large_ids_are_labels(tmp_path):
    folder = copy_example(tmp_path, edit("screening.csv", {"candidate_id": 25}, candidate_id=30000))
    result, _, _ = forecast(folder, tmp_path)
    assert result.exit_code == 0, result.output
    records = read_records(folder, SCENARIO, AS_OF)
    assert records.trace.next_candidate_id == 30001


@pytest.mark.parametrize("text", ["TRUE", "True", "true"])
def test_booleans_are_true_or_false_in_any_case(tmp_path, text):
    folder = copy_example(tmp_path, edit("adverse_events.csv", {"subject_id": 23}, triggers_review=text))
    assert read_actuals(folder, SCENARIO, AS_OF).rows("adverse_events.csv")[2].triggers_review is True


def test_other_files_are_passed_over(tmp_path):
    folder = copy_example(tmp_path, both(write_file("notes.txt", b"anything"), write_file("README.md", b"# notes")))
    read_actuals(folder, SCENARIO, AS_OF)


def test_a_message_lists_the_first_200_problems_and_counts_them_all(tmp_path):
    header, rows = _rows(EXAMPLE / "screening.csv")
    folder = copy_example(tmp_path, write_file("screening.csv", b""))
    _save(folder / "screening.csv", header, [{**row, "site": "Nowhere"} for row in rows] * 20)
    with pytest.raises(ActualsError) as refused:
        read_actuals(folder, SCENARIO, AS_OF)
    lines = str(refused.value).splitlines()
    assert len(refused.value.problems) > 500 and len(lines) == 201
    assert lines[-1] == f"... the first 200 of {len(refused.value.problems):,} problems"


def test_a_folder_with_no_records_files_is_refused(tmp_path):
    """Most likely the wrong folder; a trial with nothing recorded yet gives the files' headers."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.md").write_text("# notes")
    result, store, _ = forecast(folder, tmp_path)
    assert result.exit_code == 2 and f"{folder}: no records files (sites.csv, screening.csv, ...)" in result.stderr
    assert not store.exists()
    (folder / "sites.csv").write_text("site,activated_on\n")
    assert read_actuals(folder, SCENARIO, AS_OF).tables == {"sites.csv": []}


# -- limits -----------------------------------------------------------------------------------------


def test_a_table_past_the_row_limit_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_ROWS", 20)
    assert_refused(
        tmp_path, copy_example(tmp_path), "screening.csv", None, None, "more than 20 rows; the limit is 20 a table"
    )


def test_a_file_past_the_size_limit_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 1000)
    assert_refused(tmp_path, copy_example(tmp_path), "screening.csv", None, None, "larger than 0 MB; the limit is 0 MB")


def test_counts_of_the_records_in_the_history(tmp_path):
    """Every row becomes an observed event: the history's counts against counts made straight from
    the CSV files."""
    folder = copy_example(tmp_path)
    history = Counter(e.event for e in _history(folder))

    def count(name: str, **where) -> int:
        _, rows = _rows(folder / name)
        return sum(1 for r in rows if all(r[k] == v for k, v in where.items()))

    assert history["referred"] == len({r["candidate_id"] for r in _rows(folder / "screening.csv")[1]})
    assert history["screen_failed"] == count("screening.csv", outcome="failed")
    assert history["screen_passed"] == count("screening.csv", outcome="passed")
    assert history["enrolled"] == count("subjects.csv")
    assert history["infused"] == history["admitted"] == count("infusions.csv")
    assert history["discharged"] == sum(1 for r in _rows(folder / "infusions.csv")[1] if r["discharged_on"])
    assert history["adverse_event"] == count("adverse_events.csv")
    assert history["review_opened"] == count("reviews.csv")
    assert history["follow_up_completed"] == count("subjects.csv", status="completed")
    assert history["lot_released"] == sum(1 for r in _rows(folder / "lots.csv")[1] if r["released_on"])
    assert history["lot_ordered"] == sum(1 for r in _rows(folder / "lots.csv")[1] if r["ordered_on"])


# -- one workbook as well as a folder ----------------------------------------------------------------


def _template(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "records.xlsx"
    result = CliRunner().invoke(main, ["actuals", str(BASE_SCENARIO), "--template", str(path)])
    assert result.exit_code == 0, result.output
    return path


def fill(template: Path, folder: Path, target: Path) -> Path:
    """The template filled with a folder's records, typed as a coordinator's Excel holds them
    (dates as dates, numbers as numbers, booleans as booleans)."""
    book = load_workbook(template)
    for sheet_name, file_name in sources.SHEETS.items():
        if not (folder / file_name).exists():
            continue
        sheet = book[sheet_name]
        header = [cell.value for cell in sheet[1]]
        for r, row in enumerate(_rows(folder / file_name)[1], start=2):
            for k, column in enumerate(header, start=1):
                value = row.get(column, "")
                if value == "":
                    continue
                if column.endswith("_on"):
                    value = dt.date.fromisoformat(value)
                elif value in ("true", "false"):
                    value = value == "true"
                else:
                    for kind in (int, float):
                        try:
                            value = kind(value)
                            break
                        except ValueError:
                            pass
                sheet.cell(r, k, value)
    book.save(target)
    return target


def test_the_template_describes_every_column_and_lists_the_names(tmp_path):
    book = load_workbook(_template(tmp_path))
    assert book.sheetnames == ["README", "Lists", *sources.SHEETS]
    assert book["Lists"].sheet_state == "hidden"
    lists = {
        book["Lists"].cell(1, k).value: [c.value for c in col[1:] if c.value is not None]
        for k, col in enumerate(book["Lists"].iter_cols(), start=1)
    }
    assert lists["site"] == ["CMUH"] and lists["name"] == ["transient_fever", "serious_possibly_related"]
    assert lists["boolean"] == ["true", "false"] and "I2_ild_pathway" in lists["failed_criteria"]
    assert lists["status"] == ["ongoing", "completed", "withdrawn", "died", "lost"]
    for sheet_name, file_name in sources.SHEETS.items():
        sheet = book[sheet_name]
        model = FILES[file_name]
        assert [c.value for c in sheet[1]] == list(model.model_fields)
        for cell in sheet[1]:
            assert cell.comment is not None and model.model_fields[cell.value].description in cell.comment.text
    validations = {
        (str(v.sqref).split(":")[0], v.formula1) for v in book["adverse_events"].data_validations.dataValidation
    }
    assert ("C2", "Lists!$E$2:$E$3") in validations and ("D2", "Lists!$G$2:$G$3") in validations
    infusions = {str(v.sqref).split(":")[0]: v.type for v in book["infusions"].data_validations.dataValidation}
    assert infusions["C2"] == infusions["D2"] == infusions["E2"] == "date"  # optional dates too (discharged_on)
    screening = {str(v.sqref).split(":")[0]: v for v in book["screening"].data_validations.dataValidation}
    assert screening["G2"].showErrorMessage is False  # several criteria go in one cell
    assert screening["B2"].showErrorMessage is True


def test_the_template_is_never_written_over_a_file(tmp_path):
    path = _template(tmp_path)
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["actuals", "--template", str(path)])
    assert result.exit_code == 2 and "exists: a template is never written over a file" in result.stderr
    assert path.read_bytes() == before
    result = CliRunner().invoke(main, ["actuals", "--template", str(tmp_path / "records.xls")])
    assert result.exit_code == 2 and "an Excel workbook's name ends in .xlsx" in result.stderr


def test_a_filled_workbook_reads_as_its_folder(tmp_path):
    book = fill(_template(tmp_path), EXAMPLE, tmp_path / "trial.xlsx")
    from_book, from_folder = read_records(book, SCENARIO, AS_OF), read_records(EXAMPLE, SCENARIO, AS_OF)
    assert from_book.observed.history == from_folder.observed.history
    a, b = from_book.trace, from_folder.trace
    assert (a.referrals, a.lots, a.activated, a.restart_day) == (b.referrals, b.lots, b.activated, b.restart_day)

    def infusions(trace) -> dict:  # where each row is aside
        return {k: [replace(i, source="") for i in s.infusions] for k, s in trace.subjects.items()}

    assert infusions(a) == infusions(b)
    assert a.subjects[23].source == f"{book}:subjects:8"  # messages name the sheet and its row
    assert list(from_book.actuals.sha256) == ["trial.xlsx"]
    result, _, _ = forecast(book, tmp_path)
    assert result.exit_code == 0, result.output


def test_a_workbooks_problems_name_the_sheet_row_and_column(tmp_path):
    path = fill(_template(tmp_path), EXAMPLE, tmp_path / "trial.xlsx")
    book = load_workbook(path)
    book["adverse_events"]["D2"] = "yes"
    book["sites"]["B2"] = "=TODAY()"
    book.create_sheet("Subject")
    book.save(path)
    result, store, out = forecast(path, tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    for line in (
        f"{path}:adverse_events:2:triggers_review: must be true or false (got 'yes')",
        f"{path}:sites:2:activated_on: a formula; records hold values (paste the values)",
        f"{path}:Subject: not a records sheet; did you mean 'subjects'? (names are exact)",
    ):
        assert line in result.stderr, result.stderr
    assert not store.exists() and not out.exists()
    path = fill(_template(tmp_path / "b"), EXAMPLE, tmp_path / "other.xlsx")
    book = load_workbook(path)
    book["subjects"]["B3"] = 9  # the cohort of subject 3
    book.save(path)
    result, _, _ = forecast(path, tmp_path / "c")
    assert result.exit_code == 2 and f"{path}:subjects:3:cohort: cohort 9: the scenario has 3" in result.stderr


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ('<c r="A2" t="n"><v>abc</v></c>', "invalid literal for int() with base 10: 'abc'"),
        ('<c r="A2" t="b"><v>x</v></c>', "invalid literal for int() with base 10: 'x'"),
        ('<c r="A2" t="s"><v>9999</v></c>', "list index out of range"),
        ('<c r="A2"><v>1</v></c></row></sheetData>', "mismatched tag"),
    ],
)
def test_a_damaged_sheet_is_refused_by_name(tmp_path, broken, reason):
    """openpyxl fails on a damaged cell only as it reads the rows: the sheet is named, no traceback."""
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(_template(tmp_path)) as src, zipfile.ZipFile(damaged, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name.startswith("xl/worksheets/sheet"):  # every sheet gets the damaged row
                text = data.decode()
                cut = text.index("</row>") + len("</row>")
                data = (text[:cut] + f'<row r="2">{broken}</row>' + text[cut:]).encode()
            out.writestr(name, data)
    result, _, _ = forecast(damaged, tmp_path)
    assert result.exit_code == 2, result.output
    assert f"{damaged}:" in result.stderr and "not a readable sheet (" in result.stderr and reason in result.stderr
    assert "Traceback" not in result.stderr


def _rewrite_sheet(book: Path, target: Path, sheet_name: str, change) -> Path:
    """A copy of ``book`` with ``change`` applied to the XML of the sheet named ``sheet_name``."""
    loaded = load_workbook(book, read_only=True)
    position = loaded.sheetnames.index(sheet_name) + 1
    loaded.close()
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(target, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name == f"xl/worksheets/sheet{position}.xml":
                data = change(data.decode()).encode()
            out.writestr(name, data)
    return target


def test_every_row_of_a_sheet_is_read_whatever_its_dimension_claims(tmp_path):
    """A sheet's <dimension> may be stale (rows past it were silently dropped) or claim the whole
    sheet (every row was padded to 16,384 cells): the rows the sheet holds are read, all of them."""
    book = fill(_template(tmp_path), EXAMPLE, tmp_path / "trial.xlsx")
    far = '<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'

    def stale(xml: str) -> str:
        return re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:B2"/>', xml).replace("</sheetData>", far)

    path = _rewrite_sheet(book, tmp_path / "stale.xlsx", "subjects", stale)
    with pytest.raises(ActualsError) as refused:
        read_actuals(path, SCENARIO, AS_OF)
    assert f"{path}:subjects:1000000:subject_id: Input should be a valid integer" in str(refused.value)

    def claims_all(xml: str) -> str:
        return re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', xml)

    whole = _rewrite_sheet(book, tmp_path / "whole.xlsx", "subjects", claims_all)
    assert len(read_actuals(whole, SCENARIO, AS_OF).tables["subjects.csv"]) == 7


def test_a_workbooks_shared_strings_are_bounded(tmp_path, monkeypatch):
    """openpyxl holds every shared string in memory (5 million tiny ones took 610 MB): their part is
    refused past its limit before anything is parsed."""
    book = fill(_template(tmp_path), EXAMPLE, tmp_path / "trial.xlsx")
    with zipfile.ZipFile(book, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", "<sst>" + "<si><t>a</t></si>" * 100 + "</sst>")
    monkeypatch.setattr(sources, "MAX_SHARED_STRINGS_BYTES", 1000)
    with pytest.raises(ActualsError, match=r"its shared strings unpack to more than"):
        read_actuals(book, SCENARIO, AS_OF)


def test_a_workbook_that_is_not_one_is_refused(tmp_path):
    fake = tmp_path / "records.xlsx"
    fake.write_bytes(b"not a workbook")
    result, _, _ = forecast(fake, tmp_path)
    assert result.exit_code == 2 and f"{fake}: not an .xlsx workbook (it is not a zip file)" in result.stderr
    old = tmp_path / "records.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    result, _, _ = forecast(old, tmp_path / "d")
    assert (
        result.exit_code == 2 and f"{old}: not an .xlsx workbook (save it as an Excel .xlsx workbook)" in result.stderr
    )


# -- what the protocol forbids but a trial may have done: kept, and reported ----------------------

# fmt: off
DEVIATIONS = [
    ("dosed-in-a-pause", edit("reviews.csv", {"subject_id": 23}, closed_on="2026-11-20"),
     "infusions.csv:12:admitted_on: protocol deviation: subject 23 was admitted for infusion 2 on 2026-11-13, "
     "during the safety pause that began on 2026-10-28"),
    ("a-serious-ae-opening-no-review", both(drop("reviews.csv", {"subject_id": 23}),
                                           edit("adverse_events.csv", {"subject_id": 23}, triggers_review="false")),
     "adverse_events.csv:4:triggers_review: protocol deviation: subject 23's serious_possibly_related on 2026-10-28 "
     "opened no safety review; the protocol opens one for it (safety.adverse_events: triggers_review)"),
    ("enrolled-before-the-gate", both(
        add("screening.csv", candidate_id=26, site="CMUH", referred_on="2025-03-02", screened_on="2025-03-10",
            outcome="passed", enrolled_on="2025-03-12"),
        add("subjects.csv", subject_id=26, cohort=2, enrolled_on="2025-03-12", status="withdrawn",
            status_on="2025-03-20")),
     "subjects.csv:9:cohort: protocol deviation: subject 26 was enrolled into cohort 2 on 2025-03-12, before cohort "
     "1's gate passed"),
]
# fmt: on


@pytest.mark.parametrize(("case", "change", "warning"), DEVIATIONS, ids=[d[0] for d in DEVIATIONS])
def test_a_record_the_protocol_forbids_is_kept_and_reported_as_a_deviation(tmp_path, case, change, warning):
    folder = copy_example(tmp_path, change)
    result, store, _ = forecast(folder, tmp_path)
    assert result.exit_code == 0, result.output
    assert f"{folder}/{warning}" in " ".join(result.stdout.split()), result.stdout[:2000]
    [run] = list_runs(store)
    assert f"{folder}/{warning}" in run.manifest["warnings"]


# -- what the engine makes of unusual records -------------------------------------------------------


def _same_history_for_every_seed(records, seeds=range(4)) -> None:
    """Nothing drawn happens before the restart: every replicate's rows before it are the history."""
    for seed in seeds:
        result = run_replicate(SCENARIO, seed, 0, records.trace)
        assert result.events[: result.observed_rows] == list(records.observed.history), seed


@pytest.mark.parametrize(
    "change",
    [
        edit("subjects.csv", {"subject_id": 23}, body_weight_kg=""),
        both(
            edit("subjects.csv", {"subject_id": 3}, body_weight_kg=""),
            edit("infusions.csv", {"subject_id": 3}, vials=""),
        ),
        lambda folder: (folder / "lots.csv").unlink(),
    ],
    ids=["no-weight", "no-weight-nor-vials", "no-lots"],
)
def test_records_that_leave_something_open_still_give_one_history(tmp_path, change):
    records = read_records(copy_example(tmp_path, change), SCENARIO, AS_OF)
    _same_history_for_every_seed(records)


def test_a_cohort_enrolled_beyond_its_slots_ahead_of_its_gate_still_passes_it(tmp_path):
    """Two more subjects in cohort 2, enrolled, dosed and through their hold before cohort 1's gate
    passed (deviations): cohort 2 settles more subjects than its slots; its gate passes (it once waited
    for settled == slots for ever, and every replicate ran to the horizon)."""
    folder = copy_example(
        tmp_path,
        both(
            edit("subjects.csv", {"subject_id": 6}, status_on="2026-08-21"),
            edit(
                "infusions.csv",
                {"subject_id": 6},
                admitted_on="2026-03-01",
                infused_on="2026-03-01",
                discharged_on="2026-03-04",
                lot_id=2,
            ),
            edit("lots.csv", {"lot_id": 1}, vials_used=12, vials_expired=4),
            edit("lots.csv", {"lot_id": 2}, vials_used=14, vials_expired=0),
            *[
                add(
                    "screening.csv",
                    candidate_id=c,
                    site="CMUH",
                    referred_on="2025-04-01",
                    screened_on="2025-04-10",
                    outcome="passed",
                    enrolled_on="2025-04-10",
                )
                for c in (100, 101)
            ],
            *[
                add(
                    "subjects.csv",
                    subject_id=c,
                    cohort=2,
                    enrolled_on="2025-04-10",
                    body_weight_kg=60,
                    status="completed",
                    status_on="2025-10-30",
                )
                for c in (100, 101)
            ],
            *[
                add(
                    "infusions.csv",
                    subject_id=c,
                    infusion=k + 1,
                    admitted_on=day,
                    infused_on=day,
                    discharged_on=day.replace("-1", "-2", 1)[:8] + str(int(day[8:]) + 2).zfill(2),
                    lot_id=1,
                    vials=2,
                )
                for c, days in ((100, ("2025-04-15", "2025-05-13")), (101, ("2025-04-18", "2025-05-16")))
                for k, day in enumerate(days)
            ],
        ),
    )
    records = read_records(folder, SCENARIO, AS_OF)
    assert any("before cohort 1's gate passed" in w for w in records.warnings)
    gates = [e.cohort for e in records.observed.history if e.event == "gate_passed"]
    assert gates == [1, 2]
    for seed in range(3):
        assert run_replicate(SCENARIO, seed, 0, records.trace).outcome == "completed", seed


def test_a_subject_the_records_keep_on_study_completes_from_the_restart(tmp_path):
    """Subject 13's last visit was due on 2026-05-03, but the records still say ongoing: the history
    has the visits, not a completion the records do not hold; the subject completes at the restart."""
    folder = copy_example(tmp_path, edit("subjects.csv", {"subject_id": 13}, status="ongoing", status_on=""))
    records = read_records(folder, SCENARIO, AS_OF)
    mine = [e.event for e in records.observed.history if e.patient_id == 13]
    assert "visit" in mine and "follow_up_completed" not in mine
    result = run_replicate(SCENARIO, 1, 0, records.trace)
    [done] = [e.day for e in result.events if e.patient_id == 13 and e.event == "follow_up_completed"]
    assert done == records.restart_day


@pytest.mark.parametrize("released_on", ["2024-08-01", ""])
def test_an_initial_lot_released_before_the_start_or_with_no_release_day_is_in_stock_from_it(tmp_path, released_on):
    folder = copy_example(tmp_path, edit("lots.csv", {"lot_id": 1}, released_on=released_on))
    records = read_records(folder, SCENARIO, AS_OF)
    assert [lot.released_day for lot in records.observed.lots if lot.lot_id == 1] == [0.0]


def test_a_workbook_row_with_an_empty_first_cell_keeps_its_number(tmp_path):
    """Body weight first: an empty weight is an empty first cell, which a read-only sheet yields
    without a row number (messages once said row None)."""
    path = fill(_template(tmp_path), EXAMPLE, tmp_path / "trial.xlsx")
    book = load_workbook(path)
    sheet = book["subjects"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    order = [3, 0, 1, 2, 4, 5]  # body_weight_kg, subject_id, cohort, enrolled_on, status, status_on
    for r, row in enumerate(rows, start=1):
        for c, k in enumerate(order, start=1):
            cell = sheet.cell(r, c, row[k])
            cell.number_format = "yyyy-mm-dd" if isinstance(row[k], dt.date) else "General"
    sheet["A3"], sheet["C3"] = None, 9  # subject 3: no weight, cohort 9
    book.save(path)
    result, _, _ = forecast(path, tmp_path / "run")
    assert f"{path}:subjects:3:cohort: cohort 9: the scenario has 3" in result.stderr, result.stderr


def test_a_header_cell_with_no_name_is_named_by_its_place(tmp_path):
    folder = copy_example(tmp_path, replace_text("sites.csv", "site,activated_on", "site,,activated_on"))
    assert_refused(tmp_path, folder, "sites.csv", 1, None, "column 2 has no name (the first row names every column)")
