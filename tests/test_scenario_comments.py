"""The scenario file's comments, by parameter: sources and WEAK flags, through ``extends``."""

from __future__ import annotations

import datetime as dt

from ctdild_sim.runs.results import list_runs, save_run, scenario_comments
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.comments import chain_comments, comment_for, file_comments, parent_texts
from ctdild_sim.scenario.loading import load_scenario

from conftest import BASE_SCENARIO, SCENARIOS

TEXT = """# The file's opening block.
# Second line.

name: demo
female: 0.85            # 90% (Respir Res 2022)
pregnant: 0.005         # WEAK
label: "a # inside quotes"
sites:
  - name: A
    # WEAK: paperwork. Listing silent.
    activation_days: {dist: lognormal, median: 30, p90: 90}
  - name: B   # the second site

    rate: 2
cohorts:
  - {name: one, size: 3}   # the listing's
"""


def test_comments_belong_to_the_key_on_their_line_or_after_their_block():
    comments = file_comments(TEXT)
    assert comments[""].text == "The file's opening block. Second line."
    assert comments["female"].text == "90% (Respir Res 2022)" and not comments["female"].weak
    assert comments["pregnant"].weak
    assert "label" not in comments  # a '#' inside quotes is not a comment
    assert comments["sites.0.activation_days"].text == "WEAK: paperwork. Listing silent."
    assert comments["sites.1.name"].text == "the second site" and "sites.1.rate" not in comments
    assert comments["cohorts.0"].text == "the listing's"
    assert comment_for(comments, "sites.0.activation_days.median").weak
    assert comment_for(comments, "sites.1.rate") is None


def test_the_shipped_file_says_where_its_assumptions_come_from():
    comments = file_comments(BASE_SCENARIO.read_text())
    assert "Respir Res 2022" in comments["population.female"].text
    assert comments["screening.duration_days"].weak and comments["sites.0.activation_days"].weak
    assert sum(c.weak for c in comments.values()) >= 30


def test_a_file_that_extends_another_has_both_files_comments():
    text = (SCENARIOS / "nct06574581_long_review.yaml").read_text()
    parents = parent_texts(text, SCENARIOS)
    assert [name for name, _ in parents] == ["nct06574581.yaml"]
    comments = chain_comments(text, parents)
    assert comments["safety.review_days"].text == "WEAK: convening a DSMB"  # its own
    assert "Respir Res 2022" in comments["population.female"].text  # the base's


def test_a_run_keeps_the_comments_of_the_files_it_extends(tmp_path):
    path = SCENARIOS / "nct06574581_long_review.yaml"
    scenario = load_scenario(path)
    save_run(
        tmp_path,
        run_scenario(scenario, 2, 1).items(),
        scenario=scenario,
        scenario_file=path,
        scenario_text=path.read_text(),
        seed=1,
        replicates=2,
        options={},
        command=["t"],
        started=dt.datetime.now(dt.UTC),
    )
    [run] = list_runs(tmp_path)
    assert [p[0] for p in run.manifest["scenario_parents"]] == ["nct06574581.yaml"]
    comments = scenario_comments(run.manifest)
    assert comments["safety.review_days"].weak and "Respir Res 2022" in comments["population.female"].text
