"""Shared fixtures: a deterministic scenario to build test cases from, and event-log helpers."""

from __future__ import annotations

import contextlib
import copy
import os
import runpy
import time
from pathlib import Path

import pandas as pd
import pytest

from ctdild_sim.model.engine import ReplicateResult
from ctdild_sim.model.referrals import DAYS_PER_MONTH
from ctdild_sim.scenario.loading import _deep_merge
from ctdild_sim.scenario.trial import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASE_SCENARIO = SCENARIOS / "nct06574581.yaml"
EXAMPLE = SCENARIOS / "actuals" / "nct06574581-2026-11-25"
"""The shipped example records (simulated), complete to 2026-11-25."""
FORECAST_EXAMPLE = ("forecast", str(BASE_SCENARIO), "--actuals", str(EXAMPLE), "--as-of", "2026-11-25")
"""The README's forecast from the example records, without its replicates and options."""


def compiled_modules() -> list[str]:
    """The modules setup.py compiles with mypyc (read without building anything)."""
    return runpy.run_path(str(ROOT / "setup.py"), run_name="read_only")["COMPILED"]


def fixed(value: float) -> dict:
    return {"dist": "fixed", "value": value}


def per_month(interval_days: float) -> float:
    """The referral rate (per month) that gives one referral every ``interval_days``."""
    return DAYS_PER_MONTH / interval_days


ELIGIBLE_PROFILE = {
    "weight": 1.0,
    "treatment_months": fixed(36),
    "on_potent_immunosuppressant": 1.0,
    "steroid_mg_per_kg_day": fixed(0.2),
    "fvc_decline_pct": fixed(12),
    "dlco_decline_pct": fixed(5),
    "ct_enlarging": 0.0,
    "symptom_onset_days": fixed(900),
    "worsening_dyspnoea_and_hypoxaemia": 0.0,
    "improving_under_treatment": 0.0,
    "death_hazard_per_year": 0.0,
}

DETERMINISTIC = {
    "name": "deterministic",
    "start_date": "2024-08-20",
    "registered_completion_date": "2026-05-30",
    "horizon_days": 5000,
    "sites": [
        {
            "name": "S",
            "activation_days": fixed(10),
            "referral_rate_per_month": per_month(5),
            "referral_rate_cv": 0.0,
            "referral_process": "regular",
        }
    ],
    "population": {
        "age_years": fixed(50),
        "female": 0.0,
        "childbearing_potential": 0.0,
        "menopause_age": 50,
        "pregnant": 0.0,
        "breastfeeding": 0.0,
        "agrees_to_contraception": 1.0,
        "ctd_type": {"systemic_sclerosis": 1.0},
        "ild_profiles": {"fibrotic_progressive": ELIGIBLE_PROFILE},
        "family_support": 1.0,
        "consents": 1.0,
        "got_u_per_l": fixed(30),
        "gpt_u_per_l": fixed(30),
        "enzymes_from_myopathy": 0.0,
        "creatinine_mg_dl": fixed(0.8),
        "immune_deficiency_or_notifiable_infection": 0.0,
        "body_weight_kg": fixed(60),
    },
    "screening": {"duration_days": fixed(14), "window_days": 1000, "on_expiry": "lost", "max_rescreens": 0},
    "cohorts": [
        {"name": "1 infusion", "size": 3, "infusions": 1, "dose_cells_per_kg": 1e6},
        {"name": "2 infusions", "size": 4, "infusions": 2, "dose_cells_per_kg": 1e6},
        {"name": "3 infusions", "size": 3, "infusions": 3, "dose_cells_per_kg": 1e6},
    ],
    "dosing": {
        "enrolment_to_first_infusion_days": fixed(7),
        "repeat_interval_days": fixed(28),
        "stagger_days": 0,
        "beds": 10,
        "length_of_stay_days": fixed(2),
    },
    "safety": {
        "hold_days": 28,
        "adverse_events": [{"name": "serious", "probability": 0.0, "triggers_review": True, "onset_days": fixed(5)}],
        "death_triggers_review": True,
        "review_days": fixed(10),
        "review_outcomes": {"resume": 1.0, "repeat_cohort": 0.0, "stop": 0.0},
        "max_cohort_repeats": 1,
    },
    "retention": {"withdrawal_hazard_per_year": 0.0, "replace_non_evaluable": False},
    "follow_up": {"visit_days": [7, 28]},
}
"""Everyone eligible, fixed durations, regular referrals every 5 days, no AEs, nobody leaves."""


def make_scenario(**overrides) -> Scenario:
    """The deterministic scenario with top-level sections deep-merged from ``overrides``."""
    data = _deep_merge(copy.deepcopy(DETERMINISTIC), overrides)
    return Scenario.model_validate(data)


def events_frame(result: ReplicateResult) -> pd.DataFrame:
    return pd.DataFrame(result.events, columns=["day", "site", "patient_id", "cohort", "event", "detail", "value"])


@pytest.fixture(scope="session", autouse=True)
def away_from_the_repository(tmp_path_factory):
    """Every test runs in a scratch folder, so nothing a test does by default (the results store is
    ``./results``) lands in the user's checkout; the checkout's results/ must not change."""
    user_results = ROOT / "results"
    before = sorted(p.name for p in user_results.iterdir()) if user_results.is_dir() else None
    previous = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)
    after = sorted(p.name for p in user_results.iterdir()) if user_results.is_dir() else None
    assert after == before, "a test wrote into the checkout's results/"


@pytest.fixture
def deterministic() -> Scenario:
    return make_scenario()


DETERMINISTIC_PRODUCT = {
    "vial_cells": 5e7,
    "overage_fraction": 0.0,
    "thaw_to_infusion_hours": fixed(0.5),
    "thaw_window_hours": 1.5,
    "lots": {
        "lead_time_days": fixed(30),
        "yield_cells": fixed(2e9),  # 40 vials: exactly the design's 20 infusions x 2 vials
        "qc_release_days": fixed(14),
        "failure_probability": 0.0,
        "shelf_life_days": 1000,
        "max_parallel_campaigns": 1,
    },
    "initial_lots": 1,
    "initial_stock_age_days": 0,
    "min_remaining_shelf_life_days": 0,
    "reserve_at": "admission",
    "on_screen_expiry": "rescreen",
    "policy": {"kind": "schedule", "start_days": []},
    "order_on_stockout": False,
}
"""One released lot of exactly 40 vials of 5e7 cells on day 0, nothing else ever made."""


def with_product(**overrides) -> dict:
    """The deterministic product section with ``overrides`` deep-merged."""
    return _deep_merge(copy.deepcopy(DETERMINISTIC_PRODUCT), overrides)


def wait_until(condition, what: str, timeout: float = 120, every: float = 0.1) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds (a hang
    guard, not a benchmark). Tests wait on conditions, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def cpu_seconds(pid: int) -> float:
    """CPU time a process and its live children have used (0 once it has gone): how far a command
    under test has got, whatever the machine's speed."""
    import psutil

    try:
        process = psutil.Process(pid)
        total = sum(process.cpu_times()[:2])
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return total
    except psutil.Error:
        return 0.0


def gone(pid: int) -> bool:
    """The process has ended (or is a zombie, waiting to be reaped)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


LANES = ("browser", "build", "signals", "slow")
"""The suite's markers (pyproject.toml). The edit loop's fast lane is ``pytest -m "not slow and not
browser and not build"``; the README's command runs everything."""
OUTSIDE_THE_FAST_LANE = ("slow", "browser", "build")


def pytest_terminal_summary(terminalreporter) -> None:
    """The tests' own time (setup, call, teardown) in the fast lane and under each marker, so CI
    prints the fast lane's runtime on every run."""
    seconds: dict[str, float] = {}
    tests: dict[str, set[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not hasattr(report, "duration") or not hasattr(report, "keywords"):
                continue
            lanes = [lane for lane in LANES if lane in report.keywords]
            if not any(lane in OUTSIDE_THE_FAST_LANE for lane in lanes):
                lanes.append("fast")
            for lane in lanes:
                seconds[lane] = seconds.get(lane, 0.0) + report.duration
                tests.setdefault(lane, set()).add(report.nodeid)
    if seconds:
        shown = "; ".join(
            f"{lane}: {len(tests[lane])} tests, {seconds[lane]:.0f} s" for lane in ("fast", *LANES) if lane in seconds
        )
        terminalreporter.write_line(f"lanes (tests' own time) {shown}")
