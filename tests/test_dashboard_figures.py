"""Dashboard figure builders and views on small known tables (no browser)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from ctdild_sim.runs.record import RunRecord, comparable
from ctdild_sim.scenario.parameters import scenario_parameters
from ctdild_sim.views import run_figures as figures
from dashboard.data import DashboardError, validate_upload

from conftest import make_scenario

DETERMINISTIC = make_scenario()


def test_enrolment_quantiles_match_numpy_on_known_days():
    # replicate 0 enrols on days 1, 8, 15; replicate 1 on day 3; replicate 2 never enrols
    patients = pd.DataFrame({"replicate": [0, 0, 0, 1], "enrolled_day": [1.0, 8.0, 15.0, 3.0]})
    q = figures.enrolment_quantiles(patients, [0, 1, 2], step_days=7.0)
    assert list(q["day"]) == [0.0, 7.0, 14.0, 21.0, 28.0]
    counts = np.array([[0, 1, 2, 3, 3], [0, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    for name, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        expected = np.quantile(counts, p, axis=0, method="inverted_cdf")
        assert list(q[name]) == list(expected)
    assert list(q["p50"]) == [0, 1, 1, 1, 1] and list(q["p90"]) == [0, 1, 2, 3, 3]


def test_enrolment_fan_has_band_and_median_per_run():
    patients = pd.DataFrame({"replicate": [0, 1], "enrolled_day": [2.0, 9.0]})
    q = figures.enrolment_quantiles(patients, [0, 1])
    fig = figures.enrolment_fan_figure({"A": (q, DETERMINISTIC), "B": (q, DETERMINISTIC)})
    names = [t.name for t in fig.data]
    assert names.count("A P50") == 1 and names.count("B P10-P90") == 1
    assert len(fig.data) == 6  # per run: upper edge, band, median
    band = next(t for t in fig.data if t.name == "A P10-P90")
    assert band.fill == "tonexty" and list(band.y) == list(q["p10"])
    assert fig.data[0].x[0] == DETERMINISTIC.start_date


def _events(rows):
    frame = pd.DataFrame(rows, columns=["replicate", "day", "patient_id", "cohort", "event"])
    frame["patient_id"] = frame["patient_id"].astype("Int64")
    frame["cohort"] = frame["cohort"].astype("Int64")
    return frame


def test_gantt_segments_follow_the_event_log():
    events = _events(
        [
            (0, 0.0, None, 1, "cohort_opened"),
            (0, 15.0, 1, 1, "enrolled"),
            (0, 22.0, 1, 1, "admitted"),
            (0, 22.0, 1, 1, "infused"),
            (0, 24.0, 1, 1, "discharged"),
            (0, 30.0, None, None, "pause_started"),
            (0, 40.0, None, None, "pause_ended"),
            (0, 50.0, 1, 1, "hold_completed"),
            (0, 190.0, 1, 1, "follow_up_completed"),
            (0, 16.0, 2, 1, "enrolled"),
            (0, 60.0, 2, 1, "withdrawn"),
            (1, 5.0, 7, 1, "enrolled"),
        ]
    )
    screenings = pd.DataFrame(
        {
            "replicate": [0, 0, 0],
            "candidate_id": [1, 1, 2],
            "screening_started_day": [1.0, 3.0, 2.0],
            "decision_day": [2.0, 15.0, 16.0],
            "eligible": [False, True, True],
        }
    )
    seg = figures.gantt_segments(events, screenings, 0)
    one = seg[seg["subject"] == "subject 1 (cohort 1)"].set_index("phase")
    assert one.loc["screening", ["start_day", "end_day"]].tolist() == [3.0, 15.0]
    assert one.loc["waiting for dosing", ["start_day", "end_day"]].tolist() == [15.0, 22.0]
    assert one.loc["infusion stay", ["start_day", "end_day"]].tolist() == [22.0, 24.0]
    assert one.loc["safety hold", ["start_day", "end_day"]].tolist() == [22.0, 50.0]
    assert one.loc["follow-up", ["start_day", "end_day"]].tolist() == [50.0, 190.0]
    two = seg[seg["subject"] == "subject 2 (cohort 1)"].set_index("phase")
    assert two.loc["waiting for dosing", ["start_day", "end_day"]].tolist() == [16.0, 60.0]  # never dosed
    assert "safety hold" not in two.index
    assert figures.pauses(events, 0) == [(30.0, 40.0)]
    fig = figures.gantt_figure(seg, figures.pauses(events, 0), DETERMINISTIC, 0)
    assert {t.name for t in fig.data} == set(seg["phase"])
    assert len(fig.layout.shapes) == 1  # the pause


def test_gantt_draws_the_waits_as_such_and_marks_exits():
    # subject 3: 20 days waiting for a cohort slot before enrolment on day 40, a product wait from
    # day 41 to 70, a bed wait of 3 days before admission on day 73, a second dose after 14 days
    # between doses (8 of them waiting for product), then death on day 120; a replacement is
    # enrolled for them. Subject 4 is lost waiting for product.
    rows = [
        (0, 40.0, 3, 2, "enrolled", math.nan),
        (0, 41.0, 3, 2, "product_wait_started", 2.0),
        (0, 70.0, 3, 2, "product_wait_ended", 29.0),
        (0, 73.0, 3, 2, "bed_wait_ended", 3.0),
        (0, 73.0, 3, 2, "admitted", math.nan),
        (0, 73.0, 3, 2, "infused", 6e7),
        (0, 75.0, 3, 2, "discharged", math.nan),
        (0, 81.0, 3, 2, "product_wait_started", 2.0),
        (0, 89.0, 3, 2, "product_wait_ended", 8.0),
        (0, 89.0, 3, 2, "admitted", math.nan),
        (0, 89.0, 3, 2, "infused", 6e7),
        (0, 91.0, 3, 2, "discharged", math.nan),
        (0, 120.0, 3, 2, "died", math.nan),
        (0, 120.0, 3, 2, "replacement_added", math.nan),
        (0, 50.0, 4, 2, "enrolled", math.nan),
        (0, 51.0, 4, 2, "product_wait_started", 2.0),
        (0, 80.0, 4, 2, "lost", math.nan),
    ]
    events = pd.DataFrame(rows, columns=["replicate", "day", "patient_id", "cohort", "event", "value"])
    events[["patient_id", "cohort"]] = events[["patient_id", "cohort"]].astype("Int64")
    screenings = pd.DataFrame(
        columns=["replicate", "candidate_id", "screening_started_day", "decision_day", "eligible"]
    )
    patients = pd.DataFrame({"replicate": [0, 0], "patient_id": [3, 4], "waited_for_slot_days": [20.0, 0.0]})
    seg = figures.gantt_segments(events, screenings, 0, patients)
    three = seg[seg["subject"] == "subject 3 (cohort 2)"]
    spans = {(p, s, e) for p, s, e in zip(three["phase"], three["start_day"], three["end_day"], strict=True)}
    assert spans >= {
        ("waiting for a cohort slot", 20.0, 40.0),
        ("waiting for product", 41.0, 70.0),
        ("waiting for a bed", 70.0, 73.0),
        ("waiting for dosing", 40.0, 73.0),
        ("between doses", 75.0, 89.0),
        ("waiting for product", 81.0, 89.0),
        ("infusion stay", 89.0, 91.0),
    }
    four = seg[seg["subject"] == "subject 4 (cohort 2)"].set_index("phase")
    assert four.loc["waiting for product", ["start_day", "end_day"]].tolist() == [51.0, 80.0]  # open: ends when lost
    exits = figures.gantt_exits(events, 0)
    assert sorted(zip(exits["subject"], exits["kind"], exits["day"], strict=True)) == [
        ("subject 3 (cohort 2)", "died", 120.0),
        ("subject 3 (cohort 2)", "replacement_added", 120.0),
        ("subject 4 (cohort 2)", "lost", 80.0),
    ]
    fig = figures.gantt_figure(seg, [], DETERMINISTIC, 0, exits, "A")
    names = [t.name for t in fig.data]
    assert names.index("waiting for product") > names.index("waiting for dosing")  # drawn over the wait
    markers = {t.name: t for t in fig.data if t.type == "scatter"}
    assert set(markers) == {"died", "lost (screen expired waiting for product)", "a replacement enrolled for them"}
    assert fig.layout.title.text.startswith("A: replicate 0")


MONTHS = pd.Series(["2026-01", "2026-02", "2026-03"])
START = dt.date(2026, 1, 1)
LOTS = pd.DataFrame(
    {
        # replicate 0: initial stock (10 vials, day 0) and a lot of 20 released on day 40 (February);
        # replicate 1: a lot of 30 released on day 31 (1 February: the day after January's last) and a
        # lot that failed on day 70 (March), never filled; replicate 2 has no lots at all
        "replicate": [0, 0, 1, 1],
        "lot_id": [1, 2, 1, 2],
        "initial_stock": [True, False, False, False],
        "released_day": [0.0, 40.0, 31.0, math.nan],
        "failed_day": [math.nan, math.nan, math.nan, 70.0],
        "expiry_day": [50.0, 400.0, 391.0, math.nan],
        "vials": [10, 20, 30, 0],
        "vials_expired": [6, 0, 0, 0],
        "vials_wasted": [1, 0, 2, 0],
        "vials_destroyed": [0, 0, 0, 0],
    }
)


def test_month_ends_are_the_last_day_of_each_month():
    from ctdild_sim.analysis.supply_summary import month_ends

    ends = month_ends(START, MONTHS)
    assert list(ends["end_date"]) == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    assert list(ends["end_day"]) == [31.0, 59.0, 90.0]  # events before the day after the month's last


def test_cumulative_released_counts_every_replicate_and_the_initial_stock():
    from ctdild_sim.analysis.supply_summary import cumulative_released

    released = cumulative_released(LOTS, 3, START, MONTHS)
    # by month end: replicate 0 has 10, 30, 30; replicate 1 has 0, 30, 30; replicate 2 has 0, 0, 0
    per_replicate = np.array([[10, 30, 30], [0, 30, 30], [0, 0, 0]])
    for q in (10, 50, 90):
        expected = np.quantile(per_replicate, q / 100, axis=0, method="inverted_cdf")
        assert list(released[f"vials_released_p{q}"]) == list(expected), q
    assert list(released["vials_released_p90"]) == [10, 30, 30]


def test_monthly_lot_events_are_means_per_replicate():
    from ctdild_sim.analysis.supply_summary import monthly_lot_events

    events = monthly_lot_events(LOTS, 2, START, MONTHS)
    assert list(events["lots_released"]) == [0.0, 1.0, 0.0]  # the initial stock is not a release
    assert list(events["lots_failed"]) == [0.0, 0.0, 0.5]
    assert list(events["lots_expired"]) == [0.0, 0.5, 0.0]  # the initial lot, on day 50, with 6 unused


def test_waste_by_cause_on_known_metrics():
    from ctdild_sim.analysis.supply_summary import waste_by_cause

    metrics = pd.DataFrame({"vials_expired": [0, 4, 8, 0], "vials_wasted": [1, 0, 0, 0], "vials_destroyed": [0] * 4})
    waste = waste_by_cause(metrics).set_index("cause")
    assert waste.loc["expired in stock", "mean_vials"] == 3.0 and waste.loc["expired in stock", "p90_vials"] == 8
    assert waste.loc["expired in stock", "share_with_any"] == 0.5
    assert waste.loc["thaw window missed", "mean_vials"] == 0.25
    assert waste.loc["failed QC (lot destroyed)", "share_with_any"] == 0.0
    fig = figures.waste_figure({"A": waste.reset_index()})
    assert [t.name for t in fig.data] == list(waste.index) and fig.layout.barmode == "stack"


def test_product_figures_draw_the_monthly_columns():
    monthly = pd.DataFrame(
        {
            "period": MONTHS,
            "vials_thawed_p90": [2, 4, 0],
            "mean_vials_thawed": [1.0, 2.5, 0.0],
            "cumulative_vials_thawed_p10": [0, 1, 1],
            "cumulative_vials_thawed_p50": [1, 3, 3],
            "cumulative_vials_thawed_p90": [2, 6, 6],
            "vials_in_stock_p10": [5, 3, 3],
            "vials_in_stock_p50": [6, 4, 4],
            "vials_in_stock_p90": [8, 6, 6],
        }
    )
    from ctdild_sim.analysis.supply_summary import cumulative_released, monthly_lot_events

    released = cumulative_released(LOTS, 3, START, MONTHS)
    supply = {t.name: t for t in figures.supply_cumulative_figure({"A": (monthly, released)}).data}
    assert list(supply["A vials needed P50"].y) == [1, 3, 3]
    assert list(supply["A vials released P50"].y) == list(released["vials_released_p50"])
    demand = {t.name: t for t in figures.monthly_demand_figure({"A": monthly}).data}
    assert demand["A mean"].type == "bar" and list(demand["A mean"].y) == [1.0, 2.5, 0.0]
    assert list(demand["A P90"].y) == [2, 4, 0] and list(demand["A P90"].x) == list(MONTHS)
    stock = figures.stock_projection_figure({"A": (monthly, monthly_lot_events(LOTS, 2, START, MONTHS))})
    by_name = {t.name: t for t in stock.data}
    assert list(by_name["A vials in stock P50"].y) == [6, 4, 4]
    bars = {name: t for name, t in by_name.items() if t.type == "bar"}
    assert set(bars) == {"A lots released", "A lots failed QC", "A lots expired with vials unused"}
    assert all(t.yaxis == "y2" for t in bars.values())  # their own axis, under the stock
    legend = stock.layout.legend  # along the figure's bottom edge, under the axis
    assert (legend.orientation, legend.yref, legend.yanchor) == ("h", "container", "bottom") and legend.y < 0.05


def test_cohort_completion_is_the_share_passed_by_each_day():
    metrics = pd.DataFrame({f"cohort{k}_gate_day": [10.0 * k, 20.0 * k, math.nan, 5.0 * k] for k in (1, 2, 3)})
    fig = figures.cohort_completion_figure(metrics, DETERMINISTIC, "A")
    assert len(fig.data) == len(DETERMINISTIC.cohorts)
    first = fig.data[0]
    assert list(first.y) == [0.25, 0.5, 0.75]  # one of four replicates never passes
    assert first.x[0] == DETERMINISTIC.start_date + dt.timedelta(days=5)


def test_screen_failure_figure_one_bar_series_per_run():
    table = pd.DataFrame({"criterion": ["I1", "E4"], "share_of_screened": [0.4, 0.1], "text": ["a", "b"]})
    fig = figures.screen_failure_figure({"A": table, "B": table})
    assert [t.name for t in fig.data] == ["A", "B"] and list(fig.data[0].x) == [0.4, 0.1]


def _run(seed: int, replicates: int, name: str = "s") -> RunRecord:
    scenario = make_scenario(name=name)
    return RunRecord(f"run-{name}-{seed}", {"seed": seed, "replicates": replicates}, scenario, {})


def test_runs_compare_only_on_the_same_seed_and_replicates():
    assert comparable([_run(1, 10, "a"), _run(1, 10, "b")]) is None
    assert "same seed" in comparable([_run(1, 10, "a"), _run(2, 10, "b")])
    assert "two or more" in comparable([_run(1, 10)])


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("x.txt", b"name: a", "not a YAML scenario file"),
        ("big.yaml", b"#" * 300_000, "the limit is"),
        ("bin.yaml", b"\xff\xfe", "not UTF-8"),
        ("bad.yaml", b"name: [unclosed", "bad.yaml"),
        ("typo.yaml", b"name: x\nstart_dat: 2026-01-01\n", "start_dat"),
    ],
)
def test_bad_uploads_are_rejected_with_the_cli_message(filename, content, message, tmp_path):
    with pytest.raises(DashboardError, match=message):
        validate_upload(filename, content, tmp_path)


def test_an_upload_may_extend_only_a_scenario_file_of_the_folder(tmp_path):
    from conftest import SCENARIOS

    secret = tmp_path / "secret.yaml"
    secret.write_text((SCENARIOS / "nct06574581.yaml").read_text())
    for parent in ("../secret.yaml", str(secret), "../../../../etc/passwd"):
        text = f"extends: {parent}\nname: x\n".encode()
        with pytest.raises(DashboardError, match=r"up.yaml: extends: .* is not a scenario file of scenarios/"):
            validate_upload("up.yaml", text, SCENARIOS)
    scenario = validate_upload("up.yaml", b"extends: nct06574581.yaml\nname: my variant\n", SCENARIOS)
    assert scenario.name == "my variant" and scenario.cohorts


def test_scenario_parameters_list_every_leaf_with_its_description():
    table = scenario_parameters(DETERMINISTIC)
    rows = table.set_index("parameter")
    assert rows.loc["dosing.beds", "value"] == str(DETERMINISTIC.dosing.beds)
    assert rows.loc["cohorts.0.size", "value"] == str(DETERMINISTIC.cohorts[0].size)
    assert rows.loc["dosing.beds", "description"]
    assert table["parameter"].is_unique


def test_no_path_from_the_browser_opens_a_file_outside_the_two_folders(tmp_path):
    from dashboard.data import load_run, load_scenario_file

    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "ok.yaml").write_text("name: x\n")
    (tmp_path / "secret.yaml").write_text("name: secret\n")
    for name in ("../secret.yaml", str(tmp_path / "secret.yaml"), "ok.yaml/../../secret.yaml", ""):
        with pytest.raises(DashboardError, match="not a scenario file"):
            load_scenario_file(scenarios, name)
    results = tmp_path / "results"
    results.mkdir()
    for run_id in ("../results", "..", "a/b", ".hidden"):
        with pytest.raises(DashboardError, match="not a run id"):
            load_run(results, run_id)


def test_dashboard_command_rejects_a_missing_scenarios_folder(tmp_path):
    from click.testing import CliRunner

    from ctdild_sim.cli import main

    result = CliRunner().invoke(
        main, ["dashboard", "--scenarios", str(tmp_path / "nope"), "--results", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "no such folder of scenario files" in result.output
    assert not (tmp_path / "r").exists()


def test_milestone_dates_are_start_date_plus_day_and_skip_never_reached():
    from ctdild_sim.analysis.metrics import milestone_columns

    columns = milestone_columns(len(DETERMINISTIC.cohorts))
    metrics = pd.DataFrame({"replicate": [0, 1], **{c: [10.0, math.nan] for c in columns}})
    dates = figures.milestone_dates(metrics, DETERMINISTIC)
    assert len(dates) == len(columns) and set(dates["replicate"]) == {0}
    assert (dates["date"] == pd.Timestamp(DETERMINISTIC.start_date + dt.timedelta(days=10))).all()
    fig = figures.milestone_box_figure({"A": dates}, dt.date(2026, 5, 30))
    assert len(fig.data) == 1 and fig.data[0].type == "box" and len(fig.layout.shapes) == 1


def test_lot_plan_view_states_the_policy_and_lists_the_search():
    from ctdild_sim.studies.lot_plan import Evaluation, LotPlan
    from ctdild_sim.views.lot_plan import lot_plan_parts, lot_plan_view
    from ctdild_sim.views.view import View

    best = Evaluation(12, 166.0, 200, 2, 6.8, 90.0, seeds="validation")
    other = Evaluation(14, 180.0, 200, 1, 7.5, 99.0, seeds="validation")  # confirmed too, not chosen
    fresh = Evaluation(12, 166.0, 200, 8, 6.9, 91.0, seeds="fresh")
    tried = [Evaluation(8, 166.0, 200, 30, 5.0, 70.0), best, other]
    plan = LotPlan(0.05, best=best, tried=tried, fresh=fresh, fresh_seed=1_000_010)
    view = lot_plan_view(plan, "base", 7)
    # the headline is the fresh figure with its interval; the validation figure comes second, labelled
    low, high = fresh.interval
    answer = view.answers[0].answer
    assert "reorder point 12" in answer and "4.0%" in answer
    assert f"95% interval {low:.1%} to {high:.1%}" in answer and "fresh replicates" in answer
    assert "validation seeds" in view.notes[0] and "1.0%" in view.notes[0]
    [table] = [frame for title, frame in view.tables if "lot plan search" in title]
    # no cost block: the frontier is lots started against risk, of the candidates validated with every replicate
    [frontier] = [frame for title, frame in view.tables if "frontier" in title]
    assert list(frontier["reorder_point"]) == [14, 12] and view.figure_keys == ["frontier: base"]
    assert "0.5%" not in view.notes[0]  # the other confirmed candidate's figure is not the plan's
    assert list(table["reorder_point"]) == [8, 12, 14, 12] and list(table["stockout_risk"]) == [0.15, 0.01, 0.005, 0.04]
    assert list(table["seeds"]) == ["search", "validation", "validation", "fresh"]
    # a forecast stored before its target was kept with it still shows its plan, saying so
    old = View("old")
    lot_plan_parts(old, "base", plan.search_table(), None, 1_000_010)
    assert "not recorded" in old.answers[0].question and "reorder point 12" in old.answers[0].answer
    assert "within the target" not in old.answers[0].answer
    assert "none up to the search's limit" in lot_plan_view(LotPlan(0.05), "base", 7).answers[0].answer


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A results store with two small paired runs (base and long review) and one without kept events."""
    import datetime as _dt

    from ctdild_sim.runs.results import save_run
    from ctdild_sim.runs.runner import run_scenario
    from ctdild_sim.scenario.loading import load_scenario

    from conftest import SCENARIOS

    root = tmp_path_factory.mktemp("store")
    ids = {}
    for key, name, keep in (
        ("base", "nct06574581.yaml", 6),
        ("long", "nct06574581_long_review.yaml", 6),
        ("nokeep", "nct06574581.yaml", 0),
    ):
        path = SCENARIOS / name
        scenario = load_scenario(path)
        tables = run_scenario(scenario, 12, seed=5 if key != "nokeep" else 6, keep_events=keep)
        saved = save_run(
            root,
            tables.with_summaries(scenario),
            scenario=scenario,
            scenario_file=path,
            scenario_text=path.read_text(),
            seed=5 if key != "nokeep" else 6,
            replicates=12,
            options={},
            command=["test"],
            started=_dt.datetime.now(_dt.UTC),
        )
        ids[key] = saved.name
    return root, ids


def _views():
    from ctdild_sim.views.compare import compare_view
    from ctdild_sim.views.forecast import forecast_view
    from ctdild_sim.views.plan import cohorts_view, plan_view, screening_view
    from ctdild_sim.views.product import product_view
    from ctdild_sim.views.sensitivity import sensitivity_view

    return {
        "timeline": plan_view,
        "product": product_view,
        "cohorts": cohorts_view,
        "screening": screening_view,
        "compare": compare_view,
        "forecast": forecast_view,
        "sensitivity": sensitivity_view,
    }


def test_every_page_view_builds_on_stored_runs(stored):
    from dashboard.data import load_runs

    PAGES = _views()
    root, ids = stored
    runs = load_runs(root, [ids["base"], ids["long"]])
    for name, page in PAGES.items():
        view = page(runs, 3) if name == "timeline" else page(runs)
        if name == "forecast":  # these runs are not forecasts (test_dashboard_forecast draws one)
            assert not view.figures and "Pick a forecast run" in view.notes[0]
            continue
        assert view.figures, name
        for _, fig in view.figures:
            fig.to_json()  # serialisable as the page needs it
    compare = PAGES["compare"](runs)
    differences = dict(compare.tables)["Paired differences"]
    assert (differences["pairs"] > 0).all() and set(differences["scenario"]) == {"NCT06574581 long review"}
    timeline = PAGES["timeline"](runs, 3)
    assert any("replicate 3" in caption for caption in timeline.captions.values())


def test_a_run_without_kept_events_still_shows_its_summaries(stored):
    from dashboard.data import load_runs

    PAGES = _views()
    root, ids = stored
    runs = load_runs(root, [ids["nokeep"]])
    timeline = PAGES["timeline"](runs, 0)
    assert any("--keep-events 0" in note for note in timeline.notes)
    assert [key for key, _ in timeline.figures] == ["lplv", "milestones"]
    assert PAGES["product"](runs).figures and PAGES["cohorts"](runs).figures
    assert "same seed" in PAGES["compare"](load_runs(root, [ids["base"], ids["nokeep"]])).notes[0]


def test_gantt_of_a_replicate_without_subjects_says_so():
    empty = figures.gantt_segments(
        _events([(0, 0.0, None, 1, "cohort_opened")]),
        pd.DataFrame(
            {"replicate": [], "candidate_id": [], "screening_started_day": [], "decision_day": [], "eligible": []}
        ),
        0,
    )
    fig = figures.gantt_figure(empty, [], DETERMINISTIC, 0)
    assert "no subject" in fig.layout.title.text


def test_the_product_charts_end_where_the_thawing_does():
    """A trial that drags on thaws a vial now and then for years: the charts stop two months after
    the month by which replicates have thawed 95% of their vials, not at the simulation's horizon."""
    from ctdild_sim.views.product import charted_months

    thawed = [0.0, 4.0, 10.0, 5.0, 1.0] + [0.01] * 40  # 20 by month 4, 20.4 in all
    monthly = pd.DataFrame({"period": [f"m{k}" for k in range(len(thawed))], "mean_vials_thawed": thawed})
    shown = charted_months(monthly)
    # 95% of 20.4 is 19.38: reached in month 4 (19 by month 3), then two more months
    assert list(shown["period"])[-1] == "m6" and len(shown) == 7
    assert charted_months(monthly.assign(mean_vials_thawed=0.0)).equals(monthly.assign(mean_vials_thawed=0.0))


def test_timeline_charts_end_at_the_p90_of_last_visits_plus_a_margin():
    import datetime as dt

    from ctdild_sim.views.figures import CHART_MARGIN_DAYS, chart_end, lplv_ecdf_figure

    from conftest import make_scenario

    scenario = make_scenario()
    days = [100.0 * k for k in range(1, 11)] + [np.nan] * 3  # reached by 10 of 13; one drags to day 1000
    metrics = pd.DataFrame({"replicate": range(13), "lplv_day": days})
    end = scenario.start_date + dt.timedelta(days=900 + CHART_MARGIN_DAYS)  # P90 of the ten reached: day 900
    assert chart_end([(metrics, scenario)]) == end
    assert chart_end([(metrics.assign(lplv_day=np.nan), scenario)]) is None
    fig = lplv_ecdf_figure({"a": metrics}, {"a": scenario})
    assert fig.layout.xaxis.range[1] == pd.Timestamp(end).timestamp() * 1000
    assert fig.layout.xaxis.range[0] == pd.Timestamp(scenario.start_date).timestamp() * 1000  # both ends given
