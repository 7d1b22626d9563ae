"""The Monte Carlo runner, the results store and scenario comparison."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ctdild_sim.analysis.bands import DemandBands, PeriodCounts, period_index
from ctdild_sim.analysis.compare import headline, mean_difference, milestone_differences, quantile_differences
from ctdild_sim.analysis.summary import milestone_summary
from ctdild_sim.cli import main
from ctdild_sim.runs.results import StoreError, list_runs, load
from ctdild_sim.runs.runner import run_scenario, simulate_metrics
from ctdild_sim.scenario.loading import _deep_merge, load_scenario
from ctdild_sim.scenario.trial import Scenario

from conftest import BASE_SCENARIO, ROOT, SCENARIOS, cpu_seconds, fixed, wait_until

BASE = load_scenario(BASE_SCENARIO)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def assert_same_tables(a, b) -> None:
    for (name, x), (_, y) in zip(a.items(), b.items(), strict=True):
        assert parquet_bytes(x) == parquet_bytes(y), name


class TestSameResultsWhateverTheSplit:
    @pytest.fixture(scope="class")
    @classmethod
    def reference(cls):
        return run_scenario(BASE, 24, seed=7, workers=1, chunk_size=24, keep_events=10)

    @pytest.mark.parametrize(("workers", "chunk_size"), [(1, 5), (2, 3), (2, 24), (2, None)])
    def test_local(self, reference, workers, chunk_size):
        tables = run_scenario(BASE, 24, seed=7, workers=workers, chunk_size=chunk_size, keep_events=10)
        assert_same_tables(reference, tables)

    def test_metrics_only_runs_give_the_same_metrics(self, reference):
        metrics = simulate_metrics(BASE, 24, seed=7, workers=2, chunk_size=5)
        assert parquet_bytes(metrics) == parquet_bytes(reference.metrics)

    def test_dask_local_cluster(self, reference):
        pytest.importorskip("distributed")
        tables = run_scenario(BASE, 24, seed=7, workers=2, chunk_size=5, scheduler="local", keep_events=10)
        assert_same_tables(reference, tables)


def test_events_are_kept_for_the_first_replicates_only():
    tables = run_scenario(BASE, 12, seed=3, workers=1, chunk_size=5, keep_events=4)
    assert sorted(tables.events["replicate"].unique()) == [0, 1, 2, 3]
    assert sorted(tables.patients["replicate"].unique()) == [0, 1, 2, 3]
    assert len(tables.metrics) == 12
    assert sorted(tables.lots["replicate"].unique()) == list(range(12))


def test_period_count_quantiles_match_numpy():
    rng = np.random.default_rng(1)
    values = rng.poisson(3.0, size=(501, 6))  # 501 replicates, 6 periods
    values[7, 2] = 10**11  # one absurd value costs one entry, not a histogram 10^11 wide
    counts = PeriodCounts()
    counts.add(values[:200])
    later = PeriodCounts()
    later.add(values[200:])
    counts.merge(later)
    assert len(counts.keys) < 6 * 20
    for q in (0.1, 0.5, 0.9, 1.0):
        expected = np.quantile(values, q, axis=0, method="inverted_cdf")
        assert list(counts.quantile(q, 6)) == list(expected)


def test_period_counts_dense_and_sorted_counting_give_the_same_keys():
    """Small values are counted in a dense (period x value) table, wide ones by sorting; merging
    inserts new keys among the old. Every path gives numpy.unique's sorted keys and counts."""
    rng = np.random.default_rng(5)
    blocks = [
        rng.poisson(4.0, size=(60, 9)),
        rng.poisson(40.0, size=(70, 9)),
        rng.integers(0, 10**9, size=(5, 9)),
        np.zeros((3, 9), dtype=np.int64),
    ]
    blocks[1][3, 4] = 10**10  # one wide value: this block is sorted, the others counted densely
    merged = PeriodCounts()
    for block in blocks:
        alone = PeriodCounts()
        alone.add(block)
        keys, counts = np.unique(((np.arange(9, dtype=np.int64) << 40) | block).ravel(), return_counts=True)
        assert alone.keys.tolist() == keys.tolist() and alone.counts.tolist() == counts.tolist()
        assert alone.keys.dtype == alone.counts.dtype == np.int64
        merged.merge(alone)
    everything = np.concatenate(blocks)
    keys, counts = np.unique(((np.arange(9, dtype=np.int64) << 40) | everything).ravel(), return_counts=True)
    assert merged.keys.tolist() == keys.tolist() and merged.counts.tolist() == counts.tolist()


def test_demand_bands_match_a_direct_computation():
    rng = np.random.default_rng(2)
    n_weeks, start = 30, BASE.start_date
    bands, split = DemandBands(start, n_weeks), [DemandBands(start, n_weeks), DemandBands(start, n_weeks)]
    thawed_all = []
    for r in range(41):
        thawed = rng.poisson(0.7, n_weeks).astype(float)
        released = np.zeros(n_weeks)
        released[0] = 100
        series = {"vials_thawed": thawed, "cells_infused": thawed * 3e7, "vials_in_stock": np.cumsum(released - thawed)}
        bands.add(series, end_day=7 * n_weeks - 1)
        split[r % 2].add(series, end_day=7 * n_weeks - 1)
        thawed_all.append(thawed)
    split[0].merge(split[1])
    week = bands.table("week")
    pd.testing.assert_frame_equal(week, split[0].table("week"))
    thawed_all = np.array(thawed_all)
    for q, col in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
        assert list(week[f"vials_thawed_{col}"]) == list(np.quantile(thawed_all, q, axis=0, method="inverted_cdf"))
        cumulative = np.quantile(thawed_all.cumsum(axis=1), q, axis=0, method="inverted_cdf")
        assert list(week[f"cumulative_vials_thawed_{col}"]) == list(cumulative)
    assert np.allclose(week["mean_vials_thawed"], thawed_all.mean(axis=0))
    assert np.allclose(week["mean_cells_infused"], thawed_all.mean(axis=0) * 3e7)
    # a month's thawed vials are the sum of its weeks, per replicate, before the quantile
    month = bands.table("month")
    assert month["mean_vials_thawed"].sum() == pytest.approx(thawed_all.sum(axis=1).mean())
    month_of_week, _ = period_index(start, n_weeks, "month")
    per_month = np.stack([np.bincount(month_of_week, weights=t) for t in thawed_all])
    for q, col in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
        expected = np.quantile(per_month, q, axis=0, method="inverted_cdf")
        assert list(month[f"vials_thawed_{col}"]) == list(expected)


def test_demand_bands_fold_in_any_steps():
    """Folding after every replicate, once at the end, or never before a merge: the same counts."""
    rng = np.random.default_rng(4)
    n_weeks, start = 20, BASE.start_date
    each, once = DemandBands(start, n_weeks), DemandBands(start, n_weeks)
    for _ in range(9):
        thawed = rng.poisson(2.0, n_weeks).astype(float)
        series = {"vials_thawed": thawed, "cells_infused": thawed, "vials_in_stock": np.full(n_weeks, 50.0) - thawed}
        each.add(series, end_day=7 * n_weeks - 1)
        each.fold()
        once.add(series, end_day=7 * n_weeks - 1)
    once.fold()
    for key, counts in once.counts.items():
        assert np.array_equal(counts.keys, each.counts[key].keys), key
        assert np.array_equal(counts.counts, each.counts[key].counts), key


def test_demand_bands_refuse_negative_stock():
    bands = DemandBands(BASE.start_date, 4)
    bands.add({"vials_thawed": np.ones(4), "cells_infused": np.ones(4), "vials_in_stock": -np.ones(4)}, 27.0)
    with pytest.raises(ValueError, match="vials_in_stock went negative"):
        bands.fold()


class TestCommonRandomNumbers:
    def test_a_scenario_against_itself_differs_by_nothing(self):
        metrics = simulate_metrics(BASE, 30, seed=5, workers=1)
        diffs = milestone_differences({"a": metrics, "b": metrics.copy()}, {"a": BASE, "b": BASE})
        defined = diffs[diffs["estimate"].notna()]
        assert len(defined) >= len(diffs) - 2  # at most a milestone whose P50 neither reaches
        assert (defined["estimate"] == 0).all()
        assert (defined["ci_low"] == 0).all() and (defined["ci_high"] == 0).all()
        assert (diffs["pairs"] == 30).all()

    def test_paired_interval_far_narrower_than_unpaired(self):
        base = BASE.model_dump(by_alias=True)
        shorter = Scenario.model_validate(_deep_merge(base, {"safety": {"review_days": fixed(10)}}))
        longer = Scenario.model_validate(_deep_merge(base, {"safety": {"review_days": fixed(40)}}))
        a = simulate_metrics(shorter, 200, seed=9, workers=2)
        b = simulate_metrics(longer, 200, seed=9, workers=2)
        assert mean_difference(a["pause_days"], b["pause_days"]).low > 0  # longer reviews pause longer
        expired = mean_difference(a["vials_expired"], b["vials_expired"])
        assert expired.high - expired.low < (expired.unpaired_high - expired.unpaired_low) / 5
        [lplv] = quantile_differences(a, b, ["lplv_day"], 0.5, np.random.default_rng(1)).values()
        assert lplv.estimate >= 0 and lplv.pairs == 200
        assert lplv.high - lplv.low < (lplv.unpaired_high - lplv.unpaired_low) / 3


def test_compare_headline_lplv_is_the_milestone_tables_p50():
    slow = load_scenario(ROOT / "scenarios" / "nct06574581_slow_referrals.yaml")
    metrics = {s.name: simulate_metrics(s, 60, seed=3, workers=2) for s in (BASE, slow)}
    summary = headline(metrics, {BASE.name: BASE, slow.name: slow}).set_index("scenario")
    for scenario in (BASE, slow):
        table = milestone_summary(metrics[scenario.name], scenario).set_index("milestone").loc["lplv_day"]
        row = summary.loc[scenario.name]
        assert row["lplv_p50_day"] == table["p50_day"] and row["lplv_p50_date"] == table["p50_date"]
    # the slow scenario leaves many replicates unfinished: a median over finished ones only would be earlier
    finished_only = metrics[slow.name]["lplv_day"].median()
    assert summary.loc[slow.name, "lplv_p50_day"] > finished_only


def test_bootstrap_interval_of_a_median_difference_matches_its_closed_form():
    # Two independent Exponential(1) samples of n: the median's standard error is 1 / (2 f(m) sqrt(n)) with
    # f(m) = 1/2, so the unpaired 95% interval of the difference spans 2 * 1.96 * sqrt(2) / sqrt(n).
    # Shifting every replicate by 10 days makes the paired difference exactly 10 with no width.
    n = 4000
    rng = np.random.default_rng(11)
    a = pd.DataFrame({"x": rng.exponential(1.0, n)})
    b = pd.DataFrame({"x": rng.exponential(1.0, n)})
    [diff] = quantile_differences(a, b, ["x"], 0.5, np.random.default_rng(12)).values()
    expected = 2 * 1.959964 * math.sqrt(2) / math.sqrt(n)
    assert diff.unpaired_high - diff.unpaired_low == pytest.approx(expected, rel=0.15)
    [shifted] = quantile_differences(a, a + 10, ["x"], 0.5, np.random.default_rng(12)).values()
    assert shifted.estimate == shifted.low == shifted.high == pytest.approx(10)


def test_a_milestone_never_reached_is_compared_not_dropped():
    # 70% of reference replicates never reach the milestone: its P50 is "never", the other's is day 5
    ref = pd.DataFrame({"x": [np.nan] * 70 + [1.0] * 30})
    other = pd.DataFrame({"x": [5.0] * 100})
    [diff] = quantile_differences(ref, other, ["x"], 0.5, np.random.default_rng(0)).values()
    assert diff.estimate == -np.inf and diff.pairs == 100 and diff.both_reached == 30


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_store_round_trip(tmp_path):
    store = tmp_path / "results"
    result = run_cli("run", str(BASE_SCENARIO), "-n", "6", "-j", "1", "--results", str(store), "--quiet")
    assert result.exit_code == 0, result.output
    [stored] = list_runs(store)
    manifest = stored.manifest
    assert manifest["scenario_name"] == BASE.name and manifest["replicates"] == 6
    assert manifest["scenario_text"] == BASE_SCENARIO.read_text()
    for key in ("scenario_sha256", "seed", "package_version", "started", "finished", "command", "options"):
        assert key in manifest
    tables = load(stored.run_id, store)
    assert len(tables["metrics"]) == 6
    assert {"events", "patients", "lots", "demand_weekly", "milestones"} <= set(tables)
    again = run_scenario(BASE, 6, seed=manifest["seed"], workers=1)
    pd.testing.assert_frame_equal(tables["metrics"], again.metrics)
    assert f"Saved as run {stored.run_id}" in result.stdout
    listing = run_cli("runs", "--results", str(store))
    assert stored.run_id in listing.stdout


def test_runs_can_be_labelled_and_deleted_whole(tmp_path, monkeypatch):
    store = tmp_path / "results"
    for seed in ("1", "2", "3"):
        assert (
            run_cli(
                "run", str(BASE_SCENARIO), "-n", "2", "-j", "1", "--seed", seed, "--results", str(store), "--quiet"
            ).exit_code
            == 0
        )
    first, second, third = (r.run_id for r in list_runs(store))
    assert run_cli("runs", "--results", str(store), "--label", first, "  Steering   pack ").exit_code == 0
    assert list_runs(store)[0].manifest["label"] == "Steering pack"
    listing = run_cli("runs", "--results", str(store)).stdout
    assert "Steering" in listing and first in listing and second in listing  # whole ids
    run_cli("runs", "--results", str(store), "--label", first, "")
    assert "label" not in list_runs(store)[0].manifest
    too_long = CliRunner().invoke(main, ["runs", "--results", str(store), "--label", first, "x" * 121])
    assert too_long.exit_code == 2 and "up to 120 printable characters" in too_long.stderr
    # one unknown id: nothing is deleted
    bad = CliRunner().invoke(main, ["runs", "--results", str(store), "--delete", first, "--delete", "nope", "--yes"])
    assert bad.exit_code == 2 and "run nope: no such run" in bad.stderr and len(list_runs(store)) == 3
    declined = CliRunner().invoke(main, ["runs", "--results", str(store), "--delete", first], input="n\n")
    assert declined.exit_code == 1 and "Nothing deleted" in declined.stderr and len(list_runs(store)) == 3
    agreed = CliRunner().invoke(main, ["runs", "--results", str(store), "--delete", first], input="y\n")
    assert agreed.exit_code == 0 and [r.run_id for r in list_runs(store)] == [second, third]
    # a deletion cut short leaves no visible run behind: the folder was hidden in one step first
    monkeypatch.setattr("ctdild_sim.runs.results.shutil.rmtree", lambda *a, **k: None)
    assert run_cli("runs", "--results", str(store), "--delete", second, "--yes").exit_code == 0
    assert [r.run_id for r in list_runs(store)] == [third]
    assert any(p.name.startswith(f".{second}") for p in store.iterdir())  # hidden; the next run clears it


def test_foreign_and_corrupt_folders_are_reported_not_crashed_on(tmp_path):
    store = tmp_path / "results"
    (store / "holiday-photos").mkdir(parents=True)
    (store / "broken").mkdir()
    (store / "broken" / "manifest.json").write_text("{not json")
    (store / "partial").mkdir()
    (store / "partial" / "manifest.json").write_text(json.dumps({"run_id": "partial"}))
    problems = {r.run_id: r.problem for r in list_runs(store)}
    assert "not a ctdild-sim run" in problems["holiday-photos"]
    assert "unreadable manifest.json" in problems["broken"]
    assert "lacks" in problems["partial"]
    result = CliRunner().invoke(main, ["runs", "--results", str(store)])
    assert result.exit_code == 0
    assert "holiday-photos: no manifest.json" in result.stderr and "broken: unreadable" in result.stderr
    with pytest.raises(StoreError, match="no such run"):
        load("holiday-photos", store)
    with pytest.raises(StoreError, match="cannot be read"):
        load("broken", store)
    with pytest.raises(StoreError, match="not a run id"):
        load("../etc", store)


@pytest.mark.slow
def test_interrupted_run_leaves_nothing(tmp_path):
    store = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctdild_sim",
            "run",
            str(BASE_SCENARIO),
            "-n",
            "100000",
            "-j",
            "2",
            "--results",
            str(store),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # as from a terminal: a shell's background job would otherwise pass SIGINT on as ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_until(lambda: proc.poll() is not None or cpu_seconds(proc.pid) > 4, "the two workers to simulate")
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Interrupted: nothing was written." in err
    assert "Traceback" not in err
    assert not store.exists() or list(store.iterdir()) == []


def test_compare_cli_with_html_report(tmp_path):
    report = tmp_path / "compare.html"
    result = run_cli(
        "compare",
        str(BASE_SCENARIO),
        str(ROOT / "scenarios" / "nct06574581_long_review.yaml"),
        "-n",
        "12",
        "-j",
        "2",
        "--report",
        str(report),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert "Differences are each scenario minus NCT06574581 base, paired replicate by replicate" in result.stdout
    assert "NCT06574581 long review: when is the last patient's last visit?" in result.stdout
    text = report.read_text()
    assert "plotly" in text and "Paired differences" in text and "NCT06574581 long review" in text
    assert oct(report.stat().st_mode & 0o777) == "0o644"


def test_compare_needs_two_distinct_scenarios():
    result = CliRunner().invoke(main, ["compare", str(BASE_SCENARIO)])
    assert result.exit_code == 2 and "at least two" in result.stderr
    result = CliRunner().invoke(main, ["compare", str(BASE_SCENARIO), str(BASE_SCENARIO)])
    assert result.exit_code == 2 and "already the name" in result.stderr


def test_output_folder_is_shareable(tmp_path):
    out = tmp_path / "out"
    run_cli("run", str(BASE_SCENARIO), "-n", "2", "-j", "1", "--no-store", "--out", str(out), "--quiet")
    assert oct(Path(out).stat().st_mode & 0o777) == "0o755"


def test_runs_survives_any_manifest_and_shows_whole_run_ids(tmp_path):
    store = tmp_path / "results"
    result = run_cli("run", str(BASE_SCENARIO), "-n", "2", "-j", "1", "--results", str(store), "--quiet")
    assert result.exit_code == 0
    [good] = list_runs(store)
    hostile = {
        "name-not-a-string": {"scenario_name": 42},
        "name-a-list": {"scenario_name": ["a", "b"]},
        "replicates-a-string": {"replicates": "many"},
        "not-a-mapping": [1, 2, 3],
        "deep": "[" * 5000 + "]" * 5000,
    }
    for name, change in hostile.items():
        folder = store / name
        folder.mkdir()
        text = (
            change
            if isinstance(change, str)
            else json.dumps(dict(good.manifest, **change) if isinstance(change, dict) else change)
        )
        (folder / "manifest.json").write_text(text)
    (store / "manifest-is-a-folder" / "manifest.json").mkdir(parents=True)
    marked = store / "markup"
    marked.mkdir()
    (marked / "manifest.json").write_text(json.dumps(dict(good.manifest, scenario_name="[/b][bold red]x")))
    result = CliRunner().invoke(main, ["runs", "--results", str(store)])
    assert result.exit_code == 0 and result.exception is None, result.output
    assert good.run_id in result.stdout  # whole, not cut short by the table's width
    assert "[/b][bold red]x" in result.stdout
    for name in [*hostile, "manifest-is-a-folder"]:
        assert f"{name}: " in result.stderr, name
    problems = {r.run_id: r.problem for r in list_runs(store)}
    assert "wrong type for scenario_name" in problems["name-not-a-string"]
    assert "wrong type for replicates" in problems["replicates-a-string"]
    assert "not a mapping" in problems["not-a-mapping"]


def test_a_sweep_reuses_one_worker_pool_and_gets_the_same_metrics():
    from ctdild_sim.runs import runner

    scenario = load_scenario(BASE_SCENARIO)
    first = runner.simulate_metrics(scenario, 12, 5, workers=2, chunk_size=3)
    pool = runner._POOL[2]
    workers = sorted(p.pid for p in pool._pool)
    second = runner.simulate_metrics(scenario, 12, 5, workers=2, chunk_size=4)
    assert runner._POOL[2] is pool and sorted(p.pid for p in pool._pool) == workers  # no new processes
    alone = runner.simulate_metrics(scenario, 12, 5, workers=1)
    pd.testing.assert_frame_equal(first, alone)
    pd.testing.assert_frame_equal(second, alone)
    runner._drop_pool()
    assert runner._POOL is None and all(not p.is_alive() for p in pool._pool)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_metrics_only_runs_give_the_full_runs_metrics(path):
    from ctdild_sim.runs.runner import simulate_metrics

    # every replicate's full log (all kept) against lean logs (none kept, metrics only)
    scenario = load_scenario(path)
    full = run_scenario(scenario, 16, 9, workers=1, keep_events=16)
    lean = simulate_metrics(scenario, 16, 9, workers=1)
    pd.testing.assert_frame_equal(full.metrics, lean)
    # and a run keeping none: the same metrics, demand bands and lots
    kept_none = run_scenario(scenario, 16, 9, workers=1, keep_events=0)
    pd.testing.assert_frame_equal(full.metrics, kept_none.metrics)
    pd.testing.assert_frame_equal(full.lots, kept_none.lots)
    for kind in ("week", "month"):
        pd.testing.assert_frame_equal(full.bands.table(kind), kept_none.bands.table(kind))


@pytest.mark.slow
def test_adaptive_replicates_stop_at_the_asked_precision_and_repeat():
    from ctdild_sim.runs.runner import half_width, run_to_precision

    scenario = load_scenario(BASE_SCENARIO)
    day = scenario.day_of(scenario.registered_completion_date) + 1

    def event(metrics):
        return metrics["lplv_day"].fillna(float("inf")) < day

    tables = run_to_precision(scenario, 4, 0.03, 2000, event, batch=50, workers=2, keep_events=0)
    n = len(tables.metrics)
    hits = event(tables.metrics)
    assert half_width(int(hits.sum()), n) <= 0.03 and n % 50 == 0
    before = hits.iloc[: n - 50]
    assert n == 50 or half_width(int(before.sum()), n - 50) > 0.03  # it stopped at the first batch that got there
    # the binomial standard error of the estimate, against the asked half-width
    p = hits.mean()
    assert 1.96 * math.sqrt(p * (1 - p) / n) <= 0.03 + 1e-9
    # the same replicates as a fixed run of that many, and the same stop on the same seed
    fixed_run = run_scenario(scenario, n, 4, workers=1, keep_events=0)
    pd.testing.assert_frame_equal(tables.metrics, fixed_run.metrics)
    again = run_to_precision(scenario, 4, 0.03, 2000, event, batch=50, workers=1, keep_events=0)
    pd.testing.assert_frame_equal(tables.metrics, again.metrics)
    assert tables.bands.table("month").equals(fixed_run.bands.table("month"))
    # a cap stops it short of the precision
    capped = run_to_precision(scenario, 4, 0.001, 120, event, batch=50, workers=1, keep_events=0)
    assert len(capped.metrics) == 120


def test_run_to_a_precision_from_the_cli():
    from click.testing import CliRunner

    from ctdild_sim.cli import main

    result = CliRunner().invoke(
        main,
        [
            "run",
            str(BASE_SCENARIO),
            "--precision",
            "0.05",
            "-n",
            "1000",
            "--no-store",
            "-j",
            "1",
            "--quiet",
            "--keep-events",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "precision reached: 200 replicates for a half-width of ±5.00% asked" in text
    assert "(95%, Agresti-Coull)" in text and text.count("±") == 2  # one interval for the probability


def test_a_restarted_forecast_gives_the_same_figures_with_lean_logs():
    import datetime as dt

    from ctdild_sim.studies.forecast import forecast

    scenario = load_scenario(BASE_SCENARIO)
    records = SCENARIOS / "actuals" / "nct06574581-2026-11-25"
    full = forecast(scenario, records, dt.date(2026, 11, 25), 12, 3, workers=1, keep_events=12)
    lean = forecast(scenario, records, dt.date(2026, 11, 25), 12, 3, workers=1, keep_events=0)
    pd.testing.assert_frame_equal(full.tables.metrics, lean.tables.metrics)
    assert full.tables.progress.table().equals(lean.tables.progress.table())


def _cannot_load():
    raise ValueError("this object does not unpickle")


class _Unloadable:
    """Pickles, but fails to unpickle (as a compiled class whose instances cannot be rebuilt)."""

    def __reduce__(self):
        return (_cannot_load, ())


def test_a_task_a_worker_cannot_unpickle_is_an_error_not_a_hang():
    import threading

    from ctdild_sim.runs import runner

    raised: list[BaseException] = []

    def run() -> None:
        try:
            runner._local_pool(2, (_Unloadable(),), [(0, 1)], lambda chunk: None)
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the pool waited for a task its worker could not read"
    assert len(raised) == 1 and "does not unpickle" in str(raised[0])
    # the pool still works
    assert len(simulate_metrics(load_scenario(BASE_SCENARIO), 4, 1, workers=2, chunk_size=2)) == 4


@pytest.mark.parametrize("workers", [1, 2])
def test_metrics_in_order_are_the_runs_metrics_and_a_caller_may_stop_reading(workers):
    from ctdild_sim.runs import runner

    scenario = load_scenario(BASE_SCENARIO)
    whole = simulate_metrics(scenario, 14, 3, workers=1)
    chunks = list(runner.metrics_in_order(scenario, 14, 3, 4, workers=workers))
    assert [len(c) for c in chunks] == [4, 4, 4, 2]  # in replicate order, whatever finished first
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    reading = runner.metrics_in_order(scenario, 40, 3, 2, workers=workers)
    first = next(reading)
    reading.close()  # decided after one chunk: what the workers still run is dropped
    pd.testing.assert_frame_equal(first, whole.iloc[:2])
    # the pool goes on with the next run as if nothing had been left over
    pd.testing.assert_frame_equal(simulate_metrics(scenario, 14, 3, workers=workers, chunk_size=3), whole)
    if workers > 1:
        runner._drop_pool()


def test_a_chunk_whose_reader_stopped_is_abandoned_between_replicates(monkeypatch):
    """A search that has decided cancels its stream: a worker drops a chunk not yet started and
    stops a running one before its next replicate, instead of simulating what nobody reads."""
    import ctypes

    from ctdild_sim.runs import runner

    scenario = load_scenario(BASE_SCENARIO)
    flags = (ctypes.c_bool * runner.CANCEL_SLOTS)()
    monkeypatch.setattr(runner, "_CANCELLED", flags)
    stream = 5  # its slot of the stopped flags
    task = runner._pickled(runner.ChunkTask(scenario, 3, 0, 0, 0, True, None, None, None, False))
    whole = simulate_metrics(scenario, 6, 3, workers=1)
    pd.testing.assert_frame_equal(
        pickle.loads(runner._simulate_unless_cancelled(stream, task, 2, 6)), whole.iloc[2:].reset_index(drop=True)
    )
    simulated = []
    real = runner.run_replicate

    def counted(*args):
        simulated.append(args[2])
        if len(simulated) == 2:
            flags[5] = True  # the reader stops while the second replicate runs
        return real(*args)

    monkeypatch.setattr(runner, "run_replicate", counted)
    assert runner._simulate_unless_cancelled(stream, task, 0, 6) is None
    assert simulated == [0, 1]  # replicates 2..5 were not simulated
    assert runner._simulate_unless_cancelled(stream, task, 0, 6) is None and simulated == [0, 1]  # not started
    with pytest.raises(runner.ChunkCancelled):
        runner.simulate_chunk(scenario, 3, 0, 6, 0, True, cancelled=lambda: True)


def test_a_stream_is_cancelled_once_its_reader_stops_and_the_next_starts_clear():
    from ctdild_sim.runs import runner

    scenario = load_scenario(BASE_SCENARIO)
    reading = runner.metrics_in_order(scenario, 40, 3, 1, workers=2)
    next(reading)
    (slot,) = runner._OPEN_SLOTS
    flags = runner._POOL[3]
    assert not flags[slot]
    other = runner.metrics_in_order(scenario, 40, 3, 1, workers=2)
    next(other)  # a second stream read at the same time has a slot of its own
    (other_slot,) = runner._OPEN_SLOTS - {slot}
    reading.close()
    assert flags[slot] and not flags[other_slot]  # its chunks still queued or running stop, not the other's
    read_on = pd.concat([next(other) for _ in range(7)], ignore_index=True)  # replicates 1-7, unaffected
    pd.testing.assert_frame_equal(read_on, simulate_metrics(scenario, 8, 3, workers=1).iloc[1:].reset_index(drop=True))
    other.close()
    assert flags[other_slot] and not runner._OPEN_SLOTS
    whole = simulate_metrics(scenario, 8, 3, workers=1)
    pd.testing.assert_frame_equal(
        pd.concat(runner.metrics_in_order(scenario, 8, 3, 2, workers=2), ignore_index=True), whole
    )
    runner._drop_pool()


def test_no_two_streams_read_at_once_share_a_slot(monkeypatch):
    from ctdild_sim.runs import runner

    monkeypatch.setattr(runner, "CANCEL_SLOTS", 3)
    monkeypatch.setattr(runner, "_OPEN_SLOTS", {0, 2})
    assert runner._open_slot() == 1  # whatever number comes next, the free slot
    with pytest.raises(RuntimeError, match="at once"):
        runner._open_slot()


def test_a_chunk_that_fails_while_read_in_order_raises_and_ends_the_pool():
    from ctdild_sim.runs import runner

    runner._pool(2)  # started, so the test sees it ended
    with pytest.raises(ValueError, match="does not unpickle"):
        list(runner._pool_in_order(2, (_Unloadable(),), [(0, 1)]))
    assert runner._POOL is None
