"""A trial under way: its records written and read back, the engine restarted from them, and the
forecast end to end."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from ctdild_sim.actuals.reader import read_actuals
from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.synthetic import actuals_from_replicate
from ctdild_sim.analysis.metrics import milestone_columns, replicate_metrics
from ctdild_sim.analysis.tables import patients_table
from ctdild_sim.cli import main
from ctdild_sim.learning.posterior import learn
from ctdild_sim.model.engine import Trial, run_replicate
from ctdild_sim.runs.results import list_runs, load
from ctdild_sim.runs.runner import simulate_metrics
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.sim.streams import ReplicateStreams
from ctdild_sim.studies.calibration import TRUTH_SEED_OFFSET, TRUTH_STREAM
from ctdild_sim.views.forecast import forecast_view
from ctdild_sim.views.plan import plan_view
from ctdild_sim.views.product import product_view
from dashboard.data import load_run

from conftest import BASE_SCENARIO, EXAMPLE, FORECAST_EXAMPLE, SCENARIOS, make_scenario, with_product

AS_OF = dt.date(2026, 11, 25)


def write(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / name, index=False)
    return folder


def records_of(scenario, result, as_of, folder: Path):
    """What ``ctdild-sim actuals`` writes of a replicate, read back."""
    write(actuals_from_replicate(result, scenario, as_of), folder)
    return read_records(folder, scenario, as_of)


def prior_trial(scenario, i: int):
    """True trial ``i`` drawn from the prior, as the calibration study draws it."""
    rng = np.random.default_rng(np.random.SeedSequence(20240820, spawn_key=(TRUTH_STREAM, i)))
    drawn, share = learn(scenario).draw(scenario, rng)
    return run_replicate(drawn, 20240820 + TRUTH_SEED_OFFSET, i, eligible_share=share)


# -- round trip: a replicate's records give back its state and its history ---------------------


def run_until(trial: Trial, cut: float) -> Trial:
    trial.env.run(until=cut)
    return trial


ROUND_TRIPS = [
    ("base", 20240820, 31, dt.date(2026, 11, 25)),
    ("base", 20240820, 27, dt.date(2026, 3, 1)),
    ("base", 7, 0, dt.date(2025, 9, 30)),
    ("two_sites", 20240820, 5, dt.date(2026, 6, 1)),
]


@pytest.mark.parametrize(("name", "seed", "replicate", "as_of"), ROUND_TRIPS)
def test_records_written_and_read_back_drive_the_engine_to_the_replicates_state(tmp_path, name, seed, replicate, as_of):
    """The replicate's own components at the cut, against the same components driven by its records
    to the restart: subjects, infusions, AEs, cohorts' slots, the waiting list, pauses, reviews,
    recruitment and lots."""
    path = BASE_SCENARIO if name == "base" else SCENARIOS / f"nct06574581_{name}.yaml"
    scenario = load_scenario(path)
    records = records_of(scenario, run_replicate(scenario, seed, replicate), as_of, tmp_path)
    cut = records.restart_day
    assert cut == scenario.day_of(as_of) + 1
    live = run_until(Trial(scenario, ReplicateStreams.for_replicate(seed, replicate)), cut)
    replay = run_until(Trial(scenario, ReplicateStreams.for_replicate(99, 0), records.trace), cut)

    def floor(x: float) -> float:
        return float(math.floor(x)) if not math.isnan(x) else x

    def subjects(trial):
        return {
            p.patient_id: (p.cohort_index, floor(p.enrolled_day), p.status, p.infusions_given) for p in trial.patients
        }

    assert subjects(replay) == subjects(live)

    def logged(trial, kind: str) -> list:
        return sorted((e.patient_id, floor(e.day), e.detail.split(" (")[0]) for e in trial.log.rows if e.event == kind)

    for kind in ("infused", "adverse_event", "review_opened", "review_completed", "hold_completed"):
        assert logged(replay, kind) == logged(live, kind), kind
    for a, b in zip(replay.gate.cohorts, live.gate.cohorts, strict=True):
        assert (a.slots_total, a.slots_filled, a.settled, a.repeats) == (
            b.slots_total,
            b.slots_filled,
            b.settled,
            b.repeats,
        ), a.index
    assert (
        replay.gate.open_cohort or live.gate.open_cohort
    ) is None or replay.gate.open_cohort.index == live.gate.open_cohort.index
    assert sorted(e.candidate_id for e in replay.screening.waiting._entries) == sorted(
        e.candidate_id for e in live.screening.waiting._entries
    )
    assert replay.safety.pause.active == live.safety.pause.active
    assert replay.safety.open_reviews == live.safety.open_reviews
    assert replay.recruitment.closed == live.recruitment.closed
    replay.supply.reconcile()
    lots = {lot.lot_id: lot for lot in live.supply.lots}
    assert {lot.lot_id for lot in replay.supply.lots} == set(lots)
    for restored in replay.supply.lots:
        truth = lots[restored.lot_id]
        if not math.isnan(truth.filled_day) and truth.filled_day < cut:
            assert restored.vials == truth.vials
        assert (restored.used, restored.wasted, restored.expired) == (truth.used, truth.wasted, truth.expired)
        assert restored.free == truth.free + truth.reserved
    assert records.warnings == []


NOT_RECORDED = {"bed_wait_ended", "product_wait_started", "product_wait_ended"}
"""Waits the format has no column for: when a subject was ready for a bed or for product."""
COUNTED_IN_VIALS = {"vials_thawed", "vials_wasted", "vials_expired"}
"""Lots' vials the records count per lot, not per event: compared by vials."""


def history_counts(events, cut: float) -> tuple[Counter, Counter]:
    """Each event type's count before ``cut`` (vials for ``COUNTED_IN_VIALS``), leaving out waits the
    format does not hold, a thaw wasted for an infusion not given by the cut (the records count it
    in its lot, with no day), and a visit on the day its subject left (records hold days: the
    order of the two that day is not in them)."""
    events = [e for e in events if e.day < cut]
    left = {(e.patient_id, math.floor(e.day)) for e in events if e.event in ("died", "withdrawn", "lost")}
    last_admission = {}
    for e in events:
        if e.event == "admitted":
            last_admission[e.patient_id] = e.day
    counts, vials = Counter(), Counter()
    for e in events:
        if e.event in NOT_RECORDED or (e.event == "visit" and (e.patient_id, math.floor(e.day)) in left):
            continue
        if (
            e.event in ("vials_thawed", "vials_wasted")
            and e.day > last_admission.get(e.patient_id, -1)
            and not any(x.event == "infused" and x.patient_id == e.patient_id and x.day >= e.day for x in events)
        ):
            continue
        if e.event in COUNTED_IN_VIALS:
            vials[e.event] += e.value
        else:
            counts[e.event] += 1
    return counts, vials


def test_every_event_a_replicate_logged_by_the_as_of_date_is_in_the_forecasts_history(tmp_path):
    """Records written from a replicate (``ctdild-sim actuals``) and read back: every event type the
    replicate logged up to the as-of date is in the observed history with the same count. The
    cases cover AEs, reviews, rescreens, replacements, repeats, lot failures and expiries."""
    scenario = load_scenario(BASE_SCENARIO)
    seen = Counter()
    for i in range(40):
        result = prior_trial(scenario, i)
        for cut_day in (300, 900):
            as_of = scenario.start_date + dt.timedelta(days=cut_day)
            records = records_of(scenario, result, as_of, tmp_path / f"{i}-{cut_day}")
            cut = records.restart_day
            expected, observed = history_counts(result.events, cut), history_counts(records.observed.history, cut)
            assert observed == expected, (i, cut_day)
            assert records.warnings == [], (i, cut_day)  # a replicate never deviates from the protocol
            seen += expected[0]
            seen["rescreen"] += sum(1 for e in result.events if e.day < cut and e.event == "screen_passed" and e.value)
    for kind in (
        "adverse_event",
        "review_completed",
        "rescreen",
        "replacement_added",
        "cohort_repeated",
        "lot_failed",
        "screen_expired",
        "died",
        "withdrawn",
    ):
        assert seen[kind] > 0, kind


def test_a_trial_its_records_show_stopped_stays_stopped(tmp_path):
    # trial 163 of the prior: a death in cohort 3's follow-up, a review, and the decision to stop
    # (day 843). Restarted on day 901 it once "completed" at once: the last patient had left.
    scenario = load_scenario(BASE_SCENARIO)
    result = prior_trial(scenario, 163)
    assert result.outcome == "stopped" and result.end_day < 900
    records = records_of(scenario, result, scenario.start_date + dt.timedelta(days=900), tmp_path)
    assert records.observed.stopped
    metrics = simulate_metrics(scenario, 5, 1, trace=records.trace, workers=1)
    assert metrics["stopped_early"].all() and metrics["lplv_day"].isna().all()


# -- exact restarts ------------------------------------------------------------------------------

EXACT = {
    "listing": ({}, [5, 20, 30, 40, 60, 75, 100, 140, 180, 210, 230]),
    "product": ({"product": with_product()}, [5, 30, 40, 60, 75, 100, 140, 180, 210]),
    "lots ordered": (
        {"product": with_product(initial_lots=0, policy={"kind": "schedule", "start_days": [0, 60, 120]})},
        [5, 30, 45, 70, 100, 130, 160, 200],
    ),
    "sentinel, one bed": ({"dosing": {"stagger_days": 7, "beds": 1}}, [30, 40, 50, 80, 120, 160, 250]),
    "rescreens": (
        {"screening": {"window_days": 20, "on_expiry": "rescreen", "max_rescreens": 1}},
        [30, 50, 80, 100, 150, 200],
    ),
    "lots expiring": (  # 40-vial lots on days 0, 60 and 120 that keep 90 days: most of their vials expire
        {
            "product": with_product(
                initial_lots=0, policy={"kind": "schedule", "start_days": [0, 60, 120]}, lots={"shelf_life_days": 90}
            )
        },
        [5, 30, 45, 70, 100, 130, 160, 200, 250],
    ),
}


def lot_figures(result) -> list[tuple]:
    return sorted(
        (
            lot.lot_id,
            lot.ordered_day,
            lot.filled_day,
            lot.released_day,
            lot.expiry_day,
            lot.vials,
            lot.used,
            lot.wasted,
            lot.expired,
            lot.destroyed,
            lot.free + lot.reserved,
        )
        for lot in result.lots
    )


@pytest.mark.parametrize("case", list(EXACT))
def test_restarting_a_deterministic_trial_from_its_records_gives_the_same_milestones_and_lots(tmp_path, case):
    overrides, cuts = EXACT[case]
    scenario = make_scenario(**overrides)
    uninterrupted = run_replicate(scenario, 1, 0)
    whole = replicate_metrics(uninterrupted, scenario)
    columns = milestone_columns(len(scenario.cohorts))
    for cut in cuts:
        as_of = scenario.start_date + dt.timedelta(days=cut)
        records = records_of(scenario, run_replicate(scenario, 1, 0), as_of, tmp_path / str(cut))
        restarted_run = run_replicate(scenario, 1, 0, records.trace)
        restarted = replicate_metrics(restarted_run, scenario)
        assert {c: restarted[c] for c in columns} == {c: whole[c] for c in columns}, cut
        for count in (
            "n_referred",
            "n_screened",
            "n_enrolled",
            "n_infusions",
            "vials_used",
            "vials_expired",
            "lots_started",
        ):
            assert restarted[count] == whole[count], (cut, count)
        assert lot_figures(restarted_run) == lot_figures(uninterrupted), cut


@pytest.mark.slow
def test_a_forecast_as_of_day_0_with_no_records_is_the_plan(tmp_path):
    scenario = load_scenario(BASE_SCENARIO)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "sites.csv").write_text("site,activated_on\n")  # nothing recorded yet
    records = read_records(empty, scenario, scenario.start_date)
    n = 600
    restarted = simulate_metrics(scenario, n, 11, trace=records.trace, workers=2)
    planned = simulate_metrics(scenario, n, 12, workers=2)
    for column in ("first_infusion_day", "cohort1_gate_day", "lplv_day"):
        a, b = (np.nan_to_num(m[column].to_numpy(dtype=float), nan=1e9) for m in (restarted, planned))
        assert stats.ks_2samp(a, b).pvalue > 0.001, column
    p, q = restarted["lplv_day"].notna().mean(), planned["lplv_day"].notna().mean()
    assert abs(p - q) < 4 * math.sqrt(p * (1 - p) / n + q * (1 - q) / n)


def test_subjects_off_study_are_restored_from_their_records_without_drawn_facts():
    """A subject who has left the study gets no drawn screening record (nothing reads it, and the
    records do not hold it): the patients table leaves those facts blank; a subject still on study
    gets one (its ILD profile sets the death hazard). Both keep their recorded weight and doses."""
    scenario = load_scenario(BASE_SCENARIO)
    records = read_records(EXAMPLE, scenario, dt.date(2026, 11, 25))
    result = run_replicate(scenario, 3, 0, records.trace)
    recorded = records.trace.subjects
    assert {s.status for s in recorded.values()} == {"completed", "ongoing"}
    table = patients_table([result]).set_index("patient_id")
    for patient in result.patients:
        subject = recorded.get(patient.patient_id)
        if subject is None:  # enrolled after the restart: screened in the replicate
            assert patient.record is not None and patient.body_weight_kg == patient.record.body_weight_kg
            continue
        assert (patient.record is None) == (not subject.ongoing)
        assert patient.body_weight_kg == subject.body_weight_kg
        dose = scenario.cohorts[subject.cohort].dose_cells_per_kg
        given = len(subject.infusions) if not subject.ongoing else patient.infusions_given
        assert patient.cells_infused == pytest.approx(given * subject.body_weight_kg * dose)
        row = table.loc[patient.patient_id]
        assert row["observed"] and row["body_weight_kg"] == subject.body_weight_kg
        facts = row[["age", "female", "ctd_type", "ild_profile"]]
        assert facts.isna().all() if not subject.ongoing else facts.notna().all()


# -- the command ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_forecast_command_on_the_shipped_example(tmp_path):
    store, out = tmp_path / "results", tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            *FORECAST_EXAMPLE,
            "-n",
            "40",
            "-j",
            "2",
            "--target-date",
            "2028-12-31",
            "--target-stockout",
            "0.2",
            "--plan-replicates",
            "25",
            "--results",
            str(store),
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "forecast as of 2026-11-25" in text and "P(last patient last visit by 2028-12-31)" in text
    assert "where the trial stands against the plan" in text and "Subjects enrolled" in text
    assert "lots still to start" in text and "when the k-th lot is ordered after 2026-11-25" in text
    [run] = list_runs(store)
    manifest = run.manifest
    assert manifest["kind"] == "forecast" and manifest["as_of"] == "2026-11-25"
    files = sorted(p.name for p in EXAMPLE.glob("*.csv"))
    assert sorted(manifest["actuals_sha256"]) == files
    tables = load(run.run_id, store)
    milestones = tables["milestones"].set_index("milestone")
    assert milestones.loc["cohort1_gate_day", "status"] == "observed"
    assert str(milestones.loc["cohort1_gate_day", "observed_date"]) == "2025-04-03"
    assert milestones.loc["lplv_day", "status"] == "forecast"
    events = tables["events"]
    assert events["observed"].any() and (~events["observed"]).any()
    assert (events.loc[events["observed"], "day"] < 828).all()  # observed rows lie before the restart
    plan = tables["plan_vs_actual"].set_index("measure")
    assert plan.loc["enrolled", "actual_count"] == 7 and plan.loc["infused", "actual_count"] == 11
    assert str(plan.loc["cohort1_gate_day", "actual_date"]) == "2025-04-03"
    assert 0 <= plan.loc["cohort1_gate_day", "percentile"] <= 100
    assert (out / "plan_vs_actual.csv").exists() and (out / "milestones.parquet").exists()
    # the lot plan ran its candidates and its fresh check on 25 replicates, not the forecast's 40:
    # the lots still to start are shares of those 25
    assert "on 25 fresh replicates" in text
    starts = tables["lots_to_start"]
    assert (starts["needed_in"] * 25).round(9).eq((starts["needed_in"] * 25).round()).all()
    assert starts["needed_in"].max() <= 1


def test_a_forecast_of_a_scenario_without_product_runs_stores_and_reports(tmp_path):
    """It once failed with KeyError: 'replicate' whatever the options; the records' lots it cannot use
    are said, not silently dropped."""
    data = yaml.safe_load(BASE_SCENARIO.read_text())
    del data["product"]
    scenario = tmp_path / "no-product.yaml"
    scenario.write_text(yaml.safe_dump(data))
    store, out = tmp_path / "results", tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "forecast",
            str(scenario),
            "--actuals",
            str(EXAMPLE),
            "--as-of",
            "2026-11-25",
            "-n",
            "12",
            "--results",
            str(store),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "lots.csv: 4 lots and the lots of 11 infusions are not used: the scenario has no product section" in (
        " ".join(result.output.split())
    )
    [run] = list_runs(store)
    assert load(run.run_id, store)["lots_to_start"].empty and (out / "lots_to_start.csv").exists()
    for pack in (tmp_path / "pack.xlsx", tmp_path / "pack.html"):
        reported = CliRunner().invoke(main, ["report", run.run_id, "--results", str(store), "--out", str(pack)])
        assert reported.exit_code == 0, reported.output
        assert pack.exists()
    for view in (forecast_view, plan_view, product_view):  # the dashboard's pages
        view([load_run(store, run.run_id)])


def test_synthetic_records_command_writes_the_import_format(tmp_path):
    out = tmp_path / "records"
    result = CliRunner().invoke(
        main, ["actuals", str(BASE_SCENARIO), "--replicate", "31", "--as-of", "2026-11-25", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in ("sites.csv", "screening.csv", "subjects.csv", "infusions.csv", "lots.csv"):
        assert (out / name).read_text() == (EXAMPLE / name).read_text(), name
    assert "simulated, not the trial's data" in (out / "README.md").read_text()
    read_actuals(out, load_scenario(BASE_SCENARIO), AS_OF)
