"""The Scenario page: parameters as the file groups them (with its comments), what differs between
runs' scenarios, and the editor: check, run and save an edited scenario (never over a file)."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest

from ctdild_sim.runs.record import RunRecord
from ctdild_sim.runs.results import save_run
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.comments import file_comments
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.scenario.parameters import parameter_tree
from ctdild_sim.views.compare import scenario_differences
from ctdild_sim.views.scenario import scenario_view
from dashboard import running
from dashboard.context import Context
from dashboard.data import DashboardError, load_runs, save_scenario_text
from dashboard.jobs import JobSlot
from dashboard.pages import scenario as scenario_page

from conftest import BASE_SCENARIO, SCENARIOS

BASE = "nct06574581.yaml"


def test_the_tree_groups_parameters_as_the_file_does_with_its_comments():
    text = BASE_SCENARIO.read_text()
    tree = parameter_tree(load_scenario(BASE_SCENARIO), file_comments(text))
    groups = list(dict.fromkeys(tree["group"]))
    assert groups[:3] == ["trial", "sites.0", "population"]
    assert {"product", "product.lots", "product.policy", "product.costs", "cohorts.2"} <= set(groups)
    lots = tree[tree["group"] == "product.lots"].set_index("parameter")
    # a distribution is one parameter, written as the file writes it
    assert lots.loc["lead_time_days", "value"] == "lognormal: median 35, p90 56"
    assert lots.loc["lead_time_days", "weak"] and "expansion to fill" in lots.loc["lead_time_days", "source"]
    assert not lots.loc["failure_probability", "weak"] and "Sabatino 2012" in lots.loc["failure_probability", "source"]
    assert lots.loc["lead_time_days", "description"]  # the model's description of the field
    # every WEAK comment of the file is on some parameter of the tree (or on a section)
    assert tree["weak"].sum() >= 10


def test_the_scenario_view_folds_each_section_with_its_comment():
    text = BASE_SCENARIO.read_text()
    view = scenario_view(load_scenario(BASE_SCENARIO), BASE, file_comments(text))
    assert view.folded and len(view.tables) == len({t.split(":")[0] for t, _ in view.tables})
    titles = [t for t, _ in view.tables]
    costs = next(t for t in titles if t.startswith("product.costs:"))
    assert costs == "product.costs: 5 parameters, 4 WEAK"
    assert "placeholder" in view.captions[costs]  # the block comment above ``costs:``
    assert "marked WEAK in the file" in view.notes[0]


def _record(tmp_path, path, replicates=4):
    scenario = load_scenario(path)
    tables = run_scenario(scenario, replicates, seed=3, keep_events=0)
    folder = save_run(
        tmp_path,
        tables.with_summaries(scenario),
        scenario=scenario,
        scenario_file=path,
        scenario_text=path.read_text(),
        seed=3,
        replicates=replicates,
        options={},
        command=["t"],
        started=dt.datetime.now(dt.UTC),
    )
    return RunRecord.open(folder.name, tmp_path)


def test_compare_lists_what_differs_from_the_first_scenario(tmp_path):
    base = _record(tmp_path, SCENARIOS / BASE)
    review = _record(tmp_path, SCENARIOS / "nct06574581_long_review.yaml")
    differing = scenario_differences([base, review])
    assert set(differing["scenario"]) == {"NCT06574581 long review"}
    rows = differing.set_index("parameter")
    assert "name" in rows.index and rows.loc["name", "reference_value"] == "NCT06574581 base"
    assert any(p.startswith("safety.") for p in rows.index)
    assert len(scenario_differences([base, base])) == 0


@pytest.fixture
def ctx(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    shutil.copy(BASE_SCENARIO, scenarios / BASE)
    return Context(
        scenarios,
        tmp_path / "results",
        workers=1,
        max_replicates=50,
        jobs=JobSlot(tmp_path / "job.lock"),
        server_pid=os.getpid(),
    )


def test_save_as_writes_a_new_checked_file_and_never_overwrites(ctx):
    folder = ctx.scenarios_dir
    edited = (folder / BASE).read_text().replace("name: NCT06574581 base", "name: NCT06574581 edited")
    path = save_scenario_text(folder, "edited.yaml", edited)
    assert path.read_text() == edited and load_scenario(path).name == "NCT06574581 edited"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for name, text, problem in (
        ("edited.yaml", edited, "exists in scenarios/"),
        (BASE, edited, "exists in scenarios/"),
        ("../outside.yaml", edited, "a new file name"),
        ("no-suffix", edited, "a new file name"),
        ("bad.yaml", edited.replace("start_date:", "start_dat:"), "bad.yaml: start_dat"),
    ):
        with pytest.raises(DashboardError, match=problem):
            save_scenario_text(folder, name, text)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing written, no temporary left
    assert not (folder.parent / "outside.yaml").exists()


def test_an_edited_scenario_is_checked_and_runs_with_its_text_stored(ctx):
    text = (ctx.scenarios_dir / BASE).read_text().replace("referral_rate_per_month: 1.5", "referral_rate_per_month: 3")
    assert "valid" in str(scenario_page.on_check(ctx, text, BASE))
    # a text that extends the file it came from is not a cycle: it is not that file
    short = f"extends: {BASE}\nname: short edit\n"
    assert "nct06574581 (edited).yaml: valid" in str(scenario_page.on_check(ctx, short, BASE))
    assert "start_dat" in str(scenario_page.on_check(ctx, text.replace("start_date:", "start_dat:"), BASE))
    progress = []
    (run_id,), status = scenario_page.on_run_text(ctx, progress.append, text, BASE, 6, 11)
    assert status.startswith(f"Stored {run_id} (nct06574581 (edited).yaml): 6 replicates, seed 11") and progress
    run = load_runs(ctx.results_dir, [run_id])[0]
    assert run.manifest["scenario_text"] == text and run.replicates == 6 and run.seed == 11
    assert run.scenario.sites[0].referral_rate_per_month == 3
    # a text that does not validate is not run, and nothing is stored
    _, status = scenario_page.on_run_text(ctx, progress.append, "name: x\n", "x.yaml", 6, 11)
    assert "x (edited).yaml: start_date: required field" in str(status)
    assert len(list(ctx.results_dir.iterdir())) == 1
    # with its base: the file it came from runs too, on the same seed, both picked for Compare
    run_ids, status = scenario_page.on_run_text(ctx, progress.append, text, BASE, 6, 12, ["base"])
    base, edited = load_runs(ctx.results_dir, run_ids)
    assert base.scenario.name == "NCT06574581 base" and edited.scenario.sites[0].referral_rate_per_month == 3
    assert base.seed == edited.seed == 12 and "Open Compare" in status
    assert running.on_stored(ctx, run_ids)[1] == run_ids
    from ctdild_sim.runs.record import comparable

    assert comparable([base, edited]) is None
    _, status = scenario_page.on_run_text(ctx, progress.append, text, "uploaded.yaml", 6, 12, ["base"])
    assert "there is no base to run with it" in str(status)
