"""No text the tool writes to a spreadsheet runs as a formula (spreadsheet formula injection).

A scenario, site, cohort or run label named ``=HYPERLINK(...)`` once became formula cells in the
Excel packs and the dashboard's exports, and raw ``=...`` cells in the CSV files. Every XLSX writer
is checked by counting openpyxl's formula cells, every CSV writer by the cells' first characters;
numbers stay numbers, and the tool reads its own records back.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from ctdild_sim.actuals.records import read_records
from ctdild_sim.cli import main
from ctdild_sim.runs.results import list_runs
from ctdild_sim.scenario.base import FORMULA_STARTS, spreadsheet_text
from ctdild_sim.scenario.loading import load_scenario
from dashboard import shell
from dashboard.context import Context
from dashboard.jobs import JobSlot

from conftest import BASE_SCENARIO

EVIL = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, Path, str]:
    """A scenario whose name, site and cohort start like formulas, and a stored run of it."""
    root = tmp_path_factory.mktemp("hostile")
    data = yaml.safe_load(BASE_SCENARIO.read_text())
    data["name"] = EVIL
    data["sites"][0]["name"] = "=1+2"
    data["cohorts"][0]["name"] = "@SUM(A1)"
    folder = root / "scenarios"
    folder.mkdir()
    scenario = folder / "evil.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    store = root / "results"
    result = CliRunner().invoke(
        main,
        ["run", str(scenario), "-n", "6", "-j", "1", "--results", str(store), "--out", str(root / "out"), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    [run] = list_runs(store)
    labelled = CliRunner().invoke(main, ["runs", "--results", str(store), "--label", run.run_id, "-cmd|' /C calc'!A0"])
    assert labelled.exit_code == 0, labelled.output
    return root, store, run.run_id


def formula_cells(path: Path) -> list[str]:
    book = load_workbook(path)
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def formula_like_csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row if str(spreadsheet_text(cell)) != cell]


def test_a_text_cell_that_starts_like_a_formula_is_made_text_and_numbers_stay():
    for start in FORMULA_STARTS:
        assert spreadsheet_text(f"{start}x") == f"'{start}x"
    assert spreadsheet_text("-3") == "-3" and spreadsheet_text("+0.5") == "+0.5" and spreadsheet_text(-3) == -3
    assert spreadsheet_text("CMUH") == "CMUH" and spreadsheet_text(None) is None


def test_the_packs_hold_no_formulas(hostile, tmp_path):
    _, store, run_id = hostile
    pack = tmp_path / "pack.xlsx"
    result = CliRunner().invoke(main, ["report", run_id, "--results", str(store), "--out", str(pack)])
    assert result.exit_code == 0, result.output
    assert formula_cells(pack) == []
    book = load_workbook(pack)
    texts = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(EVIL in t for t in texts) and any("-cmd|' /C calc'!A0" in t for t in texts)  # kept, as text


def test_the_run_s_csv_files_hold_no_formula(hostile):
    root, _, _ = hostile
    files = sorted((root / "out").glob("*.csv"))
    assert files
    for path in files:
        assert formula_like_csv_cells(path) == [], path.name
    with (root / "out" / "metrics.csv").open() as handle:  # numbers stay numbers
        row = next(csv.DictReader(handle))
    float(row["lplv_day"] or "nan")


def test_the_dashboard_s_exports_hold_no_formulas(hostile, tmp_path):
    root, store, run_id = hostile
    ctx = Context(
        root / "scenarios",
        store,
        workers=1,
        max_replicates=50,
        jobs=JobSlot(tmp_path / "job.lock"),
        server_pid=os.getpid(),
    )
    for page in ("timeline", "product", "cohorts", "screening"):
        download, message = shell.on_export(ctx, {"page": page, "runs": [run_id], "replicate": "0"}, "xlsx")
        assert message == "", message
        path = tmp_path / f"{page}.xlsx"
        path.write_bytes(base64.b64decode(download["content"]))
        assert formula_cells(path) == [], page
    download, _ = shell.on_steering_pack(ctx, [run_id], "xlsx")
    (tmp_path / "pack.xlsx").write_bytes(base64.b64decode(download["content"]))
    assert formula_cells(tmp_path / "pack.xlsx") == []
    rows = [{"Cohort": "=1+2", "Subjects": 3}, {"Cohort": "@SUM(A1)", "Subjects": -1}]
    columns = [{"name": "Cohort", "id": "Cohort"}, {"name": "Subjects", "id": "Subjects"}]
    content = shell.on_csv("cohorts", rows, columns)["content"]
    (tmp_path / "cohorts.csv").write_text(content)
    assert formula_like_csv_cells(tmp_path / "cohorts.csv") == []
    assert "'=1+2,3" in content and "'@SUM(A1),-1" in content


def test_records_written_with_a_formula_like_site_read_back(hostile, tmp_path):
    root, _, _ = hostile
    scenario = root / "scenarios" / "evil.yaml"
    out = tmp_path / "records"
    result = CliRunner().invoke(
        main, ["actuals", str(scenario), "--replicate", "3", "--as-of", "2026-06-30", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for path in out.glob("*.csv"):
        assert formula_like_csv_cells(path) == [], path.name
    assert "'=1+2" in (out / "screening.csv").read_text()
    records = read_records(out, load_scenario(scenario), dt.date(2026, 6, 30))
    assert set(records.trace.referrals) == {"=1+2"}  # the site's name, read back as it is


def test_the_records_template_holds_no_formulas(hostile, tmp_path):
    root, _, _ = hostile
    path = tmp_path / "records.xlsx"
    result = CliRunner().invoke(main, ["actuals", str(root / "scenarios" / "evil.yaml"), "--template", str(path)])
    assert result.exit_code == 0, result.output
    assert formula_cells(path) == []
    assert "=1+2" in [c.value for c in load_workbook(path)["Lists"]["A"]]
