"""Backtests: the records cut at each date (nothing later read: every later row poisoned), the
scores against closed forms, the dates, and the command."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from ctdild_sim.actuals.cut import records_as_of
from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.sdtm_files import read_sdtm_folder
from ctdild_sim.actuals.sdtm_map import map_sdtm
from ctdild_sim.analysis.scores import covered, crps, interval_score
from ctdild_sim.cli import main
from ctdild_sim.learning.posterior import learn
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.studies.backtest import Period, backtest, backtest_dates, coverage_summary

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from pilot_sdtm import pilot_frames, write_domains

BASE = load_scenario(ROOT / "scenarios" / "nct06574581.yaml")
PILOT = load_scenario(ROOT / "scenarios" / "cdiscpilot01.yaml")
EXAMPLE = ROOT / "scenarios" / "actuals" / "nct06574581-2026-11-25"


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# -- nothing after the cut is read ------------------------------------------------------------------

LATER = dt.timedelta(days=9)


def _poison_records(folder: Path, cut: dt.date) -> None:
    """Every cell of the records dated after ``cut`` moved later, and every undated cell of a row
    (or a step) that began after it changed: what a backtest as of ``cut`` must not see."""

    def later(value: object) -> object:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            return value
        return (day + LATER).isoformat() if day > cut else value

    def after(row: pd.Series, column: str) -> bool:
        value = row.get(column)
        return isinstance(value, str) and bool(value) and dt.date.fromisoformat(value) > cut

    changes = {
        "screening.csv": ("screened_on", {"outcome": "failed", "failed_criteria": "E1_no_consent", "enrolled_on": ""}),
        "subjects.csv": ("status_on", {"status": "died"}),
        "infusions.csv": ("infused_on", {"lot_id": "2", "vials": "7", "vials_discarded": "3"}),
        "adverse_events.csv": ("onset_on", {"name": "serious_possibly_related", "triggers_review": "true"}),
        "reviews.csv": ("closed_on", {"outcome": "stop"}),
        "lots.csv": ("filled_on", {"vials": "999"}),
    }
    for name, (column, poison) in changes.items():
        path = folder / name
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for i, row in frame.iterrows():
            if after(row, column):
                for key, value in poison.items():
                    frame.loc[i, key] = value
        if name == "lots.csv":  # counts as of the records' end: later use, later expiry
            infusions = pd.read_csv(folder / "infusions.csv", dtype=str, keep_default_na=False)
            drawn_later = set(infusions[infusions["infused_on"].map(lambda d: d > str(cut))]["lot_id"])
            frame.loc[frame["lot_id"].isin(drawn_later), "vials_used"] = "999"
            frame.loc[frame["expires_on"].map(lambda d: not d or d > str(cut)), "vials_expired"] = "999"
        events = [c for c in frame.columns if c != "expires_on"]  # an expiry is known at the fill, not an event
        frame[events] = frame[events].map(later)
        frame.to_csv(path, index=False)


@pytest.mark.parametrize("cut", [dt.date(2025, 3, 15), dt.date(2025, 9, 1), dt.date(2026, 6, 30)])
def test_the_cut_reads_nothing_later_in_records(tmp_path, cut):
    poisoned = tmp_path / "poisoned"
    shutil.copytree(EXAMPLE, poisoned)
    _poison_records(poisoned, cut)
    original = records_as_of(EXAMPLE, BASE, cut)
    assert records_as_of(poisoned, BASE, cut).files == original.files
    # and the cut records are records: checked, run and learned from as of the cut
    records = read_records(original, BASE, cut)
    assert records.restart_day == BASE.day_of(cut) + 1
    assert learn(BASE, records.trace, records.observed).learned


def _poison_sdtm(frames: dict[str, pd.DataFrame], cut: dt.date, decided: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The pilot's SDTM with every row dated after ``cut`` changed (dates later, terms, seriousness,
    dispositions), and DM's arm of each subject decided after it (``decided``: USUBJID -> the
    screening decision's date)."""
    out = {}
    dated = {"ds": "DSSTDTC", "ex": "EXSTDTC", "ae": "AESTDTC", "sv": "SVSTDTC"}
    poison = {
        "ds": {"DSDECOD": "DEATH", "DSCAT": "DISPOSITION EVENT"},
        "ex": {"EXTRT": "POISON"},
        "ae": {"AEDECOD": "POISON", "AESER": "Y"},
        "sv": {"VISIT": "SCREENING 9", "EPOCH": "SCREENING"},
    }

    def is_after(value: object) -> bool:
        return isinstance(value, str) and len(value) >= 10 and dt.date.fromisoformat(value[:10]) > cut

    def shift(value: object) -> object:
        return (dt.date.fromisoformat(value[:10]) + LATER).isoformat() if is_after(value) else value

    for name, frame in frames.items():
        frame = frame.copy()
        if name in dated:
            later = frame[dated[name]].map(is_after)
            for column, value in poison[name].items():
                frame.loc[later, column] = value
        else:  # DM
            undecided = frame["USUBJID"].map(lambda u: u not in decided or is_after(decided[u]))
            frame.loc[undecided, ["ARM", "ARMCD", "ACTARM", "ACTARMCD"]] = "Screen Failure"
        for column in [c for c in frame.columns if c.endswith("DTC")]:
            frame[column] = frame[column].map(shift)
        out[name] = frame
    return out


def test_the_cut_reads_nothing_later_in_sdtm(tmp_path):
    cut = dt.date(2013, 7, 9)
    frames = pilot_frames()
    write_domains(frames, tmp_path / "original", "xpt")
    mapped = map_sdtm(read_sdtm_folder(tmp_path / "original"), PILOT)
    decided = {r["usubjid"]: r.get("screened_on", "9999-12-31") for r in mapped.tables["screening.csv"]}
    write_domains(_poison_sdtm(frames, cut, decided), tmp_path / "poisoned", "xpt")
    original = records_as_of(tmp_path / "original", PILOT, cut)
    assert records_as_of(tmp_path / "poisoned", PILOT, cut).files == original.files
    screening = original.files["screening.csv"].decode().splitlines()
    assert len(screening) - 1 == 157  # referred by 2013-07-09


def test_a_backtest_forecasts_from_the_cut_records():
    """Each forecast of a backtest is the forecast from the records cut at its date (which read
    nothing later, above): the same quantiles as one made from them directly."""
    cut, end = dt.date(2025, 9, 1), dt.date(2026, 11, 25)
    made = backtest(BASE, EXAMPLE, end, 12, 5, period=Period.parse("2Y"), start=cut, workers=1)
    records = read_records(records_as_of(EXAMPLE, BASE, cut), BASE, cut)
    posterior = learn(BASE, records.trace, records.observed)
    metrics = run_scenario(BASE, 12, 5, trace=records.trace, posterior=posterior, metrics_only=True, workers=1).metrics
    scored = made.scores[made.scores["kind"] == "milestone"]
    assert len(scored) >= 1  # cohort 2 is enrolled after the cut, by the records' end
    for row in scored.itertuples():
        values = np.floor(metrics[row.target].fillna(BASE.horizon_days).to_numpy())  # by day
        assert row.p50 == np.quantile(values, 0.5, method="inverted_cdf")
        assert row.p90 == np.quantile(values, 0.9, method="inverted_cdf")
    assert made.points.loc[0, "enrolled"] == len(records.trace.subjects)


# -- scores ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("truth", [0.0, 0.7, -2.5])
def test_crps_of_a_normal_matches_its_closed_form(truth):
    """CRPS(N(mu, s), y) = s [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)], z = (y - mu)/s (Gneiting
    and Raftery 2007), within 4 Monte Carlo standard errors of 20 batches."""
    rng = np.random.default_rng(11)
    mu, sd = 1.0, 2.0
    z = (truth - mu) / sd
    exact = sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))
    batches = [crps(rng.normal(mu, sd, 20_000), truth) for _ in range(20)]
    se = np.std(batches, ddof=1) / math.sqrt(len(batches))
    assert abs(np.mean(batches) - exact) < 4 * se + 1e-3  # the estimator's own bias is O(1/n)
    assert crps(np.array([3.0]), 5.0) == 2.0  # a point forecast: its absolute error


def test_interval_score_and_coverage_by_hand():
    values = np.arange(1, 101, dtype=float)  # P10 = 10, P90 = 90 (inverse CDF), P25 = 25, P75 = 75
    assert interval_score(values, 50.0) == 80.0  # inside: the width
    assert interval_score(values, 100.0) == 80.0 + 10 * 10  # 10 beyond P90, times 2 / 0.2
    assert interval_score(values, 5.0) == 80.0 + 10 * 5
    assert covered(values, 25.0, 0.5) and not covered(values, 24.9, 0.5)
    assert covered(values, 90.0, 0.8) and not covered(values, 90.5, 0.8)


def test_coverage_summary_counts_each_kind():
    scores = pd.DataFrame(
        {
            "kind": ["milestone", "milestone", "count", "count"],
            "in_50": [True, False, True, True],
            "in_80": [True, True, False, True],
            "interval_score_80": [1.0, 3.0, 2.0, 2.0],
            "crps": [1.0, 1.0, 0.5, 0.5],
        }
    )
    summary = coverage_summary(scores).set_index("kind")
    assert summary.loc["milestone", "in_50"] == 0.5 and summary.loc["count", "in_80"] == 0.5
    assert summary.loc["all", "forecasts"] == 4 and summary.loc["all", "in_80"] == 0.75
    assert summary.loc["milestone", "in_50_se"] == pytest.approx(math.sqrt(0.25 / 2))


# -- dates ---------------------------------------------------------------------------------------


def test_periods_step_by_calendar():
    assert Period.parse("3M").after(dt.date(2013, 11, 30)) == dt.date(2014, 2, 28)
    assert Period.parse("1m").after(dt.date(2016, 1, 31)) == dt.date(2016, 2, 29)
    assert Period.parse("1Y").after(dt.date(2016, 2, 29)) == dt.date(2017, 2, 28)
    assert Period.parse("6W").after(dt.date(2013, 1, 1)) == dt.date(2013, 2, 12)
    assert Period.parse("90D").after(dt.date(2013, 1, 1)) == dt.date(2013, 4, 1)
    assert backtest_dates(dt.date(2013, 1, 9), dt.date(2013, 10, 9), Period.parse("3M")) == [
        dt.date(2013, 1, 9),
        dt.date(2013, 4, 9),
        dt.date(2013, 7, 9),
    ]
    for bad in ("3", "M", "0M", "3Q", "-3M", "1000D"):
        with pytest.raises(ValueError, match="not a period"):
            Period.parse(bad)


# -- the command ---------------------------------------------------------------------------------


def test_the_backtest_command_stores_and_reports(tmp_path):
    result = run_cli(
        "backtest",
        str(ROOT / "scenarios" / "nct06574581.yaml"),
        "--actuals",
        str(EXAMPLE),
        "--every",
        "6M",
        "-n",
        "8",
        "-j",
        "1",
        "--results",
        str(tmp_path / "store"),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert "the track record, as of each date" in result.output
    assert "how often the truth fell in the forecast's intervals" in result.output
    runs = list((tmp_path / "store").iterdir())
    assert len(runs) == 1
    scores = pd.read_parquet(runs[0] / "backtest_scores.parquet")
    # as of 2025-06-20 (six months after the first enrolment on 2024-12-20), then every 6 months
    assert sorted(set(scores["as_of"].astype(str))) == ["2025-06-20", "2025-12-20", "2026-06-20"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "3Q"], "'3Q' is not a period"),
        (["--from", "2027-01-01"], "is not before the records' end 2026-11-25"),
        (["--to", "2020-01-01"], "--to: 2020-01-01 is before the study's start"),
        (
            ["--to", "2026-01-01"],
            "--to: the records run past 2026-01-01 (given): give --to the date they are complete to",
        ),
    ],
)
def test_bad_backtest_options_are_named(tmp_path, args, message):
    result = run_cli(
        "backtest",
        str(ROOT / "scenarios" / "nct06574581.yaml"),
        "--actuals",
        str(EXAMPLE),
        "-n",
        "2",
        "--no-store",
        *args,
    )
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_the_track_record_page_and_the_pack_show_a_stored_backtest(tmp_path):
    """The Track record page renders a stored backtest; the other pages say where it is shown; the
    steering pack includes it beside a plan."""
    import os

    from ctdild_sim.reports.pack import steering_pack
    from ctdild_sim.runs.record import RunRecord
    from dashboard.context import Context, NothingPicked
    from dashboard.jobs import JobSlot
    from dashboard.pages import timeline, track_record

    store = tmp_path / "store"
    base = str(ROOT / "scenarios" / "nct06574581.yaml")
    common = ["-n", "6", "-j", "1", "--results", str(store), "--quiet"]
    assert run_cli("backtest", base, "--actuals", str(EXAMPLE), "--every", "1Y", *common).exit_code == 0
    backtest_id = next(p.name for p in store.iterdir())
    assert run_cli("run", base, *common).exit_code == 0
    plan_id = next(p.name for p in store.iterdir() if p.name != backtest_id)
    ctx = Context(ROOT / "scenarios", store, 1, 50, JobSlot(tmp_path / "job.lock"), os.getpid())
    view = track_record.view(ctx, {"runs": [backtest_id, plan_id]})
    titles = [title for title, _ in view.tables]
    assert any("the track record, as of each date" in t for t in titles) and view.figure_keys
    assert view.title == "NCT06574581 base, backtest"  # the plan picked beside it is another page's
    with pytest.raises(NothingPicked, match="Track record page"):
        timeline.view(ctx, {"runs": [backtest_id]})
    pack = steering_pack([RunRecord.open(plan_id, store), RunRecord.open(backtest_id, store)])
    assert any("backtest" in s.heading for s in pack.sections)


def test_a_cut_at_the_records_own_date_changes_nothing():
    from ctdild_sim.actuals.cut import cut_with_count
    from ctdild_sim.actuals.sources import source_name

    files, changed, _ = cut_with_count(EXAMPLE, BASE, dt.date(2026, 11, 25))
    assert changed == 0
    assert (
        read_records(files, BASE, dt.date(2026, 11, 25)).observed.history
        == read_records(EXAMPLE, BASE, dt.date(2026, 11, 25)).observed.history
    )
    assert cut_with_count(EXAMPLE, BASE, dt.date(2025, 9, 1))[1] > 0
    assert source_name("actuals/pilot-sdtm/(mapped from SDTM)") == "pilot-sdtm" and source_name("a/b") == "b"


def test_scores_read_coverage_off_a_randomised_pit():
    """A forecast certain of the truth is inside the 80% interval 80% of the time, not always (its
    ties shared at random), and one certain of a wrong value never is."""
    from ctdild_sim.analysis.scores import inside, randomised_pit

    rng = np.random.default_rng(4)
    certain = np.full(50, 7.0)
    shares = [inside(randomised_pit(certain, 7.0, rng), 0.8) for _ in range(4000)]
    assert abs(np.mean(shares) - 0.8) < 4 * math.sqrt(0.16 / 4000)
    assert not inside(randomised_pit(certain, 9.0, rng), 0.8)


def test_a_cut_refuses_lots_it_cannot_rebuild(tmp_path):
    """A later infusion that names no lot leaves the lots' counts as they stood unknown: the cut
    says so rather than keep the end-of-records counts."""
    from ctdild_sim.actuals.sources import ActualsError

    folder = tmp_path / "records"
    shutil.copytree(EXAMPLE, folder)
    infusions = pd.read_csv(folder / "infusions.csv", dtype=str, keep_default_na=False)
    infusions["lot_id"] = ""
    infusions.to_csv(folder / "infusions.csv", index=False)
    with pytest.raises(ActualsError, match=r"names no lot or no vials .* cannot be rebuilt"):
        records_as_of(folder, BASE, dt.date(2025, 7, 1))


def test_backtest_dates_that_cannot_be_used_are_named():
    from ctdild_sim.studies.backtest import BacktestError

    with pytest.raises(BacktestError, match="--from: 2020-01-01 is before the study's start"):
        backtest(BASE, EXAMPLE, dt.date(2026, 11, 25), 2, 1, period=Period.parse("3M"), start=dt.date(2020, 1, 1))
    with pytest.raises(BacktestError, match="gives more than 60 dates"):
        backtest(BASE, EXAMPLE, dt.date(2026, 11, 25), 2, 1, period=Period.parse("1W"), start=dt.date(2024, 9, 1))
