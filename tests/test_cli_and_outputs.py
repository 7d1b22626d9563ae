"""The CLI end to end: the milestone report, the written tables, byte-for-byte reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ctdild_sim.analysis.metrics import milestone_columns
from ctdild_sim.analysis.tables import EVENT_COLUMNS
from ctdild_sim.cli import main
from ctdild_sim.model.eligibility import CRITERION_NAMES
from ctdild_sim.runs.export import write_tables
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.views.columns import fmt_name

from conftest import BASE_SCENARIO, SCENARIOS

TABLES = (
    "events",
    "patients",
    "screenings",
    "metrics",
    "lots",
    "supply_weekly",
    "milestones",
    "screen_failures",
)


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("run") / "out"
    result = run_cli("run", str(BASE_SCENARIO), "-n", "30", "--seed", "11", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    return out, result.stdout


def test_report_lists_every_milestone_and_headline(base_run):
    _, text = base_run
    for label in (
        "First infusion",
        "Cohort 1 (1 infusion) enrolled",
        "Cohort 1 gate passed",
        "Cohort 2 gate passed",
        "Cohort 3 hold complete",
        "Last patient in",
        "Last infusion",
        "Last patient last visit",
        "P10",
        "P50",
        "P90",
    ):
        assert label in text
    assert "P(last patient last visit by the registered completion date 2026-05-30)" in text
    assert "screen failure" in text and "P(stopped early)" in text and "pauses per replicate" in text
    words = set(text.split())
    for name in CRITERION_NAMES:  # as people read them: "I2_ild_pathway" is "I2 ILD pathway"
        assert set(fmt_name(name).split()) <= words and name not in text


def test_report_figures_come_from_the_tables(base_run):
    out, text = base_run
    metrics = pd.read_parquet(out / "metrics.parquet")
    milestones = pd.read_parquet(out / "milestones.parquet")
    lplv = milestones.set_index("milestone").loc["lplv_day"]
    assert str(lplv["p50_date"]) in text
    rate = metrics["n_screen_failed"].sum() / metrics["n_screened"].sum()
    assert f"screen failure {rate:.1%}" in text
    deadline = (pd.Timestamp("2026-05-30") - pd.Timestamp("2024-08-20")).days + 1
    p = (metrics["lplv_day"] < deadline).mean()
    assert f"2026-05-30): {p:.1%}" in text


def test_tables_are_written_in_both_formats(base_run):
    out, _ = base_run
    for name in TABLES:
        parquet = pd.read_parquet(out / f"{name}.parquet")
        csv = pd.read_csv(out / f"{name}.csv")
        assert len(parquet) == len(csv) > 0
    events = pd.read_parquet(out / "events.parquet")
    assert list(events.columns) == EVENT_COLUMNS
    assert set(events["replicate"]) == set(range(30))
    metrics = pd.read_parquet(out / "metrics.parquet")
    for column in [
        *milestone_columns(3),
        "n_referred",
        "n_screened",
        "n_screen_failed",
        "n_enrolled",
        "n_infusions",
        "n_triggering_ae",
        "n_pauses",
        "pause_days",
        "stopped_early",
        "cells_infused",
        *[f"sf_{c}" for c in CRITERION_NAMES],
    ]:
        assert column in metrics.columns
    first = events[events["event"] == "infused"].iloc[0]
    assert first["date"] == (pd.Timestamp("2024-08-20") + pd.Timedelta(days=int(first["day"]))).date()


def test_same_seed_same_bytes(base_run, tmp_path):
    out, _ = base_run
    again = tmp_path / "again"
    run_cli("run", str(BASE_SCENARIO), "-n", "30", "--seed", "11", "--out", str(again), "--quiet")
    for name in TABLES:
        for ext in ("parquet", "csv"):
            assert (out / f"{name}.{ext}").read_bytes() == (again / f"{name}.{ext}").read_bytes(), name


def test_other_seed_other_results(base_run, tmp_path):
    out, _ = base_run
    other = tmp_path / "other"
    run_cli("run", str(BASE_SCENARIO), "-n", "30", "--seed", "12", "--out", str(other), "--quiet")
    assert (out / "events.csv").read_bytes() != (other / "events.csv").read_bytes()


def test_fewer_replicates_are_a_prefix():
    scenario = load_scenario(BASE_SCENARIO)
    big = run_scenario(scenario, 12, seed=5).metrics
    small = run_scenario(scenario, 5, seed=5).metrics
    pd.testing.assert_frame_equal(small, big.iloc[:5].reset_index(drop=True))


def test_rerun_replaces_a_previous_run(base_run, tmp_path):
    out = tmp_path / "out"
    run_cli("run", str(BASE_SCENARIO), "-n", "3", "--out", str(out), "--quiet")
    run_cli("run", str(BASE_SCENARIO), "-n", "4", "--out", str(out), "--quiet")
    assert len(pd.read_parquet(out / "metrics.parquet")) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_write_leaves_nothing(tmp_path):
    class Boom(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise RuntimeError("disk full")

    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        write_tables(out, [("ok", pd.DataFrame({"a": [1]})), ("bad", Boom({"a": [1]}))])
    assert list(tmp_path.iterdir()) == []


def test_schema_is_json_schema_with_descriptions():
    result = run_cli("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "Scenario"
    assert "start_date" in schema["required"]
    site = schema["$defs"]["Site"]["properties"]
    assert "description" in site["referral_rate_per_month"]
    assert schema["$defs"]["Gamma"]["properties"]["mean"]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates_and_runs(path):
    result = run_cli("validate", str(path))
    assert result.exit_code == 0 and ": ok" in result.stdout
    scenario = load_scenario(path)
    tables = run_scenario(scenario, 5, seed=1)
    assert len(tables.metrics) == 5
    assert (tables.metrics["n_enrolled"] > 0).all()


def test_shipped_scenarios_keep_the_listing_design():
    for path in SCENARIOS.glob("nct06574581*.yaml"):
        s = load_scenario(path)
        assert [(c.size, c.infusions, c.dose_cells_per_kg) for c in s.cohorts] == [
            (3, 1, 1e6),
            (4, 2, 1e6),
            (3, 3, 1e6),
        ], path
        assert s.safety.hold_days == 28
        assert str(s.start_date) == "2024-08-20"
        assert s.planned_infusions == 20


def test_the_pilot_scenario_keeps_its_design():
    """CDISCPILOT01: one randomised group of 254, 17 sites, no gate, hold or cell product,
    screening by a pass probability, visits to week 26."""
    s = load_scenario(SCENARIOS / "cdiscpilot01.yaml")
    assert [(c.size, c.infusions) for c in s.cohorts] == [(254, 1)]
    assert len(s.site_names) == 17 and s.site_names[0] == "701"
    assert s.population is None and s.product is None and not s.screened_by_criteria
    assert s.safety.hold_days == 0 and s.follow_up.visit_days[-1] == 26 * 7
    assert not any(ae.triggers_review for ae in s.safety.adverse_events)


def test_supply_report_and_tables(tmp_path):
    out = tmp_path / "supply"
    result = run_cli(
        "supply", str(BASE_SCENARIO), "-n", "20", "--seed", "3", "--out", str(out), "--quiet", "--period", "quarter"
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "P(a subject waits for product)" in text
    assert "lots consumed P50" in text and "when the k-th lot is ordered" in text
    assert "product demand per quarter" in text
    metrics = pd.read_parquet(out / "metrics.parquet")
    risk = (metrics["stockout_events"] > 0).mean()
    policy = "policy reorder point 12 vials, lots of every vial the yield gives"
    assert f"P(a subject waits for product), {policy}: {risk:.1%}" in " ".join(text.split())
    for name in ("lots", "demand_weekly", "demand_monthly", "demand_quarterly", "lot_starts"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    weekly = pd.read_parquet(out / "demand_weekly.parquet")
    thawed = metrics["vials_used"] + metrics["vials_wasted"]
    assert weekly["mean_vials_thawed"].sum() == pytest.approx(thawed.mean())
    # the cost block, from the stored tables and the scenario's costs
    from ctdild_sim.analysis.costs import cost_per_dose, replicate_costs

    per_replicate = replicate_costs(metrics, pd.read_parquet(out / "lots.parquet"), load_scenario(BASE_SCENARIO))
    assert f"product cost per infused dose USD {cost_per_dose(per_replicate):,.0f}" in " ".join(text.split())
    assert "costs per replicate (USD)" in text


@pytest.mark.slow
def test_supply_plan_from_the_cli(tmp_path):
    out = tmp_path / "plan"
    result = run_cli(
        "supply",
        str(BASE_SCENARIO),
        "-n",
        "20",
        "--target-stockout",
        "0.3",
        "--max-reorder-point",
        "16",
        "--lot-size",
        "30",
        "--lot-size",
        "20",
        "--out",
        str(out),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert "lot plan search" not in result.stdout  # every evaluation: --out, the packs and the dashboard
    assert "the search made" in result.stdout and "--out writes them (lot_plan_search)" in " ".join(
        result.stdout.split()
    )
    search = pd.read_parquet(out / "lot_plan_search.parquet")
    assert set(search["fill_vials"]) == {20, 30}  # the sizes asked for, and only those
    savings = pd.read_parquet(out / "lot_plan_savings.parquet").set_index("measure")
    assert savings.loc["Expected cost: total", "pairs"] == 20  # paired on the 20 fresh replicates
    assert {"lookahead_days", "reorder_point", "stockout_risk", "upper_95"} <= set(search.columns)
    # the headline is the plan on fresh seeds, with its interval; the search seeds' figures are labelled
    [fresh] = search[search["seeds"] == "fresh"].itertuples()
    assert set(search["seeds"]) == {"search", "validation", "fresh"}
    text = " ".join(result.stdout.split())
    assert f"on 20 fresh replicates (seed {20240820 + 1_000_003}, unseen by the search)" in text
    assert f"lots of {fresh.fill_vials:.0f} vials, reorder point {fresh.reorder_point} vials looking" in text
    assert f"reorder point {fresh.reorder_point} vials looking {fresh.lookahead_days:.0f} days ahead" in text
    assert f"P(a subject waits for product) {fresh.stockout_risk:.1%} (95% interval" in text
    # the supply report and the exported tables are that same fresh run
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert (metrics["stockout_events"] > 0).mean() == fresh.stockout_risk
    fresh_seed = 20240820 + 1_000_003
    assert (
        f"Cell product: NCT06574581 base (the lot plan, on its fresh seeds) (20 replicates, seed {fresh_seed})" in text
    )
    assert f"policy reorder point {fresh.reorder_point} vials, look-ahead {fresh.lookahead_days:.0f} days" in text


def test_supply_needs_a_product_section(tmp_path):
    bare = tmp_path / "bare.yaml"
    bare.write_text(BASE_SCENARIO.read_text().split("\nproduct:")[0])
    result = CliRunner().invoke(main, ["supply", str(bare), "-n", "2"])
    assert result.exit_code == 2
    assert f"{bare}: product: the scenario has no product section" in result.stderr


@pytest.mark.slow
def test_the_command_leaves_with_clicks_status_and_all_its_output(tmp_path):
    """``ctdild-sim`` skips the interpreter's teardown (run_command): its status and everything it
    printed must still come out, through a pipe too."""
    import subprocess
    import sys

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ctdild_sim", *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            check=False,
        )

    shown = command("run", str(BASE_SCENARIO), "-n", "30", "-j", "2", "--no-store")
    assert shown.returncode == 0, shown.stderr
    assert "P(last patient last visit by" in shown.stdout and shown.stdout.endswith("\n")
    assert shown.stdout == command("run", str(BASE_SCENARIO), "-n", "30", "-j", "2", "--no-store").stdout
    assert command("--version").stdout.startswith("ctdild-sim 0.1.0 (")
    refused = command("run", str(BASE_SCENARIO), "-n", "0")
    assert refused.returncode == 2 and "-n" in refused.stderr and "Traceback" not in refused.stderr
    missing = command("run", str(tmp_path / "nowhere.yaml"))
    assert missing.returncode != 0 and "nowhere.yaml" in missing.stderr


def test_the_command_under_a_profiler_ends_as_usual_so_the_profile_is_written(tmp_path):
    import subprocess
    import sys

    profile = tmp_path / "run.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "ctdild_sim", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("ctdild-sim 0.1.0 (") and profile.stat().st_size > 0


def test_a_run_neither_stored_nor_exported_simulates_only_metrics_and_reports_the_same(tmp_path):
    """The terminal report reads only the metrics: without the store and an export, the run keeps
    no records, lot table or demand histograms (metrics-only replicates) and prints the same report."""
    seen: list[dict] = []

    def spy(*a, **k):
        seen.append(k)
        return simulate(*a, **k)

    simulate = run_scenario
    args = ["run", str(BASE_SCENARIO), "-n", "24", "-j", "1", "--keep-events", "5", "--quiet"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ctdild_sim.studies.plan.run_scenario", spy)
        alone = CliRunner().invoke(main, [*args, "--no-store"])
        exported = CliRunner().invoke(main, [*args, "--no-store", "--out", str(tmp_path / "out")])
        stored = CliRunner().invoke(main, [*args, "--results", str(tmp_path / "store")])
    assert alone.exit_code == exported.exit_code == stored.exit_code == 0, alone.output + exported.output
    assert [(k["metrics_only"], k["keep_events"]) for k in seen] == [(True, 0), (False, 5), (False, 5)]
    assert exported.stdout.startswith(alone.stdout.rstrip("\n"))  # the export's line after the same report
    assert stored.stdout.startswith(alone.stdout.rstrip("\n"))
    assert pd.read_parquet(tmp_path / "out" / "events.parquet")["replicate"].nunique() == 5
    assert len(pd.read_parquet(tmp_path / "out" / "lots.parquet")) > 0
