"""Reports in a narrow terminal: at 80 columns every column of every table is shown and no cell is
cut (a table too wide is stacked, a row per block); the forecast and the ``runs`` listing are
checked against golden files (``CTDILD_UPDATE_GOLDEN=1`` rewrites them after a deliberate change)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from ctdild_sim.cli import main
from ctdild_sim.reports.terminal import fitted
from ctdild_sim.runs.results import list_runs

from conftest import BASE_SCENARIO, FORECAST_EXAMPLE, wait_until

GOLDEN = Path(__file__).parent / "golden"


def _matches_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CTDILD_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; CTDILD_UPDATE_GOLDEN=1 rewrites it if that is meant"


def _narrow(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    return result.stdout


def test_the_forecast_at_80_columns_shows_every_column(tmp_path):
    text = _narrow(
        *FORECAST_EXAMPLE,
        "--target-date",
        "2028-06-30",
        "-n",
        "40",
        "--plan-replicates",
        "20",
        "-j",
        "1",
        "--quiet",
        "--no-store",
    )
    words = set(text.split())
    for label in ("Posterior (mean [90%])", "What the records say", "Percentile of the plan", "Observed on"):
        assert set(label.split()) <= words, label  # a header may wrap onto lines of its own
    assert {"26.9%", "[16.8%,", "38.2%]"} <= words  # a cell once cut mid-value in a pipe: whole (it may wrap)
    _matches_golden("forecast-80.txt", text)


def test_runs_at_80_columns_shows_kind_replicates_and_finish(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the listing's title names the store as given
    store = Path("results")
    for args in (
        ["run", str(BASE_SCENARIO), "-n", "4"],
        [*FORECAST_EXAMPLE, "-n", "4", "--no-lot-plan"],
    ):
        made = CliRunner().invoke(main, [*args, "-j", "1", "--quiet", "--results", str(store)])
        assert made.exit_code == 0, made.output
        second = time.strftime("%H%M%S")  # run ids start with the second they were made: listed in order
        wait_until(lambda s=second: time.strftime("%H%M%S") != s, "the next second", 5)
    text = _narrow("runs", "--results", str(store))
    for part in ("plan from day 0", "forecast as of 2026-11-25", "4 (20240820)", "Finished", "Kind"):
        assert part in text, part
    for run in list_runs(store):  # run ids hold the time they were made
        text = text.replace(run.run_id, f"RUN-{run.manifest.get('kind', 'plan')}".ljust(len(run.run_id)))
    text = re.sub(r"Finished( +)│ \d{4}-\d{2}-\d{2}", r"Finished\1│ YYYY-MM-DD", text)  # today
    _matches_golden("runs-80.txt", text)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_table_never_loses_a_column_or_a_cell(width):
    frame = pd.DataFrame(
        {
            "milestone": ["lplv_day", "first_infusion_day"],
            "label": ["Last patient last visit", "First infusion"],
            "reached": [0.84, 1.0],
            "p10_date": pd.to_datetime(["2026-09-13", "2024-10-12"]).date,
            "p50_date": pd.to_datetime(["2028-05-02", "2025-01-04"]).date,
            "p90_date": [None, pd.Timestamp("2025-06-24").date()],
        }
    )
    console = Console(width=width, record=True, color_system=None)
    console.print(fitted(console, "milestones", frame))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    for word in ("Milestone", "Reached", "P10", "P50", "P90", "2028-05-02", "2024-10-12", "2025-06-24", "84.0%"):
        assert word in text, (width, word)
