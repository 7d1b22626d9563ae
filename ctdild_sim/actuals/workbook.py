"""Records kept in Excel: the empty workbook a trial coordinator fills in, and a folder of records
written as one.

The template has a sheet per table (the file's name without ``.csv``) with the columns as headers,
every column's description as the header cell's comment (required ones marked), and drop-down
lists where a column takes names (sites, outcomes, statuses, criteria, AE kinds) or booleans; date
columns are formatted as dates. A README sheet says how to fill it in. ``sources`` reads it back.
"""

from __future__ import annotations

import datetime as dt
import os
import typing
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ctdild_sim.actuals.rows import FILES, MAX_ID, columns, required_columns
from ctdild_sim.actuals.sources import MAX_ROWS, SHEETS
from ctdild_sim.model.eligibility import CRITERION_NAMES
from ctdild_sim.scenario.trial import Scenario

LISTS_SHEET = "Lists"
"""The hidden sheet the drop-down lists read their values from (a list typed into a validation
holds at most 255 characters)."""


def choices(scenario: Scenario) -> dict[str, tuple[list[str], bool]]:
    """Each list a column picks from, and whether a value outside it is refused there (criteria are
    ``;``-separated, so a cell may hold several)."""
    return {
        "site": (scenario.site_names, True),
        "outcome_screening": (["passed", "failed", "withdrew"], True),
        "failed_criteria": (list(CRITERION_NAMES), False),
        "status": (["ongoing", "completed", "withdrawn", "died", "lost"], True),
        "name": ([ae.name for ae in scenario.safety.adverse_events], True),
        "outcome_review": (["resume", "repeat_cohort", "stop"], True),
        "boolean": (["true", "false"], True),
    }


COLUMN_LISTS = {
    ("sites", "site"): "site",
    ("screening", "site"): "site",
    ("screening", "outcome"): "outcome_screening",
    ("screening", "failed_criteria"): "failed_criteria",
    ("subjects", "status"): "status",
    ("adverse_events", "name"): "name",
    ("adverse_events", "triggers_review"): "boolean",
    ("reviews", "outcome"): "outcome_review",
    ("lots", "initial_stock"): "boolean",
}
"""Which list each column picks from."""

README = [
    "Records of {name}: one sheet per table, one row per record, as the project's docs/records.md says.",
    "Row 1 names the columns; hover over a header for what the column holds (required columns say so).",
    "Dates are dates (2025-03-14); an empty cell is a missing value; booleans are true or false.",
    "Names (sites, criteria, AE kinds) are the scenario's; pick them from the drop-down lists.",
    "Several failed criteria go in one cell, separated by ';' (I2_ild_pathway;E1_no_consent).",
    "Keep the sheet names; formulas are refused (paste values). At most {rows:,} rows a sheet.",
    "Forecast from it: ctdild-sim forecast SCENARIO --actuals THIS.xlsx --as-of DATE",
]


class TemplateExists(Exception):
    """The template's file exists: a filled workbook is never overwritten."""


def write_template(path: Path, scenario: Scenario) -> None:
    """Write the empty records workbook to ``path`` (which must not exist), whole or not at all."""
    if path.exists() or path.is_symlink():
        raise TemplateExists(f"{path} exists: a template is never written over a file (pick a new name)")
    book = Workbook()
    notes = book.active
    notes.title = "README"
    for k, line in enumerate(README, start=1):
        notes.cell(k, 1, line.format(name=scenario.name, rows=MAX_ROWS))
    notes.column_dimensions["A"].width = 110
    lists = book.create_sheet(LISTS_SHEET)
    ranges = {}
    for k, (key, (values, _)) in enumerate(choices(scenario).items(), start=1):
        lists.cell(1, k, key)
        for row, value in enumerate(values, start=2):
            cell = lists.cell(row, k, value)
            if isinstance(value, str):
                cell.data_type = "s"  # text: a site named "=..." is no formula
        letter = get_column_letter(k)
        ranges[key] = f"{LISTS_SHEET}!${letter}$2:${letter}${max(2, len(values) + 1)}"
    lists.sheet_state = "hidden"
    strict = {key: refuse for key, (_, refuse) in choices(scenario).items()}
    for sheet_name, file_name in SHEETS.items():
        _table_sheet(book, sheet_name, FILES[file_name], ranges, strict, len(scenario.cohorts))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        book.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _holds(annotation: object, kind: type) -> bool:
    """Whether a column's type is ``kind``, maybe optional or constrained (``Day | None``)."""
    return annotation is kind or any(_holds(arg, kind) for arg in typing.get_args(annotation))


def _table_sheet(
    book: Workbook, title: str, model, ranges: dict[str, str], strict: dict[str, bool], cohorts: int
) -> None:
    sheet = book.create_sheet(title)
    required = set(required_columns(model))
    last = MAX_ROWS + 1
    for k, column in enumerate(columns(model), start=1):
        cell = sheet.cell(1, k, column)
        cell.font = Font(bold=True)
        info = model.model_fields[column]
        text = (info.description or "") + (" (required)" if column in required else "")
        cell.comment = Comment(text, "ctdild-sim", width=320, height=110)
        letter = get_column_letter(k)
        sheet.column_dimensions[letter].width = max(14, len(column) + 4)
        cells = f"{letter}2:{letter}{last}"
        key = COLUMN_LISTS.get((title, column))
        if key is not None:
            check = DataValidation(type="list", formula1=ranges[key], allow_blank=True, showErrorMessage=strict[key])
            check.error = f"{column}: pick a value from the list"
        elif _holds(info.annotation, dt.date):
            for row in range(2, 202):  # typed dates show as dates; more rows take the column's format
                sheet.cell(row, k).number_format = "yyyy-mm-dd"
            check = DataValidation(type="date", operator="greaterThan", formula1="DATE(1990,1,1)", allow_blank=True)
            check.error = f"{column}: a date (yyyy-mm-dd)"
        elif column == "cohort":
            check = DataValidation(type="whole", operator="between", formula1="1", formula2=str(cohorts))
            check.error = f"cohort: a whole number from 1 to {cohorts}"
        elif info.annotation in (int, int | None):
            check = DataValidation(
                type="whole", operator="between", formula1="0", formula2=str(MAX_ID), allow_blank=True
            )
            check.error = f"{column}: a whole number"
        else:
            continue
        check.add(cells)
        sheet.add_data_validation(check)
    sheet.freeze_panes = "A2"
