"""Deterministic scenarios whose timelines are worked out by hand (see each test's comment)."""

from __future__ import annotations

import math

import pytest

from ctdild_sim.analysis.metrics import replicate_metrics
from ctdild_sim.model.engine import run_replicate

from conftest import fixed, make_scenario, per_month


def metrics_of(scenario, seed=1, replicate=0):
    result = run_replicate(scenario, seed, replicate)
    return result, replicate_metrics(result, scenario)


def test_listing_design_milestones_by_hand(deterministic):
    # Referrals every 5 days after activation on day 10: 15, 20, 25, ...; screening 14 days, so
    # passes on 29, 34, 39, 44, ... Cohort 1 enrols 29, 34, 39 and infuses 7 days later (36, 41,
    # 46); holds end 64, 69, 74 -> gate 1 on 74. Cohort 2 takes the candidates waiting since 44,
    # 49, 54, 59 on day 74, infuses on 81 and 109; holds end 137 -> gate 2. Cohort 3 enrols on
    # 137, infuses 144, 172, 200; the hold and the day-28 visit end on 228 = LPLV.
    result, m = metrics_of(deterministic)
    assert result.outcome == "completed"
    expected = {
        "first_infusion_day": 36,
        "cohort1_enrolled_day": 39,
        "cohort1_gate_day": 74,
        "cohort2_enrolled_day": 74,
        "cohort2_gate_day": 137,
        "cohort3_enrolled_day": 137,
        "cohort3_gate_day": 228,
        "lpi_day": 137,
        "last_infusion_day": 200,
        "lplv_day": 228,
    }
    assert {k: m[k] for k in expected} == pytest.approx(expected)
    assert m["n_enrolled"] == 10
    assert m["n_infusions"] == 20
    assert m["n_screen_failed"] == 0
    assert m["n_pauses"] == 0 and m["pause_days"] == 0
    assert m["cells_infused"] == pytest.approx(20 * 60 * 1e6)
    # Cohort 2's four waited 74 - (44, 49, 54, 59) days; cohort 3's three 137 - (64, 69, 74).
    assert m["slot_wait_days"] == pytest.approx((30 + 25 + 20 + 15) + (73 + 68 + 63))


def test_same_timeline_whatever_the_seed(deterministic):
    days = {metrics_of(deterministic, seed=s)[1]["lplv_day"] for s in (1, 2, 3)}
    assert days == {228}


def test_one_bed_queues_admissions_by_hand():
    # One cohort of 4 with 2 infusions; referrals daily from day 11, so passes on 25..28 and
    # admissions wanted on 32..35. One bed, 10-day stays: first infusions 32, 42, 52, 62 (waits
    # 0, 9, 18, 27). Second infusions are due 60, 70, 80, 90 but the bed is busy until 72, then
    # each waits for the one before: 72, 82, 92, 102 (12 days' wait each). The last hold ends
    # 102 + 28 = 130.
    scenario = make_scenario(
        sites=[
            {
                "name": "S",
                "activation_days": fixed(10),
                "referral_rate_per_month": per_month(1),
                "referral_rate_cv": 0.0,
                "referral_process": "regular",
            }
        ],
        cohorts=[{"name": "2 infusions", "size": 4, "infusions": 2, "dose_cells_per_kg": 1e6}],
        dosing={"beds": 1, "length_of_stay_days": fixed(10)},
    )
    result, m = metrics_of(scenario)
    infusions = sorted(e.day for e in result.events if e.event == "infused")
    assert infusions == pytest.approx([32, 42, 52, 62, 72, 82, 92, 102])
    assert m["bed_wait_days"] == pytest.approx(9 + 18 + 27 + 4 * 12)
    assert m["cohort1_gate_day"] == pytest.approx(130)


def two_single_subject_cohorts(**safety):
    return make_scenario(
        sites=[
            {
                "name": "S",
                "activation_days": fixed(0),
                "referral_rate_per_month": per_month(1),
                "referral_rate_cv": 0.0,
                "referral_process": "regular",
            }
        ],
        cohorts=[
            {"name": "A", "size": 1, "infusions": 1, "dose_cells_per_kg": 1e6},
            {"name": "B", "size": 1, "infusions": 1, "dose_cells_per_kg": 1e6},
        ],
        safety=safety,
    )


def test_triggering_ae_pauses_and_resumes_exact_log():
    # Candidate 1 referred day 1, passes 15, infused 22; its AE shows on 27 and pauses the trial
    # for a 10-day review (resume). The hold ends 50 -> gate 1; cohort 2 takes candidate 2
    # (waiting since 16) on 50, infuses 57, AE on 62, review to 72, hold ends 85. Subject 1's
    # last visit (day 28 after infusion) is also on 50.
    scenario = two_single_subject_cohorts(
        adverse_events=[{"name": "serious", "probability": 1.0, "triggers_review": True, "onset_days": fixed(5)}]
    )
    result = run_replicate(scenario, 1, 0)
    log = [(e.day, e.event, e.patient_id, e.cohort) for e in result.events if e.event not in ("referred", "visit")]
    assert log[:8] == [
        (0.0, "cohort_opened", None, 1),
        (0.0, "site_activated", None, None),
        (15.0, "screen_passed", 1, None),
        (15.0, "enrolled", 1, 1),
        (15.0, "cohort_enrolled", None, 1),
        (16.0, "screen_passed", 2, None),
        (17.0, "screen_passed", 3, None),
        (18.0, "screen_passed", 4, None),
    ]
    key = [(d, ev, pid) for d, ev, pid, _ in log if ev not in ("screen_passed",)]
    assert key == [
        (0.0, "cohort_opened", None),
        (0.0, "site_activated", None),
        (15.0, "enrolled", 1),
        (15.0, "cohort_enrolled", None),
        (22.0, "admitted", 1),
        (22.0, "infused", 1),
        (24.0, "discharged", 1),
        (27.0, "adverse_event", 1),
        (27.0, "review_opened", 1),
        (27.0, "pause_started", 1),
        (37.0, "review_completed", 1),
        (37.0, "pause_ended", None),
        (50.0, "hold_completed", 1),
        (50.0, "gate_passed", None),
        (50.0, "cohort_opened", None),
        (50.0, "enrolled", 2),  # the open slot is filled the moment the cohort opens
        (50.0, "cohort_enrolled", None),
        (50.0, "recruitment_closed", None),
        (50.0, "follow_up_completed", 1),
        (57.0, "admitted", 2),
        (57.0, "infused", 2),
        (59.0, "discharged", 2),
        (62.0, "adverse_event", 2),
        (62.0, "review_opened", 2),
        (62.0, "pause_started", 2),
        (72.0, "review_completed", 2),
        (72.0, "pause_ended", None),
        (85.0, "hold_completed", 2),
        (85.0, "gate_passed", None),
        (85.0, "follow_up_completed", 2),
        (85.0, "trial_completed", None),
    ]
    m = replicate_metrics(result, scenario)
    assert m["n_pauses"] == 2 and m["pause_days"] == pytest.approx(20)
    assert m["n_triggering_ae"] == 2


def test_pause_longer_than_hold_delays_the_gate():
    # Same as above with a 40-day review: the pause from 27 to 67 outlasts the hold ending 50,
    # so gate 1 passes when the review reports, on 67.
    scenario = two_single_subject_cohorts(
        adverse_events=[{"name": "serious", "probability": 1.0, "triggers_review": True, "onset_days": fixed(5)}],
        review_days=fixed(40),
    )
    _, m = metrics_of(scenario)
    assert m["cohort1_gate_day"] == pytest.approx(67)
    assert m["cohort2_enrolled_day"] == pytest.approx(67)


def test_repeat_then_stop_beyond_max_repeats():
    # Every review asks for a repeat; one repeat is allowed. Subject 1's AE (27) -> review to
    # 37: repeat, cohort 1 takes candidate 2 (waiting since 16) on 37, infused 44, AE on 49 ->
    # review to 59: a second repeat is not allowed, so the trial stops on 59.
    scenario = two_single_subject_cohorts(
        adverse_events=[{"name": "serious", "probability": 1.0, "triggers_review": True, "onset_days": fixed(5)}],
        review_outcomes={"resume": 0.0, "repeat_cohort": 1.0, "stop": 0.0},
    )
    result, m = metrics_of(scenario)
    assert result.outcome == "stopped"
    assert m["stopped_early"] and m["stop_day"] == pytest.approx(59)
    assert m["n_cohort_repeats"] == 1
    assert m["n_enrolled"] == 2
    assert math.isnan(m["cohort1_gate_day"]) and math.isnan(m["lplv_day"])


def test_sentinel_stagger_spaces_first_infusions():
    # Cohort 1's three subjects enrol on 29, 34 and 39 and would infuse 36, 41, 46; with 8 days
    # between first infusions they infuse 36, 44, 52.
    scenario = make_scenario(dosing={"stagger_days": 8})
    result, _ = metrics_of(scenario)
    firsts = sorted(e.day for e in result.events if e.event == "infused" and e.cohort == 1)
    assert firsts == pytest.approx([36, 44, 52])


def test_screen_expiry_then_rescreen():
    # A 20-day window with one rescreen allowed: candidates waiting through a gate expire, are
    # rescreened once (everyone passes again: same person, same facts) and lost at a second expiry.
    scenario = make_scenario(screening={"window_days": 20, "on_expiry": "rescreen", "max_rescreens": 1})
    result, m = metrics_of(scenario)
    assert result.outcome == "completed"
    assert m["n_screen_expired"] > 0
    passed_at: dict[int, float] = {}
    for e in result.events:
        if e.event == "screen_passed":
            passed_at[e.patient_id] = e.day
        if e.event == "enrolled":
            assert e.day - passed_at[e.patient_id] <= 20
    first_expiries = sum(1 for e in result.events if e.event == "screen_expired" and e.value == 0)
    second_expiries = sum(1 for e in result.events if e.event == "screen_expired" and e.value == 1)
    rescreen_passes = sum(1 for e in result.events if e.event == "screen_passed" and e.value == 1)
    lost = sum(1 for e in result.events if e.event == "candidate_lost")
    assert first_expiries > 0
    assert rescreen_passes == first_expiries
    assert lost == second_expiries


def test_a_screen_expiring_as_the_next_cohort_opens_is_still_valid():
    # The listing timeline above: candidate 4 passes screening on day 44 and waits for cohort 2,
    # which opens at gate 1 on day 74. With a 30-day window the screen expires at that very moment;
    # the window is inclusive, so candidate 4 is enrolled on day 74, not lost (simpy's order of
    # same-time events must not decide it).
    scenario = make_scenario(screening={"window_days": 30, "on_expiry": "lost", "max_rescreens": 0})
    result, m = metrics_of(scenario)
    assert m["cohort1_gate_day"] == 74
    enrolled = {e.patient_id: (e.day, e.cohort) for e in result.events if e.event == "enrolled"}
    assert enrolled[4] == (74, 2)
    assert not [e for e in result.events if e.patient_id == 4 and e.event in ("screen_expired", "candidate_lost")]
    # one day's less window and the same candidate is lost at day 73, before the cohort opens
    result, _ = metrics_of(make_scenario(screening={"window_days": 29, "on_expiry": "lost", "max_rescreens": 0}))
    lost = [e for e in result.events if e.patient_id == 4 and e.event == "candidate_lost"]
    assert [e.day for e in lost] == [73]


def test_a_screen_expiring_as_the_product_is_released_is_still_valid():
    # Subject 1 passes screening on day 29, is enrolled at once and wants a dose on day 36, when the
    # wait for product starts; the only lot is ordered on day 10 and released on day 10 + 30
    # (campaign) + 14 (QC) = 54. With a 25-day window the screen expires on day 54 too, and that
    # expiry was scheduled (day 36) before the lot's QC result (day 40): inclusive, so subject 1 is
    # infused on day 54 all the same.
    from conftest import with_product

    product = with_product(initial_lots=0, policy={"kind": "schedule", "start_days": [10]}, on_screen_expiry="lost")
    result, _ = metrics_of(make_scenario(screening={"window_days": 25}, product=product))
    first = next(e for e in result.events if e.event == "infused" and e.patient_id == 1)
    assert first.day == 54
    assert not [e for e in result.events if e.patient_id == 1 and e.event in ("screen_expired", "lost")]
    result, _ = metrics_of(make_scenario(screening={"window_days": 24.5}, product=product))
    assert [e.event for e in result.events if e.patient_id == 1 and e.event in ("screen_expired", "lost")] == [
        "screen_expired",
        "lost",
    ]
