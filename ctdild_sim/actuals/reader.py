"""Reading a trial's records: every row checked (``rows``), the tables checked against each other and
the scenario (``checks``), every problem reported as ``FILE:ROW:COLUMN: PROBLEM`` (ROW is the line
in the file, the header being line 1; a workbook's are ``BOOK.xlsx:SHEET:ROW:COLUMN``), with "did
you mean" for names.

Nothing is half-accepted: ``read_actuals`` returns the tables only when no problem was found,
and raises ``ActualsError`` listing every problem otherwise. What is allowed but not as the
protocol says (a subject enrolled before the previous cohort's gate) is a warning, found when the
engine runs the records (``model.engine.observe``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from ctdild_sim.actuals.checks import check
from ctdild_sim.actuals.lines import Actuals, Line
from ctdild_sim.actuals.rows import FILES, Row, columns, required_columns
from ctdild_sim.actuals.sdtm_files import (
    SdtmDatasets,
    SdtmError,
    is_sdtm,
    read_sdtm_files,
    read_sdtm_folder,
    sdtm_folder,
)
from ctdild_sim.actuals.sdtm_map import MappedRecords, map_sdtm
from ctdild_sim.actuals.sources import (
    ActualsError,
    RawTable,
    RecordBook,
    RecordFiles,
    Source,
    hint,
    read_source,
)
from ctdild_sim.scenario.base import unquoted
from ctdild_sim.scenario.trial import Scenario

__all__ = ["Actuals", "ActualsError", "Line", "RecordBook", "RecordFiles", "as_of_hint", "read_actuals"]


def read_actuals(source: Source, scenario: Scenario, as_of: dt.date) -> Actuals:
    """The checked tables of a records folder, a workbook, either held in memory, or a folder (or
    upload) of SDTM datasets mapped to records (``sdtm_map``); or ``ActualsError`` with every
    problem found."""
    mapped = mapped_sdtm(source, scenario)
    if mapped is not None:
        source = mapped.record_files()
    raw = read_source(source)
    problems = list(raw.problems)
    tables: dict[str, list[Line]] = {}
    for name, table in raw.tables.items():
        lines = _validate(table, FILES[name], problems)
        if lines is not None:
            tables[name] = lines
    actuals = Actuals(raw.origin, as_of, {name: tables[name] for name in FILES if name in tables}, raw.sha256)
    if not problems:
        check(actuals, scenario, problems)
    if problems and mapped is not None:
        problems.append(
            f"(the records mapped from the SDTM datasets in {mapped.origin}: "
            f"ctdild-sim actuals SCENARIO --from-sdtm {mapped.origin} --out RECORDS writes them, to read and correct)"
        )
    if problems:
        raise ActualsError(problems)
    if mapped is not None:
        actuals.warnings.extend(mapped.warnings())
    if scenario.product is None:
        _product_unused(actuals)
    return actuals


def sdtm_source(source: Source | SdtmDatasets) -> SdtmDatasets | None:
    """The SDTM datasets of a folder or an upload that holds a DM dataset (or datasets read
    already: read once, a backtest cuts them at every date); None for records."""
    if isinstance(source, SdtmDatasets):
        return source
    try:
        if isinstance(source, RecordFiles):
            return read_sdtm_files(source.origin, dict(source.files)) if is_sdtm(list(source.files)) else None
        if isinstance(source, RecordBook) or not sdtm_folder(Path(source)):
            return None
        return read_sdtm_folder(Path(source))
    except SdtmError as exc:
        raise ActualsError(exc.problems) from None


def mapped_sdtm(source: Source, scenario: Scenario) -> MappedRecords | None:
    """A source of SDTM datasets mapped to records for ``scenario`` (None for records)."""
    datasets = sdtm_source(source)
    if datasets is None:
        return None
    return map_sdtm(datasets, scenario)


def _product_unused(actuals: Actuals) -> None:
    """Records of lots and vials that a scenario without product cannot use: said, not dropped."""
    lots = actuals.tables.get("lots.csv", [])
    dosed = [line for line in actuals.tables.get("infusions.csv", []) if line.row.lot_id is not None]
    if lots or dosed:
        where = lots[0].where if lots else dosed[0].where
        actuals.warnings.append(
            f"{where}: {len(lots)} lots and the lots of {len(dosed)} infusions are not used: the "
            "scenario has no product section, so its supply is not simulated"
        )


def _validate(table: RawTable, model: type[Row], problems: list[str]) -> list[Line] | None:
    """The table's rows, each validated; None (with problems noted) if its header is wrong."""
    where, header, known = table.where, table.header, columns(model)
    bad = False
    for column, count in Counter(header).items():
        if count > 1:
            problems.append(f"{where}:1:{column}: the column is named {count} times")
            bad = True
    for k, column in enumerate(header, start=1):
        if not column:
            problems.append(f"{where}:1: column {k} has no name (the first row names every column)")
            bad = True
        elif column not in known:
            problems.append(f"{where}:1:{column}: unknown column{hint(column, known)}")
            bad = True
    for column in required_columns(model):
        if column not in header:
            problems.append(f"{where}:1: missing column {column}")
            bad = True
    if bad:
        return None
    lines: list[Line] = []
    for number, cells in table.rows:
        if len(cells) != len(header):
            problems.append(f"{where}:{number}: {len(cells)} cells where the header names {len(header)} columns")
            continue
        try:
            row = model.model_validate(dict(zip(header, map(unquoted, cells), strict=True)))
        except ValidationError as exc:
            problems.extend(_row_problem(where, number, err) for err in exc.errors())
            continue
        lines.append(Line(where, number, row))
    return lines


def _row_problem(where: str, number: int, err: dict) -> str:
    message = err["msg"].removeprefix("Value error, ")
    column = str(err["loc"][0]) if err["loc"] else ""
    if not column and ":" in message and message.split(":", 1)[0].isidentifier():
        column, message = message.split(":", 1)
        message = message.strip()
    if err["type"] not in ("value_error", "missing") and "input" in err and isinstance(err["input"], str):
        message += f" (got {err['input'][:40]!r})"
    return f"{where}:{number}:{column}: {message}" if column else f"{where}:{number}: {message}"


# -- where the records stop -------------------------------------------------------------------------


def as_of_hint(source: Source) -> dt.date | None:
    """The date records were complete to, as far as they say: a date at the end of the folder's
    (or zip's, or workbook's) name (``nct06574581-2026-11-25``), else the latest day in them (a
    guess: nothing may have happened since)."""
    origin = source.origin if isinstance(source, RecordFiles | RecordBook) else Path(source)
    name = origin.name.removesuffix(".zip").removesuffix(".xlsx")
    try:
        return dt.date.fromisoformat(name[-10:])
    except ValueError:
        return latest_record_date(source)


NOT_EVENTS = {"expires_on"}
"""Date columns that are not days something happened (an expiry is known in advance)."""


def latest_record_date(source: Source) -> dt.date | None:
    """The latest date any readable row of the records holds (None if there is none): where the
    records stop, a first guess at the date they were complete to. Problems are not reported here
    (``read_actuals`` reports them)."""
    try:
        datasets = sdtm_source(source)
        if datasets is not None:
            return _latest_sdtm_date(datasets)
        raw = read_source(source)
    except ActualsError:
        return None
    latest = None
    for name, table in raw.tables.items():
        for line in _validate(table, FILES[name], []) or []:
            for column, value in line.row.__dict__.items():
                if column not in NOT_EVENTS and isinstance(value, dt.date) and (latest is None or value > latest):
                    latest = value
    return latest


def _latest_sdtm_date(datasets: SdtmDatasets) -> dt.date | None:
    """The latest whole date in any date variable (``--DTC``) of the SDTM datasets."""
    latest = None
    for domain in datasets.domains.values():
        for variable in domain.rows.columns:
            if variable.endswith("DTC"):
                days = domain.rows[variable].dropna().str.slice(0, 10)
                days = days[days.str.fullmatch(r"\d{4}-\d{2}-\d{2}")]
                if len(days) and (latest is None or days.max() > latest):
                    latest = days.max()
    return dt.date.fromisoformat(latest) if latest else None
