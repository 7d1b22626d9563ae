"""Sensitivity: field paths, ranges, and the tornado on common random numbers (one assumption with
a known effect reported exactly), and the CLI's messages for bad ranges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ctdild_sim.analysis.sensitivity import OUTCOMES, outcome_value
from ctdild_sim.cli import main
from ctdild_sim.scenario.comments import file_comments
from ctdild_sim.scenario.loading import ScenarioError, load_scenario
from ctdild_sim.scenario.paths import PathError, check_path, get_value, leaf_paths, with_value, with_values
from ctdild_sim.studies.sensitivity import RangesError, assumptions, run_sensitivity, weak_paths
from ctdild_sim.views.columns import present
from ctdild_sim.views.figures import tornado_figure

from conftest import BASE_SCENARIO, make_scenario

# visits to day 168 after the last infusion: the hold (28 days) ends before the last visit, so the
# hold delays each later cohort's start by its length and nothing else
LONG_FOLLOW_UP = {"follow_up": {"visit_days": [7, 28, 84, 168]}}


class TestPaths:
    def test_values_by_path_as_the_file_writes_them(self):
        base = load_scenario(BASE_SCENARIO)
        assert get_value(base, "safety.hold_days") == 28
        assert get_value(base, "sites.0.referral_rate_per_month") == 1.5
        assert get_value(base, "screening.duration_days") == {"dist": "lognormal", "median": 14.0, "p90": 28.0}
        assert "product.lots.lead_time_days.p90" in leaf_paths(base)

    @pytest.mark.parametrize(
        ("path", "problem"),
        [
            ("safety.hold_day", "no such field (did you mean 'safety.hold_days'"),
            ("sites.2.count", "sites has items 0 to 0, not '2'"),
            ("screening..median", "is not a field path"),
            ("screening.duration_days", "is a section, not a number (its numbers: screening.duration_days.median"),
            ("name", "is str, not a number"),
        ],
    )
    def test_bad_paths_say_what_is_wrong(self, path, problem):
        with pytest.raises(PathError, match=problem.replace("(", r"\(").replace(".", r"\.")):
            check_path(load_scenario(BASE_SCENARIO), path, numeric=True)

    def test_a_changed_scenario_is_validated_as_a_whole(self):
        base = load_scenario(BASE_SCENARIO)
        changed = with_values(base, {"safety.hold_days": 35, "sites.0.count": 2.0})
        assert (
            changed.safety.hold_days == 35 and changed.sites[0].count == 2 and isinstance(changed.sites[0].count, int)
        )
        assert base.safety.hold_days == 28  # the base is left as it was
        with pytest.raises(ScenarioError, match=r"safety\.hold_days: Input should be greater than or equal to 0"):
            with_value(base, "safety.hold_days", -1)
        with pytest.raises(ScenarioError, match="median"):  # p90 must stay above the median
            with_value(base, "screening.duration_days.median", 60)


def test_the_tornado_reports_a_known_effect_exactly():
    # the hold delays cohort 2's and cohort 3's start by its length: +-7 days of hold moves the last
    # patient's last visit by +-14 days in every replicate, with no uncertainty on common random numbers
    scenario = make_scenario(**LONG_FOLLOW_UP)
    found = assumptions(scenario, {"safety.hold_days": [21, 35], "dosing.length_of_stay_days": {"scale": [1, 1]}})
    result = run_sensitivity(scenario, found, 8, 3, workers=1, keep_events=0)
    rows = result.tornado.set_index(["outcome", "parameter"])
    for outcome in ("lplv_p50", "lplv_p90"):
        hold = rows.loc[(outcome, "safety.hold_days")]
        assert (hold["low_change"], hold["low_ci_low"], hold["low_ci_high"]) == (-14.0, -14.0, -14.0)
        assert (hold["high_change"], hold["high_ci_low"], hold["high_ci_high"]) == (14.0, 14.0, 14.0)
        assert rows.loc[(outcome, "dosing.length_of_stay_days"), "swing"] == 0  # an unchanged end changes nothing
    assert list(result.tornado["parameter"][:2]) == ["safety.hold_days", "dosing.length_of_stay_days"]  # by swing
    assert rows.loc[("lplv_p50", "safety.hold_days"), "pairs"] == 8
    # the base outcome is the base run's own figure
    lplv = next(o for o in OUTCOMES if o.key == "lplv_p50")
    assert rows.loc[("lplv_p50", "safety.hold_days"), "base_outcome"] == outcome_value(
        result.base.metrics, scenario, lplv
    )
    shown = present(result.tornado)
    assert shown.loc[0, "Change at low [95%]"] == "-14 days [-14, -14]"
    fig = tornado_figure(result.tornado, "lplv_p50")
    assert [t.name for t in fig.data] == ["at the low value", "at the high value"]
    assert list(fig.data[1].x) == [14.0, 0.0]


def test_a_probability_outcome_changes_by_the_paired_mean():
    scenario = make_scenario(**LONG_FOLLOW_UP)
    found = assumptions(scenario, {"safety.hold_days": [21, 35]})
    result = run_sensitivity(scenario, found, 6, 3, workers=1, keep_events=0)
    base, high = result.base.metrics, result.arm_metrics[("safety.hold_days", "high")]
    registered = scenario.day_of(scenario.registered_completion_date)
    expected = float((high["lplv_day"] < registered + 1).mean() - (base["lplv_day"] < registered + 1).mean())
    row = result.tornado.set_index(["outcome", "parameter"]).loc[("p_lplv_by_registered", "safety.hold_days")]
    assert row["high_change"] == pytest.approx(expected)


class TestRanges:
    def test_weak_fields_are_moved_by_default_and_costs_are_not(self):
        base = load_scenario(BASE_SCENARIO)
        comments = file_comments(BASE_SCENARIO.read_text())
        paths = weak_paths(base, comments)
        assert "safety.review_days" in paths and "product.lots.shelf_life_days" in paths
        assert not any(p.startswith(("product.costs", "learning")) for p in paths)
        found = {a.path: a for a in assumptions(base, None, comments, spread=0.5)}
        review = found["safety.review_days"]  # a distribution, scaled whole
        assert review.low.safety.review_days.median == pytest.approx(base.safety.review_days.median * 0.5)
        assert review.high.safety.review_days.p90 == pytest.approx(base.safety.review_days.p90 * 1.5)
        consents = found["population.consents"]  # a probability: the high end is pulled back below 1
        assert consents.low_value == pytest.approx(0.425) and 0.85 < consents.high_value <= 1
        point = found["product.policy.reorder_point_vials"]  # a count stays whole
        assert (point.low_value, point.high_value) == (6, 18)

    @pytest.mark.parametrize(
        ("ranges", "problem"),
        [
            ({"safety.hold_day": [20, 30]}, "ranges.safety.hold_day: safety.hold_day: no such field (did you mean"),
            ({"safety.hold_days": [20]}, "give [low, high] or {scale: [low factor, high factor]}"),
            ({"safety.hold_days": [-10, 30]}, "safety.hold_days = -10 makes the scenario invalid: safety.hold_days"),
            ({"screening.duration_days": [7, 20]}, "is a section, not a number"),
            ({"name": {"scale": [0.5, 2]}}, "is neither a number nor a distribution"),
            ({"safety.hold_days": [float("nan"), 30]}, "give [low, high]"),
        ],
    )
    def test_bad_ranges_are_refused_with_the_path(self, ranges, problem):
        with pytest.raises(RangesError, match=problem.replace("[", r"\[").replace("(", r"\(").replace(".", r"\.")):
            assumptions(make_scenario(), ranges, source="r.yaml")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("ranges:\n  safety.hold_dayz: [20, 30]\n", "r.yaml: ranges.safety.hold_dayz: safety.hold_dayz: no such field"),
        ("ranges: {}\n", "r.yaml: ranges: is empty"),
        ("hold: [1, 2]\n", "a ranges file holds one mapping, ranges:"),
        ("ranges:\n  - a\n", "a ranges file holds one mapping, ranges:"),
        ("ranges: [\n", "not a YAML ranges file"),
    ],
)
def test_the_cli_refuses_a_bad_ranges_file_before_simulating(tmp_path, content, problem):
    ranges = tmp_path / "r.yaml"
    ranges.write_text(content)
    store = tmp_path / "results"
    result = CliRunner().invoke(
        main,
        [
            "sensitivity",
            str(BASE_SCENARIO),
            "--ranges",
            str(ranges),
            "-n",
            "4",
            "--results",
            str(store),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert problem in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not store.exists() and not (tmp_path / "out").exists()


def test_the_cli_runs_stores_and_reports_a_tornado(tmp_path):
    ranges = tmp_path / "r.yaml"
    ranges.write_text("ranges:\n  safety.hold_days: [21, 35]\n  sites.0.referral_rate_per_month: {scale: [0.5, 2]}\n")
    store, report = tmp_path / "results", tmp_path / "tornado.html"
    command = [
        "sensitivity",
        str(BASE_SCENARIO),
        "--ranges",
        str(ranges),
        "-n",
        "12",
        "-j",
        "1",
        "--results",
        str(store),
        "--report",
        str(report),
        "--quiet",
    ]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Each of 2 assumptions moved alone" in text and "Last patient last visit P50 (base" in text
    (run,) = [p for p in store.iterdir() if not p.name.startswith(".")]
    tornado = pd.read_parquet(run / "tornado.parquet")
    assert set(tornado["parameter"]) == {"safety.hold_days", "sites.0.referral_rate_per_month"}
    assert len(tornado) == 2 * len(OUTCOMES)
    arms = pd.read_parquet(run / "sensitivity_metrics.parquet")
    assert len(arms) == 12 * 5 and set(arms["end"]) == {"base", "low", "high"}
    assert '"kind": "sensitivity"' in (run / "manifest.json").read_text()
    html = report.read_text()
    assert "Last patient last visit P50 (base" in html and "sites.0.referral_rate_per_month" in html
    assert "assumptions moved" in html and "Range" in html  # how each range was set
    # the referral rate doubled finishes sooner: its paired change in LPLV P50 is negative
    rate = tornado.set_index(["outcome", "parameter"]).loc[("lplv_p50", "sites.0.referral_rate_per_month")]
    assert rate["high_change"] < 0 < rate["low_change"] and np.isfinite(rate["high_ci_high"])


def test_two_scenario_files_give_the_ends():
    from ctdild_sim.studies.sensitivity import ranges_from_ends

    from conftest import SCENARIOS

    base = load_scenario(BASE_SCENARIO)
    low, high = (
        load_scenario(SCENARIOS / "nct06574581_optimistic.yaml"),
        load_scenario(SCENARIOS / "nct06574581_slow_referrals.yaml"),
    )
    ranges = ranges_from_ends(base, low, high)
    rate = ranges["sites.0.referral_rate_per_month"]["ends"]
    assert rate == [low.sites[0].referral_rate_per_month, high.sites[0].referral_rate_per_month]
    assert not any(p.startswith(("name", "description", "product.costs")) for p in ranges)
    # a distribution that differs is moved whole, not parameter by parameter
    assert all(not p.endswith((".median", ".p90", ".mean", ".sd")) for p in ranges)
    found = {a.path: a for a in assumptions(base, ranges)}
    assert found["sites.0.referral_rate_per_month"].high.sites[0].referral_rate_per_month == rate[1]
    result = CliRunner().invoke(
        main, ["sensitivity", str(BASE_SCENARIO), "--ends", str(BASE_SCENARIO), str(BASE_SCENARIO), "-n", "2"]
    )
    assert result.exit_code == 2 and "the two files differ in no simulated number" in result.output


@pytest.mark.slow
def test_the_default_finds_the_assumptions_that_matter_first(tmp_path):
    """Without declared ranges, every WEAK number and each site's drawn rate and delay are screened
    on a fifth of the replicates, and the top ones moved on all: the referral rate, not marked WEAK
    and the largest share of LPLV's variance in the ranking, is among them."""
    store = tmp_path / "results"
    result = CliRunner().invoke(
        main,
        ["sensitivity", str(BASE_SCENARIO), "-n", "40", "-j", "2", "--quiet", "--results", str(store)],
    )
    assert result.exit_code == 0, result.output
    (run,) = [p for p in store.iterdir() if not p.name.startswith(".")]
    screen = pd.read_parquet(run / "sensitivity_screen.parquet")
    assert len(screen) > 20 and screen["moved"].sum() == 10 and (screen["replicates"] == 20).all()
    assert "sites.0.referral_rate_per_month" in set(screen["parameter"])
    moved = set(pd.read_parquet(run / "sensitivity_arms.parquet")["parameter"])
    assert moved == set(screen.loc[screen["moved"], "parameter"]) and "sites.0.referral_rate_per_month" in moved
    assert list(screen["score"]) == sorted(screen["score"], reverse=True)  # largest first
    text = " ".join(result.output.split())
    assert "which assumptions matter: all" in text and "were moved on 20 replicates; the 10 that move" in text
