"""The steering pack and the report writers: HTML, PDF (its pages rendered to PNG, kept for a
person to look at) and Excel (read back with pandas); ``ctdild-sim report`` and its errors."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ctdild_sim.cli import main
from ctdild_sim.reports.pack import steering_pack
from ctdild_sim.reports.writers import ReportError, excel_frame, sheet_names, write_report
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.runs.results import save_run
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.studies.forecast import forecast
from ctdild_sim.views.steering import documented_assumptions

from conftest import BASE_SCENARIO, ROOT, SCENARIOS

ARTIFACTS = Path(os.environ.get("CTDILD_ARTIFACTS", ROOT / "test-artifacts"))
"""Where the tests leave pictures for a person to look at (the PDF's pages)."""
RAW = re.compile(r"\b(None|nan|NaN|NaT|inf)\b")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, list[str]]:
    """A plan run of the base scenario, one of the long-review variant, and a forecast."""
    root = tmp_path_factory.mktemp("results")
    ids = []
    for path in (BASE_SCENARIO, SCENARIOS / "nct06574581_long_review.yaml"):
        scenario = load_scenario(path)
        tables = run_scenario(scenario, 40, 3, keep_events=5)
        ids.append(
            save_run(
                root,
                tables.with_summaries(scenario),
                scenario=scenario,
                scenario_file=path,
                scenario_text=path.read_text(),
                seed=3,
                replicates=40,
                options={},
                command=["test"],
                started=dt.datetime.now(dt.UTC),
            ).name
        )
    base = load_scenario(BASE_SCENARIO)
    made = forecast(base, SCENARIOS / "actuals" / "nct06574581-2026-11-25", dt.date(2026, 11, 25), 30, 3, workers=1)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    ids.append(
        save_run(
            root,
            made.output_tables(),
            scenario=base,
            scenario_file=BASE_SCENARIO,
            scenario_text=BASE_SCENARIO.read_text(),
            seed=3,
            replicates=30,
            options={},
            command=["test"],
            started=later,
            extra=made.manifest(),
        ).name
    )
    return root, ids


def test_the_steering_pack_answers_the_headline_questions(store):
    root, ids = store
    pack = steering_pack([RunRecord.open(i, root) for i in ids])
    headings = [s.heading for s in pack.sections]
    assert headings == [
        "Headline answers",
        "Plan from day 0: NCT06574581 base, NCT06574581 long review (40 replicates, seed 3)",
        "NCT06574581 base, forecast as of 2026-11-25",
        "Cell product: NCT06574581 base, NCT06574581 long review (40 replicates, seed 3)",
        "Assumptions",
        "The runs",
    ]
    notes = " ".join(n for s in pack.sections for n in s.notes)
    assert "NCT06574581 long review: P(last patient last visit by the registered completion date 2026-05-30)" in notes
    assert "NCT06574581 base, forecast as of 2026-11-25: from the records nct06574581-2026-11-25" in notes
    # the headline repeats every study's answers, as the study's own section gives them
    first, *studies = pack.sections
    answers = [n for study in studies[:3] for n in study.notes if "?: " in n or ": P(" in n]
    assert len(answers) >= 6 and set(answers) <= set(first.notes)
    # a plan and a forecast of one scenario are told apart in every answer
    assert any(n.startswith("NCT06574581 base: when is the last patient's last visit?") for n in first.notes)
    when = "NCT06574581 base, forecast as of 2026-11-25: when is the last patient's last visit?"
    assert any(n.startswith(when) for n in first.notes)
    assert "documented assumptions" in notes and "of them WEAK" in notes
    titles = [t for s in pack.sections for t, _ in s.tables]
    learned = [t for t in titles if "prior against posterior" in t]  # in the forecast's section, once
    assert len(learned) == 1 and "forecast as of 2026-11-25" in learned[0]
    assert "the assumptions learned from its records are in its own section" in notes
    assert sum(t.endswith(": manifest") for t in titles) == 3


def test_assumptions_carry_their_source_and_weak_flag(store):
    root, ids = store
    record = RunRecord.open(ids[1], root)  # the long-review variant: its own comments and its parent's
    table = documented_assumptions(record.scenario, record.manifest).set_index("parameter")
    assert table.loc["safety.review_days", "source"] == "WEAK: convening a DSMB"
    assert table.loc["safety.review_days", "weak"] and table.loc["safety.review_days", "value"].startswith("lognormal")
    assert "Respir Res 2022" in table.loc["population.female", "source"] and not table.loc["population.female", "weak"]


def test_html_report(store, tmp_path):
    root, ids = store
    path = write_report(steering_pack([RunRecord.open(i, root) for i in ids]), tmp_path / "pack.html", "html")
    text = path.read_text()
    assert "<h1>Steering pack: NCT06574581 base" in text and text.count("plotly.js v") == 1
    tables = pd.read_html(path)
    assert len(tables) >= 10 and not any(RAW.search(t.fillna("").to_string()) for t in tables)  # empty: read as NaN


@pytest.mark.slow
def test_pdf_report_pages_render(store, tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    root, ids = store
    path = write_report(steering_pack([RunRecord.open(i, root) for i in ids]), tmp_path / "pack.pdf", "pdf")
    pdf = pdfium.PdfDocument(str(path))
    try:
        assert len(pdf) >= 4
        first = pdf[0].get_textpage().get_text_range()
        assert "Steering pack: NCT06574581 base" in first and "Headline answers" in first
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i in range(len(pdf)):
            image = pdf[i].render(scale=1.0).to_pil().convert("L")
            image.save(ARTIFACTS / f"steering-pack-page-{i + 1:02d}.png")
            marked = sum(image.histogram()[:250])  # pixels not white: text, lines, bars
            assert marked > 2000, f"page {i + 1} is blank"
        text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        assert "Last patient last visit" in text and "WEAK" in text and "Cohort 3 hold complete" in text
    finally:
        pdf.close()


def test_excel_report_reads_back_with_typed_cells(store, tmp_path):
    root, ids = store
    path = write_report(steering_pack([RunRecord.open(i, root) for i in ids]), tmp_path / "pack.xlsx", "xlsx")
    sheets = pd.read_excel(path, sheet_name=None, header=1)
    assert "Summary" in sheets and len(sheets) >= 12
    headline = next(frame for name, frame in sheets.items() if name.startswith("Headline"))
    assert list(headline.columns)[:2] == ["Scenario", "Replicates"]
    assert headline["P(stopped early)"].between(0, 1).all()  # a number formatted as a percentage
    milestones = next(frame for name, frame in sheets.items() if name.startswith("milestone dates"))
    assert pd.api.types.is_datetime64_any_dtype(milestones["P10"]) or milestones["P10"].map(type).eq(dt.datetime).any()
    summary = pd.read_excel(path, sheet_name="Summary")
    assert summary.iloc[0, 0].startswith("Steering pack:")
    index = pd.read_excel(path, sheet_name="Index")  # every table's sheet, each a link to it
    assert list(index["Sheet"]) == [n for n in sheets if n not in ("Summary", "Index")]
    assert index["Sheet"].is_unique and index["Sheet"].str.len().max() <= 31
    from openpyxl import load_workbook

    book = load_workbook(path)
    assert book["Index"]["A2"].hyperlink.location == f"'{index['Sheet'][0]}'!A1"


def test_excel_frames_and_sheet_names():
    frame = pd.DataFrame(
        {
            "label": ["LPLV"],
            "reached": [0.84],
            "p10_date": [dt.date(2026, 9, 13)],
            "p50_date": [None],
            "p90_date": [None],
            "milestone": ["lplv_day"],
        }
    )
    shown, formats = excel_frame(frame)
    assert shown.iloc[0].tolist() == [
        "LPLV",
        0.84,
        dt.date(2026, 9, 13),
        "not reached (16.0% never reach it)",
        "not reached (16.0% never reach it)",
    ]
    assert formats["Reached in"] == "0.0%" and formats["P10"] == "yyyy-mm-dd"
    names = sheet_names(["Milestones: NCT06574581 base: milestones"] * 3 + ["a/b:c?", "Summary"])
    assert len(set(names)) == 5 and all(len(n) <= 31 for n in names) and "Summary" not in names
    assert not any(ch in n for n in names for ch in "[]:*?/\\")


def test_report_command(store, tmp_path):
    root, ids = store
    out = tmp_path / "pack.xlsx"
    result = CliRunner().invoke(main, ["report", *ids[:2], "--results", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "written to" in result.stdout and out.is_file()  # the format from the suffix
    unknown = CliRunner().invoke(main, ["report", ids[0], "nope", "--results", str(root), "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "run nope: no such run" in unknown.stderr and not (tmp_path / "x").exists()
    bad = CliRunner().invoke(main, ["report", ids[0], "--results", str(root), "--format", "docx"])
    assert bad.exit_code == 2 and "'docx' is not one of" in bad.stderr


def test_a_pdf_without_chromium_says_so_and_writes_nothing(store, tmp_path, monkeypatch):
    root, ids = store
    monkeypatch.setenv("CTDILD_CHROMIUM", "no-such-browser")
    out = tmp_path / "pack.pdf"
    result = CliRunner().invoke(main, ["report", ids[0], "--results", str(root), "--out", str(out)])
    assert result.exit_code == 1 and "CTDILD_CHROMIUM=no-such-browser: no such program" in result.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ReportError, match="unknown report format"):
        write_report(steering_pack([RunRecord.open(ids[0], root)]), tmp_path / "x.doc", "doc")  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_dashboard_exports_with_the_same_writers(store, tmp_path):
    import base64

    from dashboard import shell
    from dashboard.context import Context
    from dashboard.jobs import JobSlot

    root, ids = store
    ctx = Context(
        SCENARIOS, root, workers=1, max_replicates=50, jobs=JobSlot(tmp_path / "job.lock"), server_pid=os.getpid()
    )
    download, message = shell.on_export(ctx, {"page": "timeline", "runs": ids[:1], "replicate": "0"}, "xlsx")
    assert message == "" and download["filename"] == "ctdild-sim-timeline.xlsx" and download["base64"]
    (tmp_path / "view.xlsx").write_bytes(base64.b64decode(download["content"]))
    assert "Summary" in pd.read_excel(tmp_path / "view.xlsx", sheet_name=None)
    download, message = shell.on_steering_pack(ctx, ids, "pdf")
    assert message == "" and base64.b64decode(download["content"]).startswith(b"%PDF")
    _, message = shell.on_steering_pack(ctx, [], "pdf")
    assert message == "Pick the runs the steering pack is about."
    _, message = shell.on_export(ctx, {"page": "timeline", "runs": ids[:1]}, "docx")
    assert "a report is one of html, pdf, xlsx" in message


def test_a_table_whose_rows_mix_units_has_typed_cells_in_excel():
    from ctdild_sim.reports.writers import typed_cell

    assert typed_cell("2028-05-22") == (dt.date(2028, 5, 22), "yyyy-mm-dd")
    assert typed_cell("12.5%") == (0.125, "0.0%") and typed_cell("-20.0%") == (-0.2, "0.0%")
    assert typed_cell("1,234") == (1234.0, "#,##0") and typed_cell("+93.9") == (93.9, "#,##0.00")
    assert typed_cell("USD +125,731") == (125731.0, '"USD" #,##0')
    for text in ("20.0% ± 3.9%", "-17.7 to -8.8", "not yet", "26.9% [16.8%, 38.2%]"):
        assert typed_cell(text) == (text, None)  # an interval, an error or words: text
    savings = pd.DataFrame(
        {
            "measure": ["Expected cost: total", "Vials expired", "P(a subject waits for product)"],
            "unit": ["money", "vials", "probability"],
            "currency": ["USD"] * 3,
            "scenario_mean": [1454993.0, 107.2, 0.215],
            "plan_mean": [1580723.0, 93.9, 0.015],
            "saving_difference": [125730.0, -13.3, -0.2],
            "saving_low": [112826.0, -17.7, -0.259],
            "saving_high": [138635.0, -8.8, -0.141],
            "pairs": [200] * 3,
        }
    )
    shown, formats = excel_frame(savings)
    assert shown["The plan (mean)"].tolist() == [1580723.0, 93.9, 0.015]
    assert formats["The plan (mean)"] == ['"USD" #,##0', "#,##0.00", "0.0%"]
    assert shown["95% interval"].tolist()[1] == "-17.7 to -8.8"  # an interval stays text
