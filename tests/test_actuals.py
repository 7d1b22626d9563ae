"""A trial under way: its records written and read back, the engine restarted from them, and the
forecast end to end."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from ctdild_sim.actuals.reader import ActualsError, read_actuals
from ctdild_sim.actuals.state import trial_state
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
from ctdild_sim.studies.forecast import read_state

from conftest import BASE_SCENARIO, SCENARIOS, make_scenario, with_product

EXAMPLE = SCENARIOS / "actuals" / "nct06574581-2026-11-25"
AS_OF = dt.date(2026, 11, 25)


def write(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / name, index=False)
    return folder


def state_of(scenario, result, as_of, folder: Path):
    write(actuals_from_replicate(result, scenario, as_of), folder)
    actuals = read_actuals(folder, scenario, as_of)
    return actuals, trial_state(actuals, scenario)


# -- round trip: a replicate's records give back its state ------------------------------------


def live_state(scenario, seed: int, replicate: int, cut: float) -> Trial:
    """The replicate's own components, run up to the cut (what the records describe)."""
    trial = Trial(scenario, ReplicateStreams.for_replicate(seed, replicate))
    trial.env.run(until=cut)
    return trial


ROUND_TRIPS = [
    ("base", 20240820, 31, dt.date(2026, 11, 25)),
    ("base", 20240820, 27, dt.date(2026, 3, 1)),
    ("base", 7, 0, dt.date(2025, 9, 30)),
    ("two_sites", 20240820, 5, dt.date(2026, 6, 1)),
]


@pytest.mark.parametrize(("name", "seed", "replicate", "as_of"), ROUND_TRIPS)
def test_records_written_and_read_back_give_the_replicates_state(tmp_path, name, seed, replicate, as_of):
    path = BASE_SCENARIO if name == "base" else SCENARIOS / f"nct06574581_{name}.yaml"
    scenario = load_scenario(path)
    result = run_replicate(scenario, seed, replicate)
    actuals, state = state_of(scenario, result, as_of, tmp_path)
    cut = state.restart_day
    assert cut == scenario.day_of(as_of) + 1
    trial = live_state(scenario, seed, replicate, cut)

    def floor(x: float) -> float:
        return float(math.floor(x)) if not math.isnan(x) else x

    live_subjects = {
        p.patient_id: (p.cohort_index, floor(p.enrolled_day), p.status if p.end_day < cut else "ongoing")
        for p in trial.patients
    }
    assert {s.candidate_id: (s.cohort, s.enrolled_day, s.status) for s in state.subjects} == live_subjects
    infused = {(e.patient_id, floor(e.day)) for e in trial.log.rows if e.event == "infused"}
    assert {(s.candidate_id, d) for s in state.subjects for d in s.infusion_days} == infused
    aes = sorted((e.patient_id, floor(e.day), e.detail.split(" (")[0]) for e in trial.log.rows
                 if e.event == "adverse_event")  # fmt: skip
    assert sorted((a.patient_id, a.day, a.name) for a in state.adverse_events) == aes
    for live, restored in zip(trial.gate.cohorts, state.cohorts, strict=True):
        if live.index <= (state.open_cohort if state.open_cohort is not None else 99):
            assert (restored.slots_total, restored.slots_filled, restored.settled, restored.repeats) == (
                live.slots_total, live.slots_filled, live.settled, live.repeats), live.index  # fmt: skip
    open_cohort = trial.gate.open_cohort.index if trial.gate.open_cohort is not None else None
    assert state.open_cohort == open_cohort
    assert sorted(w.candidate_id for w in state.waiting) == sorted(
        e.candidate.candidate_id for e in trial.screening.waiting._entries)  # fmt: skip
    assert (state.pause_started_day is not None) == trial.safety.pause.active
    assert len(state.open_reviews) == trial.safety.open_reviews
    assert state.recruitment_closed == trial.recruitment.closed
    lots = {lot.lot_id: lot for lot in trial.supply.lots}
    assert {lot.lot_id for lot in state.lots} == set(lots)
    for restored in state.lots:
        live = lots[restored.lot_id]
        filled = not math.isnan(live.filled_day) and live.filled_day < cut
        assert restored.vials == (live.vials if filled else None)
        assert (restored.used, restored.wasted, restored.expired) == (live.used, live.wasted, live.expired)
        assert restored.free == (live.free + live.reserved if not math.isnan(live.released_day) else 0)
    assert actuals.warnings == []


def test_the_records_of_trials_drawn_from_the_prior_are_all_accepted(tmp_path):
    """Whatever the engine does, its records are valid records: no false refusals. (Trial 43 once
    was refused: subjects who withdrew after their only infusion, inside the safety hold, had been
    replaced as the engine does, but the cohort-size check counted only those short of infusions.)"""
    scenario = load_scenario(BASE_SCENARIO)
    prior = learn(scenario)
    for i in [43, *range(40)]:
        rng = np.random.default_rng(np.random.SeedSequence(20240820, spawn_key=(TRUTH_STREAM, i)))
        drawn, share = prior.draw(scenario, rng)
        result = run_replicate(drawn, 20240820 + TRUTH_SEED_OFFSET, i, eligible_share=share)
        for cut in (300, 900):
            as_of = scenario.start_date + dt.timedelta(days=cut)
            actuals, _ = state_of(scenario, result, as_of, tmp_path / f"{i}-{cut}")
            assert actuals.warnings == [], (i, cut)


def test_a_trial_its_records_show_stopped_stays_stopped(tmp_path):
    # trial 163 of the prior: a death in cohort 3's follow-up, a review, and the decision to stop
    # (day 843). Restarted on day 901 it once "completed" at once: the last patient had left.
    scenario = load_scenario(BASE_SCENARIO)
    rng = np.random.default_rng(np.random.SeedSequence(20240820, spawn_key=(TRUTH_STREAM, 163)))
    drawn, share = learn(scenario).draw(scenario, rng)
    result = run_replicate(drawn, 20240820 + TRUTH_SEED_OFFSET, 163, eligible_share=share)
    assert result.outcome == "stopped" and result.end_day < 900
    _, state = state_of(scenario, result, scenario.start_date + dt.timedelta(days=900), tmp_path)
    assert state.stopped
    metrics = simulate_metrics(scenario, 5, 1, state=state, workers=1)
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
}


@pytest.mark.parametrize("case", list(EXACT))
def test_restarting_a_deterministic_trial_from_its_records_gives_the_same_milestones(tmp_path, case):
    overrides, cuts = EXACT[case]
    scenario = make_scenario(**overrides)
    whole = replicate_metrics(run_replicate(scenario, 1, 0), scenario)
    columns = milestone_columns(len(scenario.cohorts))
    for cut in cuts:
        as_of = scenario.start_date + dt.timedelta(days=cut)
        _, state = state_of(scenario, run_replicate(scenario, 1, 0), as_of, tmp_path / str(cut))
        restarted = replicate_metrics(run_replicate(scenario, 1, 0, state), scenario)
        assert {c: restarted[c] for c in columns} == {c: whole[c] for c in columns}, cut
        for count in ("n_referred", "n_screened", "n_enrolled", "n_infusions"):
            assert restarted[count] == whole[count], (cut, count)


def test_a_forecast_as_of_day_0_with_no_records_is_the_plan(tmp_path):
    scenario = load_scenario(BASE_SCENARIO)
    empty = tmp_path / "empty"
    empty.mkdir()
    _, state = read_state(scenario, empty, scenario.start_date)
    n = 600
    restarted = simulate_metrics(scenario, n, 11, state=state, workers=2)
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
    _, state = read_state(scenario, EXAMPLE, dt.date(2026, 11, 25))
    result = run_replicate(scenario, 3, 0, state)
    recorded = {s.candidate_id: s for s in state.subjects}
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
        assert patient.cells_infused == pytest.approx(len(subject.infusion_days) * subject.body_weight_kg * dose)
        row = table.loc[patient.patient_id]
        assert row["observed"] and row["body_weight_kg"] == subject.body_weight_kg
        facts = row[["age", "female", "ctd_type", "ild_profile"]]
        assert facts.isna().all() if not subject.ongoing else facts.notna().all()


# -- the command ---------------------------------------------------------------------------------


def test_forecast_command_on_the_shipped_example(tmp_path):
    store, out = tmp_path / "results", tmp_path / "out"
    result = CliRunner().invoke(main, [
        "forecast", str(BASE_SCENARIO), "--actuals", str(EXAMPLE), "--as-of", "2026-11-25", "-n", "40",
        "-j", "2", "--target-date", "2028-12-31", "--target-stockout", "0.2", "--plan-replicates", "25",
        "--results", str(store), "--out", str(out), "--quiet",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "forecast as of 2026-11-25" in text and "P(last patient last visit by 2028-12-31)" in text
    assert "Where the trial stands against the plan" in text and "Subjects enrolled" in text
    assert "Lots to start from 2026-11-25" in text
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
    assert "On 25 fresh replicates" in text
    starts = tables["lots_to_start"]
    assert (starts["needed_in"] * 25).round(9).eq((starts["needed_in"] * 25).round()).all()
    assert starts["needed_in"].max() <= 1


def test_synthetic_records_command_writes_the_import_format(tmp_path):
    out = tmp_path / "records"
    result = CliRunner().invoke(main, ["actuals", str(BASE_SCENARIO), "--replicate", "31", "--as-of", "2026-11-25",
                                       "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("sites.csv", "screening.csv", "subjects.csv", "infusions.csv", "lots.csv"):
        assert (out / name).read_text() == (EXAMPLE / name).read_text(), name
    assert "simulated, not the trial's data" in (out / "README.md").read_text()
    read_actuals(out, load_scenario(BASE_SCENARIO), AS_OF)


# -- malformed records ---------------------------------------------------------------------------


def _edit(name: str, old: str, new: str):
    def change(folder: Path) -> None:
        path = folder / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))

    return change


def _write_file(name: str, content: bytes):
    return lambda folder: (folder / name).write_bytes(content)


MALFORMED = [
    # (id, change, file, line, column, problem)
    ("unknown-column", _edit("subjects.csv", "body_weight_kg", "weight"), "subjects.csv", 1, "weight",
     "unknown column; did you mean 'body_weight_kg'?"),
    ("missing-column", _edit("subjects.csv", "subject_id,cohort,", "cohort,"), "subjects.csv", 1, None,
     "missing column subject_id"),
    ("bad-date", _edit("subjects.csv", "2024-12-20", "2024-13-20"), "subjects.csv", 2, "enrolled_on",
     "Input should be a valid date"),
    ("future-date", _edit("infusions.csv", "2026-11-13,2026-11-15", "2026-11-13,2026-12-15"), "infusions.csv", 12,
     "discharged_on", "2026-12-15 is after the as-of date 2026-11-25"),
    ("before-start", _edit("sites.csv", "2024-09-19", "2024-01-01"), "sites.csv", 2, "activated_on",
     "is before the study's start 2024-08-20"),
    ("infusion-before-enrolment", _edit("infusions.csv", "2,1,2025-01-05,2025-01-05", "2,1,2024-12-05,2025-01-05"),
     "infusions.csv", 2, "admitted_on", "is before the subject's enrolment"),
    ("unknown-criterion", _edit("screening.csv", "I2_ild_pathway,\n", "I2_ild_pathwy,\n"), "screening.csv", 2,
     "failed_criteria", "unknown criterion 'I2_ild_pathwy'; did you mean 'I2_ild_pathway'?"),
    ("unknown-site", _edit("screening.csv", "1,CMUH,", "1,CMHU,"), "screening.csv", 2, "site",
     "unknown site 'CMHU'; did you mean 'CMUH'?"),
    ("unknown-ae", _edit("adverse_events.csv", "transient_fever", "transient_fevre"), "adverse_events.csv", 2, "name",
     "unknown AE kind 'transient_fevre'; did you mean 'transient_fever'?"),
    ("unknown-lot", _edit("infusions.csv", "2025-01-08,1,2", "2025-01-08,9,2"), "infusions.csv", 2, "lot_id",
     "no lot 9 in lots.csv"),
    ("lot-over-used", _edit("lots.csv", "2025-06-21,16,6,0,10", "2025-06-21,4,0,0,"),
     "lots.csv", 2, "vials", "infusions.csv uses 6 vials of lot 1, which has 4"),
    ("lot-counts-exceed-vials", _edit("lots.csv", ",16,6,0,10", ",16,6,3,10"), "lots.csv", 2, None,
     "exceed the lot's 16 vials"),
    ("duplicate-subject", _edit("subjects.csv", "3,1,2024-12-28", "2,1,2024-12-28"), "subjects.csv", 3, "subject_id",
     "2 is listed again (first on line 2)"),
    ("duplicate-lot", _edit("lots.csv", "\n2,False", "\n1,False"), "lots.csv", 3, "lot_id", "is listed again"),
    ("empty-file", _write_file("reviews.csv", b""), "reviews.csv", 1, None, "empty file"),
    ("non-utf8", _write_file("sites.csv", "site,activated_on\nCMUH\xe9,2024-09-19\n".encode("latin-1")),
     "sites.csv", None, None, "not UTF-8 text"),
    ("binary", _write_file("sites.csv", b"site,activated_on\n\x00\x01\x02\n"), "sites.csv", None, None,
     "not a text file"),
    ("wrong-cell-count", _edit("sites.csv", "CMUH,2024-09-19", "CMUH,2024-09-19,extra"), "sites.csv", 2, None,
     "3 cells where the header names 2 columns"),
    ("subject-without-screening", _edit("screening.csv", "passed,,2024-12-20", "passed,,"), "subjects.csv", 2,
     "subject_id", "no passed screening of candidate 2"),
    ("too-many-infusions", _edit("infusions.csv", "\n3,1,", "\n3,2,"), "infusions.csv", 3, "infusion",
     "infusion 2: cohort 1 gives 1"),
    ("failed-without-criteria", _edit("screening.csv", "failed,I2_ild_pathway,\n", "failed,,\n"), "screening.csv", 2,
     "failed_criteria", "a failed screening names the criteria it failed"),
    ("status-without-day", _edit("subjects.csv", "completed,2025-06-22", "completed,"), "subjects.csv", 2,
     "status_on", "a subject who is completed needs the day it happened"),
    ("unknown-file", _write_file("subject.csv", b"subject_id\n1\n"), "subject.csv", None, None,
     "not an actuals file; did you mean 'subjects.csv'?"),
    ("cohort-too-full", _edit("subjects.csv", "6,1,2025-03-01", "6,2,2025-03-01"), None, None, None, None),
    ("bad-boolean", _edit("adverse_events.csv", "False", "perhaps"), "adverse_events.csv", 2, "triggers_review",
     "Input should be a valid boolean"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "change", "file", "line", "column", "problem"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_records_are_refused_with_file_row_column_and_problem(tmp_path, case, change, file, line, column,
                                                                        problem):  # fmt: skip
    folder = tmp_path / "records"
    shutil.copytree(EXAMPLE, folder)
    change(folder)
    store, out = tmp_path / "results", tmp_path / "out"
    result = CliRunner().invoke(main, ["forecast", str(BASE_SCENARIO), "--actuals", str(folder), "--as-of",
                                       "2026-11-25", "-n", "2", "--no-lot-plan", "--results", str(store), "--out",
                                       str(out)])  # fmt: skip
    if case == "cohort-too-full":  # a protocol deviation, not an error: it runs, with a warning
        assert result.exit_code == 0, result.output
        assert "protocol deviation" in result.stdout or "before cohort" in result.stdout
        return
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    where = f"{folder / file}" + (f":{line}" if line else "") + (f":{column}" if column else "")
    assert f"{where}: " in result.stderr and problem in result.stderr, result.stderr
    assert not store.exists() and not out.exists()


def test_every_problem_of_a_folder_is_reported_at_once(tmp_path):
    folder = tmp_path / "records"
    shutil.copytree(EXAMPLE, folder)
    cases = {m[0]: m for m in MALFORMED}
    chosen = ("unknown-column", "bad-boolean", "failed-without-criteria", "wrong-cell-count")
    for case in chosen:
        cases[case][1](folder)
    with pytest.raises(ActualsError) as caught:
        read_actuals(folder, load_scenario(BASE_SCENARIO), AS_OF)
    assert len(caught.value.problems) == len(chosen)
    for case in chosen:
        assert any(cases[case][5] in problem for problem in caught.value.problems), case
