"""Malformed scenario files: a message naming the file, the field and the problem; exit code 2;
no traceback; nothing written."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ctdild_sim.cli import main

from conftest import BASE_SCENARIO, SCENARIOS

BASE = yaml.safe_load(BASE_SCENARIO.read_text())


def mutated(path: str, value=None, delete: bool = False) -> str:
    """The base scenario with the dotted ``path`` set to ``value`` (or deleted), as YAML text."""
    data = copy.deepcopy(BASE)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = data
    for key in parents:
        node = node[key]
    if delete:
        del node[last]
    else:
        node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


CASES = [
    # (id, file text, field named, problem named)
    ("yaml-syntax", "name: [unclosed\nstart_date: 2024-08-20\n", "", "YAML syntax error: line"),
    ("empty-file", "", "", "the file is empty"),
    ("only-comments", "# nothing here\n", "", "the file is empty"),
    ("top-level-list", "- name: x\n- start_date: 2024-08-20\n", "", "top level must be a mapping"),
    ("top-level-scalar", "just a string\n", "", "top level must be a mapping"),
    ("unknown-top-key", mutated("cohort", []), "cohort", "did you mean 'cohorts'"),
    ("unknown-nested-key", mutated("safety.hold_day", 28), "safety.hold_day", "did you mean 'hold_days'"),
    (
        "ae-flat-list",
        mutated("safety.adverse_events.0.probability", [0.1, 0.2]),
        "safety.adverse_events[0].probability",
        "one list per cohort of per-infusion probabilities",
    ),
    (
        "ae-probability-above-1",
        mutated("safety.adverse_events.0.probability", [[0.1], [0.1, 2], [0.1, 0.1, 0.1]]),
        "safety.adverse_events[0].probability",
        "[1][1] (=2.0) must be a probability between 0 and 1",
    ),
    (
        "unknown-dist-key",
        mutated("dosing.length_of_stay_days.medain", 3),
        "dosing.length_of_stay_days.medain",
        "did you mean 'median'",
    ),
    ("wrong-type", mutated("cohorts.0.size", "three"), "cohorts[0].size", "valid integer"),
    ("negative-window", mutated("screening.window_days", -5), "screening.window_days", "greater than 0"),
    ("negative-hold", mutated("safety.hold_days", -28), "safety.hold_days", "greater than or equal to 0"),
    (
        "probability-above-1",
        mutated("population.female", 1.5),
        "population.female",
        "must be a probability between 0 and 1",
    ),
    (
        "negative-probability",
        mutated("sites.0.never_enrols_probability", -0.1),
        "sites[0].never_enrols_probability",
        "must be a probability",
    ),
    (
        "outcomes-not-summing",
        mutated("safety.review_outcomes.resume", 0.5),
        "safety.review_outcomes",
        "must sum to 1",
    ),
    (
        "cohort-without-infusions",
        mutated("cohorts.1.infusions", 0),
        "cohorts[1].infusions",
        "greater than or equal to 1",
    ),
    ("cohort-of-nobody", mutated("cohorts.0.size", 0), "cohorts[0].size", "greater than or equal to 1"),
    ("no-cohorts", mutated("cohorts", []), "cohorts", "at least 1 item"),
    ("missing-start-date", mutated("start_date", delete=True), "start_date", "required field is missing"),
    ("impossible-date", mutated("start_date", "2024-13-45"), "start_date", "date"),
    (
        "completion-before-start",
        mutated("registered_completion_date", "2023-01-01"),
        "registered_completion_date",
        "2023-01-01 is not after start_date 2024-08-20",
    ),
    (
        "unknown-distribution",
        mutated("dosing.length_of_stay_days", {"dist": "weibull", "shape": 2}),
        "dosing.length_of_stay_days",
        "unknown distribution 'weibull'; use one of exponential, fixed, gamma",
    ),
    (
        "distribution-without-tag",
        mutated("dosing.length_of_stay_days", {"median": 3, "p90": 5}),
        "dosing.length_of_stay_days",
        "a distribution needs a 'dist' key (exponential, fixed",
    ),
    (
        "p90-below-median",
        mutated("screening.duration_days", {"dist": "lognormal", "median": 14, "p90": 7}),
        "screening.duration_days",
        "p90 (=7.0) must be greater than median (=14.0)",
    ),
    (
        "duration-can-be-negative",
        mutated("screening.duration_days", {"dist": "normal", "mean": 14, "sd": 5}),
        "screening.duration_days",
        "can draw negative values",
    ),
    (
        "ctd-shares-not-summing",
        mutated("population.ctd_type.uctd", 0.5),
        "population.ctd_type",
        "must sum to 1",
    ),
    (
        "unknown-ctd",
        mutated("population.ctd_type.lupus", 0.0),
        "population.ctd_type.lupus",
        "Input should be 'dermatomyositis'",
    ),
    (
        "profile-weights-not-summing",
        mutated("population.ild_profiles.stable_or_improving.weight", 0.9),
        "population.ild_profiles",
        "must sum to 1",
    ),
    (
        "ae-shape-mismatch",
        mutated("safety.adverse_events.0.probability", [[0.1], [0.1]]),
        "safety",
        "adverse_events[0].probability needs one list per cohort",
    ),
    (
        "visits-not-increasing",
        mutated("follow_up.visit_days", [28, 7]),
        "follow_up.visit_days",
        "strictly increasing",
    ),
    (
        "duplicate-cohort-names",
        mutated("cohorts.1.name", "1 infusion"),
        "cohorts",
        "cohort names must be unique",
    ),
    ("zero-beds", mutated("dosing.beds", 0), "dosing.beds", "greater than or equal to 1"),
    ("bad-on-expiry", mutated("screening.on_expiry", "retry"), "screening.on_expiry", "'rescreen' or 'lost'"),
    (
        "negative-yield",
        mutated("product.lots.yield_cells", {"dist": "normal", "mean": -1e9, "sd": 1e8}),
        "product.lots.yield_cells",
        "can draw negative values",
    ),
    (
        "shelf-life-shorter-than-qc",
        mutated("product.lots.shelf_life_days", 10),
        "product",
        "lots.shelf_life_days (=10) must exceed the mean QC release time",
    ),
    ("zero-vial-strength", mutated("product.vial_cells", 0), "product.vial_cells", "greater than or equal to 10000"),
    (
        "every-lot-fails",
        mutated("product.lots.failure_probability", 1.0),
        "product",
        "no lot would ever be released",
    ),
    (
        "unknown-policy",
        mutated("product.policy", {"kind": "just_in_time"}),
        "product.policy",
        "unknown stock policy 'just_in_time'; use one of make_to_order, reorder_point, schedule",
    ),
    (
        "expired-initial-stock",
        mutated("product.initial_stock_age_days", 400),
        "product",
        "the initial stock would be expired",
    ),
    (
        "reserve-at-typo",
        mutated("product.reserve_at", "enrollment"),
        "product.reserve_at",
        "'enrolment' or 'admission'",
    ),
]


@pytest.mark.parametrize(("text", "field", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_scenario_file(tmp_path: Path, text: str, field: str, problem: str):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(scenario), "-n", "2", "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    message = result.stderr
    assert "Traceback" not in result.output
    assert f"{scenario}: " in message
    if field:
        assert f": {field}: " in message or f": {field}." in message, message
    assert problem in message, message
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_validate_reports_every_file_and_fails(tmp_path: Path):
    good = BASE_SCENARIO
    bad = tmp_path / "bad.yaml"
    bad.write_text(mutated("population.female", 2))
    result = CliRunner().invoke(main, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert f"{good}: ok" in result.stdout
    assert f"{bad}: population.female:" in result.stderr


def test_several_problems_are_all_reported(tmp_path: Path):
    data = copy.deepcopy(BASE)
    data["population"]["female"] = 2
    data["dosing"]["beds"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "population.female" in result.stderr and "dosing.beds" in result.stderr


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (
            {"child.yaml": "extends: nowhere.yaml\nname: x\n"},
            "extends: parent scenario nowhere.yaml not found",
        ),
        ({"child.yaml": "extends: other.yaml\n", "other.yaml": "extends: child.yaml\n"}, "a cycle"),
        ({"child.yaml": "extends: 3\n"}, "extends: must be a file name"),
    ],
)
def test_bad_extends(tmp_path: Path, files: dict[str, str], problem: str):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "child.yaml")])
    assert result.exit_code == 2
    assert problem in result.stderr


def test_missing_file(tmp_path: Path):
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml: file not found" in result.stderr


def test_out_folder_with_foreign_files_is_refused(tmp_path: Path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    result = CliRunner().invoke(main, ["run", str(BASE_SCENARIO), "-n", "2", "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["thesis.docx"]


def test_real_process_exit_code_and_no_traceback(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(mutated("safety.hold_day", 28))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "ctdild_sim", "run", str(bad), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"{bad}: safety.hold_day: unknown field; did you mean 'hold_days'?"
    assert not out.exists()


EXAMPLE_RECORDS = SCENARIOS / "actuals" / "nct06574581-2026-11-25"


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("supply", "--target-stockout", "nan"),
        ("forecast", "--target-stockout", "nan"),
        ("run", "--precision", "nan"),
        ("run", "--precision", "NaN"),
        ("sensitivity", "--spread", "nan"),
        ("solve", "--range", "nan"),
        ("solve", "--range", "inf"),
    ],
)
def test_number_options_are_finite(command: str, option: str, value: str):
    """``nan`` passed every range check and raised ValueError later, a traceback."""
    args = [command, str(SCENARIOS / "nct06574581.yaml"), option, value]
    if option == "--range":
        args += ["1", "--lever", "sites.0.referral_rate_per_month", "--target", "P(lplv_by 2028-12-31) >= 0.5"]
    if command == "forecast":
        args += ["--actuals", str(EXAMPLE_RECORDS)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.stderr and "is not a finite number" in result.stderr
