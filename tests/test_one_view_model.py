"""The terminal, the dashboard and the packs render one view model per study: for a stored plan,
a forecast and a comparison, the CLI prints and the dashboard shows the same headline answers,
the same table titles and the same cells."""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from ctdild_sim import cli
from ctdild_sim.reports.pack import view_pack
from ctdild_sim.reports.writers import typed_cell, write_report
from ctdild_sim.runs.results import list_runs
from ctdild_sim.views.columns import present
from ctdild_sim.views.view import View
from dashboard import shell
from dashboard.context import Context
from dashboard.jobs import JobSlot

from conftest import BASE_SCENARIO, FORECAST_EXAMPLE, SCENARIOS

LONG_REVIEW = SCENARIOS / "nct06574581_long_review.yaml"


@pytest.fixture
def store(tmp_path):
    return tmp_path / "results"


def _cli(monkeypatch, *args: str, every: bool = False) -> tuple[View, str]:
    """Run a command in this process; the (last) view it rendered, or with ``every`` a view of all
    it rendered, and what it printed."""
    shown: list[View] = []
    render = cli.view_report

    def keep(console, view):
        shown.append(view)
        render(console, view)

    monkeypatch.setattr(cli, "view_report", keep)
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == 0, result.output
    if every:
        for view in shown[1:]:
            shown[0].extend(view)
    return shown[0] if every else shown[-1], " ".join(result.stdout.split())


def _page(tmp_path, store, page: str, run_ids: list[str], **query: str) -> list:
    """The dashboard's page for stored runs, as the browser gets it (components)."""
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    ctx = Context(
        tmp_path / "scenarios", store, 1, 100, JobSlot(tmp_path / "job.lock"), os.getpid(), tmp_path / "actuals"
    )
    return shell.on_view(ctx, {"page": page, "runs": run_ids, **query})


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)


def _shown(components: list) -> tuple[list[tuple[str, str]], dict[str, list[dict]], str]:
    """What a page shows: its answers (question, answer), its tables by title (rows as the page
    holds them) and all its text."""
    nodes = [n for c in components for n in _walk(c)]
    terms = [n.children for n in nodes if type(n).__name__ == "Dt"]
    answers = list(zip(terms, [n.children for n in nodes if type(n).__name__ == "Dd"], strict=True))
    tables, title = {}, None
    for n in nodes:
        if type(n).__name__ == "H4":
            title = n.children
        elif type(n).__name__ == "DataTable":
            tables[title] = n.data
    text = " ".join(n.children for n in nodes if isinstance(getattr(n, "children", None), str))
    return answers, tables, text


def _same(cli_view: View, printed: str, components: list) -> None:
    """The page shows every answer and every table the terminal printed, cell for cell."""
    answers, tables, text = _shown(components)
    assert cli_view.answers, "a study's view model leads with its answers"
    assert len(cli_view.terminal_tables) >= 3 and len(tables) >= len(cli_view.terminal_tables)
    for a in cli_view.answers:
        assert (a.question, a.answer) in answers
        assert " ".join(f"{a.question}: {a.answer}".split()) in printed
    for title, frame in cli_view.terminal_tables:
        assert " ".join(title.split()) in printed
        assert tables[title] == present(frame).to_dict("records"), title
    for note in cli_view.notes:
        assert note in text
        assert " ".join(note.split()) in printed
    # the pack is written from the same view model, and its HTML and Excel files say the same
    section = view_pack(cli_view).sections[0]
    lines = [f"{a.question}: {a.answer}." for a in cli_view.answers]
    assert lines == section.notes[: len(cli_view.answers)]
    folder = Path(tempfile.mkdtemp())
    page = html.unescape(write_report(view_pack(cli_view), folder / "pack.html", "html").read_text())
    book = write_report(view_pack(cli_view), folder / "pack.xlsx", "xlsx")
    summary = pd.read_excel(book, sheet_name="Summary")
    assert all(line in page for line in lines) and set(lines) <= set(summary.iloc[:, 0])
    # typed cells: no sheet holds a date or a percentage as text (a parameter's value, as a scenario
    # file writes it, may be "0")
    for sheet in load_workbook(book).worksheets[2:]:
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                typed = typed_cell(cell.value)[1] if isinstance(cell.value, str) else None
                assert typed not in ("yyyy-mm-dd", "0.0%"), (sheet.title, cell.value)
    shutil.rmtree(folder)


def test_a_plan_reads_the_same_in_the_terminal_and_on_the_timeline_page(tmp_path, store, monkeypatch):
    view, printed = _cli(
        monkeypatch, "run", str(BASE_SCENARIO), "-n", "30", "--seed", "11", "-j", "1", "--results", str(store)
    )
    [run] = list_runs(store)
    assert view.title == "Plan from day 0: NCT06574581 base (30 replicates, seed 11)"
    titles = [t for t, _ in view.terminal_tables]
    assert titles[0] == "NCT06574581 base: milestone dates"
    _same(view, printed, _page(tmp_path, store, "timeline", [run.run_id]))


def test_a_forecast_reads_the_same_in_the_terminal_and_on_the_forecast_page(tmp_path, store, monkeypatch):
    view, printed = _cli(
        monkeypatch,
        *FORECAST_EXAMPLE,
        "--target-date",
        "2028-06-30",
        "-n",
        "40",
        "-j",
        "1",
        "--plan-replicates",
        "20",
        "--quiet",
        "--results",
        str(store),
    )
    [run] = list_runs(store)
    questions = [a.question for a in view.answers]
    assert view.title == "NCT06574581 base, forecast as of 2026-11-25"
    assert "NCT06574581 base, forecast as of 2026-11-25: P(last patient last visit by 2028-06-30)" in questions
    assert any("which lot size and reorder policy" in q for q in questions)
    _same(view, printed, _page(tmp_path, store, "forecast", [run.run_id]))


def test_a_comparison_reads_the_same_in_the_terminal_and_on_the_compare_page(tmp_path, store, monkeypatch):
    view, printed = _cli(
        monkeypatch, "compare", str(BASE_SCENARIO), str(LONG_REVIEW), "-n", "20", "--seed", "3", "-j", "1", "--quiet"
    )
    for path in (BASE_SCENARIO, LONG_REVIEW):  # the same runs, stored, as the page shows them
        stored = CliRunner().invoke(
            cli.main, ["run", str(path), "-n", "20", "--seed", "3", "-j", "1", "--results", str(store), "--quiet"]
        )
        assert stored.exit_code == 0, stored.output
    ids = [r.run_id for r in sorted(list_runs(store), key=lambda r: r.manifest["scenario_name"] != "NCT06574581 base")]
    assert view.title == "Compare: NCT06574581 long review against NCT06574581 base"
    first = view.answers[0]  # the headline is the paired difference, with its interval
    assert first.question.startswith("NCT06574581 long review against NCT06574581 base: how much later")
    assert "95% interval" in first.answer and "paired over 20 replicates" in first.answer
    _same(view, printed, _page(tmp_path, store, "compare", ids))
    shutil.rmtree(store)


def test_asking_whether_a_stored_run_holds_a_table_does_not_read_it(tmp_path, monkeypatch):
    """The views ask ``"events" in run.tables`` often; a stored run answers from its manifest."""
    from ctdild_sim.runs import results
    from ctdild_sim.runs.record import RunRecord

    stored = CliRunner().invoke(
        cli.main, ["run", str(BASE_SCENARIO), "-n", "4", "-j", "1", "--results", str(tmp_path), "--quiet"]
    )
    assert stored.exit_code == 0, stored.output
    [run] = list_runs(tmp_path)
    record = RunRecord.open(run.run_id, tmp_path)
    read = []
    monkeypatch.setattr(results, "_read_table", lambda folder, name: read.append(name))
    assert "events" in record.tables and "no_such_table" not in record.tables and read == []


def test_target_dates_are_asked_of_a_forecast_and_kept_in_the_address(tmp_path, store, monkeypatch):
    view, printed = _cli(
        monkeypatch,
        *FORECAST_EXAMPLE,
        "--target-date",
        "2029-12-31",
        "--target-date",
        "2028-06-30",
        "-n",
        "30",
        "-j",
        "1",
        "--no-lot-plan",
        "--quiet",
        "--results",
        str(store),
    )
    name = "NCT06574581 base, forecast as of 2026-11-25"
    asked = [a for a in view.answers if a.question.startswith(f"{name}: P(last patient last visit by 20")]
    assert [a.question[-11:-1] for a in asked] == ["2028-06-30", "2029-12-31"]  # in date order
    assert all("±" in a.answer or "≤" in a.answer or "≥" in a.answer for a in asked)  # with the MC error
    assert all(" ".join(f"{a.question}: {a.answer}".split()) in printed for a in asked)
    [run] = list_runs(store)
    assert run.manifest["target_dates"] == ["2028-06-30", "2029-12-31"]
    # the page asks its address's dates too, beside those the forecast was asked
    answers, _, _ = _shown(_page(tmp_path, store, "forecast", [run.run_id], targets="2027-06-30,2028-06-30"))
    dates = [q[-11:-1] for q, _ in answers if q.startswith(f"{name}: P(last patient last visit by 20")]
    assert dates == ["2027-06-30", "2028-06-30", "2029-12-31"]
    assert dict(answers)[asked[0].question] == asked[0].answer  # one number for one question
    bad = _page(tmp_path, store, "forecast", [run.run_id], targets="2028-13-01")
    assert "Target dates: '2028-13-01' is not a date (YYYY-MM-DD)" in str(bad)


@pytest.mark.slow
def test_a_lot_plan_is_a_stored_run_the_pack_and_the_page_show_the_same(tmp_path, store, monkeypatch):
    args = ["supply", str(BASE_SCENARIO), "-n", "20", "--target-stockout", "0.3", "--max-reorder-point", "16"]
    view, printed = _cli(monkeypatch, *args, "-j", "1", "--quiet", "--results", str(store), every=True)
    [run] = list_runs(store)
    assert run.manifest["kind"] == "lot_plan" and run.manifest["target_stockout"] == 0.3
    assert f"Saved as run {run.run_id}" in printed
    listed = CliRunner().invoke(cli.main, ["runs", "--results", str(store)], env={"COLUMNS": "250"})
    point, size = run.manifest["reorder_point"], run.manifest["fill_vials"]
    assert f"lot plan: lots of {size} vials, reorder point {point}, P(wait) target 30.0%" in listed.stdout
    # the Cell product page of the address ?runs=ID, and the steering pack, answer as the terminal did
    plan_answer = next(a for a in view.answers if "which lot size and reorder policy" in a.question)
    answers, tables, _ = _shown(_page(tmp_path, store, "product", [run.run_id]))
    stored = dict(answers)[plan_answer.question.replace("NCT06574581 base:", "NCT06574581 base, lot plan:")]
    assert stored == plan_answer.answer
    assert any(t.endswith("lot plan search (P(stock-out) upper 95% bound under 30.0%)") for t in tables)
    from ctdild_sim.reports.pack import steering_pack
    from ctdild_sim.runs.record import RunRecord

    pack = steering_pack([RunRecord.open(run.run_id, store)])
    notes = " ".join(n for s in pack.sections for n in s.notes)
    assert plan_answer.answer in notes and any(s.heading.startswith("Lot plans:") for s in pack.sections)
    # --no-store keeps nothing
    _cli(monkeypatch, *args, "-j", "1", "--quiet", "--results", str(tmp_path / "other"), "--no-store")
    assert not (tmp_path / "other").exists() or list_runs(tmp_path / "other") == []


def test_one_count_of_weak_assumptions_everywhere(tmp_path):
    """The Scenario page, the pack and a sensitivity run of the base scenario count the same WEAK
    assumptions (they once said 34, 37 and 27): ``weak_assumptions`` of the file's comments."""
    from ctdild_sim.reports.pack import steering_pack
    from ctdild_sim.runs.record import RunRecord
    from ctdild_sim.runs.results import scenario_comments
    from ctdild_sim.scenario.comments import weak_assumptions
    from ctdild_sim.views.scenario import scenario_view
    from ctdild_sim.views.sensitivity import sensitivity_view

    stored = CliRunner().invoke(
        cli.main, ["run", str(BASE_SCENARIO), "-n", "3", "-j", "1", "--results", str(tmp_path), "--quiet"]
    )
    assert stored.exit_code == 0, stored.output
    [run] = list_runs(tmp_path)
    record = RunRecord.open(run.run_id, tmp_path)
    comments = scenario_comments(record.manifest)
    weak = len(weak_assumptions(comments))
    assert weak > 20  # the base file marks many of its guesses
    assert f"; {weak} assumptions marked WEAK in the file" in scenario_view(record.scenario, "f", comments).notes[0]
    notes = " ".join(n for s in steering_pack([record]).sections for n in s.notes)
    assert f"{weak} of them WEAK" in notes
    arms = pd.DataFrame(
        {"parameter": ["safety.hold_days"], "how": ["WEAK x0.5-1.5"], "base_value": [28.0], "low_value": [14.0]}
    ).assign(high_value=42.0)
    tornado = RunRecord.made(record.scenario, {"metrics": record.tables["metrics"], "sensitivity_arms": arms}, 1, 3)
    tornado.manifest.update(record.manifest)  # its file's comments
    view = sensitivity_view([tornado], resamples=0)
    assert f"the file marks {weak} assumptions WEAK; 1 were moved" in " ".join(view.notes)
