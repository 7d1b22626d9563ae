"""Where a trial's records come from, read into raw tables within stated limits.

A records source is a folder of CSV files, one ``.xlsx`` workbook with a sheet per table, or either
held in memory (a dashboard upload: ``RecordFiles`` from a zip, ``RecordBook``). Each table becomes
a ``RawTable``: where it is (for messages), its header and its rows of text cells, numbered as
the user sees them (the line in the file, the row of the sheet). Nothing here knows what a column
means (``rows`` and ``reader`` do).

The rules: a CSV file is matched by its exact name (``sites.csv``, not ``SITES.CSV``: a CSV file of
another name is an error); other files (a README) are passed over; a symbolic link is refused, never
followed; and the limits below hold. A trial of ten subjects has at most some thousands of rows, so
the limits leave a wide margin while keeping reading, checking and learning under half a gigabyte
(``benchmarks/records_limits.py``).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import operator
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from ctdild_sim.actuals.rows import FILES

MAX_ROWS = 20_000
"""Rows a table may hold (its header aside): the most a records file or sheet is read to."""
MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest records file, or workbook, read."""
MAX_TOTAL_BYTES = 20 * 1024 * 1024
"""Most bytes the files of one records folder may hold together."""
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
"""Most bytes a workbook (a zip of XML) may unpack to."""
MAX_SHARED_STRINGS_BYTES = 20 * 1024 * 1024
"""Most bytes a workbook's shared strings may unpack to (openpyxl holds them all in memory)."""
MAX_SHOWN_PROBLEMS = 200
"""Problems a message lists (all are counted): records with thousands of bad rows are usually one
mistake repeated."""
MAX_COLUMNS = 40
"""Columns a header may name (the widest table has 12)."""
PLAIN_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
"""What zips and workbooks are compressed with. bzip2 and LZMA are refused before unpacking: Python
unpacks a whole block of them at once, whatever is asked for (a 3 GB bzip2 bomb took 6 GB)."""
SHEETS = {name.removesuffix(".csv"): name for name in FILES}
"""A workbook's sheet for each table: the file's name without ``.csv``."""
NOTES_SHEETS = ("README", "Lists")
"""Sheets of a workbook that are not tables (the template's notes and its drop-down lists)."""


class ActualsError(Exception):
    """Records that cannot be used; ``problems`` are their ``FILE:ROW:COLUMN: PROBLEM`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_SHOWN_PROBLEMS]
        if len(problems) > MAX_SHOWN_PROBLEMS:
            shown.append(f"... the first {MAX_SHOWN_PROBLEMS} of {len(problems):,} problems")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class RecordFiles:
    """A records folder's files held in memory (an upload, ``archive.unpack_zip``). ``origin``
    stands for the folder in messages (``records.zip/subjects.csv:3:cohort: ...``)."""

    origin: Path
    files: dict[str, bytes]  # file name -> its bytes


@dataclass(frozen=True)
class RecordBook:
    """A records workbook held in memory (an upload); ``origin`` names it in messages."""

    origin: Path
    data: bytes


Source = str | Path | RecordFiles | RecordBook


@dataclass
class RawTable:
    """One table as read: ``where`` it is for messages (``records/subjects.csv``,
    ``records.xlsx:subjects``), its header and its rows of text cells with their numbers."""

    name: str  # the table's file name, as in ``rows.FILES``
    where: str
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class RawRecords:
    """Every table a source holds (a table it lacks is absent), the SHA-256 of each file read, and
    the problems met reading them."""

    origin: Path
    tables: dict[str, RawTable]
    sha256: dict[str, str]
    problems: list[str]


def source_name(origin: str | Path) -> str:
    """The name of the folder (or workbook, or upload) records came from, as a person picked it:
    how they were read (``(mapped from SDTM)``) is not part of it."""
    path = PurePath(str(origin))
    while path.name.startswith("(") and path.parent != path:
        path = path.parent
    return path.name


def hint(name: str, known: list[str]) -> str:
    """ ", did you mean ..." for a name close to a known one (in any case)."""
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    return f"; did you mean '{lowered[close[0]]}'?" if close else f"; known: {', '.join(known[:12])}"


def read_source(source: Source) -> RawRecords:
    """The raw tables of a folder, a workbook, or files held in memory."""
    if isinstance(source, RecordFiles):
        return _from_csv_files(source.origin, dict(source.files), [])
    if isinstance(source, RecordBook):
        return _from_workbook(source.origin, source.data)
    path = Path(source)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        if path.suffix.lower() != ".xlsx":
            raise ActualsError([f"{path}: not an .xlsx workbook (save it as an Excel .xlsx workbook)"])
        data, problems = read_regular_file(path, MAX_FILE_BYTES)
        if data is None:
            raise ActualsError(problems)
        return _from_workbook(path, data)
    return _from_folder(path)


def _from_folder(folder: Path) -> RawRecords:
    if not folder.is_dir():
        raise ActualsError([f"{folder}: not a folder of records (CSV files) nor an .xlsx workbook"])
    problems: list[str] = []
    files: dict[str, bytes] = {}
    total = 0
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise ActualsError([f"{folder}: cannot be read ({exc.strerror or exc})"]) from None
    for entry in entries:
        if not entry.name.lower().endswith(".csv"):
            continue  # notes, a README: passed over
        path = folder / entry.name
        if entry.name not in FILES:
            problems.append(f"{path}: not a records file{hint(entry.name, list(FILES))} (names are exact)")
            continue
        data, found = read_regular_file(path, MAX_FILE_BYTES)
        problems += found
        if data is None:
            continue
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise ActualsError(
                [
                    f"{folder}: its records files hold more than {MAX_TOTAL_BYTES // 2**20} MB; "
                    f"the limit is {MAX_TOTAL_BYTES // 2**20} MB"
                ]
            )
        files[entry.name] = data
    if not files and not problems:  # most likely the wrong folder: a trial with no records says so
        raise ActualsError(
            [
                f"{folder}: no records files (sites.csv, screening.csv, ...) in the folder; a trial "
                "with nothing recorded yet has them with their header row only (`ctdild-sim actuals "
                "--template records.xlsx` writes a workbook to fill in instead)"
            ]
        )
    return _from_csv_files(folder, files, problems)


def read_regular_file(path: Path, limit: int) -> tuple[bytes | None, list[str]]:
    """A regular file's bytes (never through a symbolic link, never past ``limit``)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return None, [f"{path}: cannot be read ({exc.strerror or exc})"]
    if stat.S_ISLNK(info.st_mode):
        return None, [f"{path}: a symbolic link; records are read from regular files only"]
    if not stat.S_ISREG(info.st_mode):
        return None, [f"{path}: not a regular file"]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        return None, [f"{path}: cannot be read ({exc.strerror or exc})"]
    if len(data) > limit:
        return None, [f"{path}: larger than {limit // 2**20} MB; the limit is {limit // 2**20} MB"]
    return data, []


def _from_csv_files(origin: Path, files: dict[str, bytes], problems: list[str]) -> RawRecords:
    tables, sha = {}, {}
    for name in sorted(files):
        if name not in FILES:
            problems.append(f"{origin / name}: not a records file{hint(name, list(FILES))} (names are exact)")
            continue
        sha[name] = hashlib.sha256(files[name]).hexdigest()
        table = _csv_table(name, str(origin / name), files[name], problems)
        if table is not None:
            tables[name] = table
    return RawRecords(origin, tables, sha, problems)


def _csv_table(name: str, where: str, raw: bytes, problems: list[str]) -> RawTable | None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(f"{where}: not UTF-8 text (byte {exc.start} cannot be decoded)")
        return None
    if "\0" in text:
        problems.append(f"{where}: not a text file (it holds NUL bytes)")
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    table = RawTable(name, where)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            problems.append(f"{where}:1: empty file: the first line names the columns")
            return None
        if len(header) > MAX_COLUMNS:
            problems.append(f"{where}:1: more than {MAX_COLUMNS} columns")
            return None
        table.header = [h.strip() for h in header]
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(table.rows) == MAX_ROWS:
                problems.append(f"{where}: more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,} a table")
                return None
            table.rows.append((reader.line_num, cells))
    except csv.Error as exc:
        problems.append(f"{where}:{reader.line_num}: not CSV ({exc})")
        return None
    return table


# -- a workbook ------------------------------------------------------------------------------------


def _from_workbook(path: Path, data: bytes) -> RawRecords:
    """The sheets of an .xlsx workbook as tables (openpyxl, read-only): a cell's value as the text a
    CSV file would hold (dates ISO, booleans true/false, whole numbers without a decimal point)."""
    from openpyxl import load_workbook  # only a workbook needs it

    problems: list[str] = []
    _check_zip(path, data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise ActualsError([f"{path}: not a readable .xlsx workbook (Excel could save it again as .xlsx)"]) from None
    tables: dict[str, RawTable] = {}
    try:
        for title in book.sheetnames:
            if title in NOTES_SHEETS:
                continue
            if title not in SHEETS:
                problems.append(f"{path}:{title}: not a records sheet{hint(title, list(SHEETS))} (names are exact)")
                continue
            try:
                table = _sheet_table(SHEETS[title], f"{path}:{title}", book[title], problems)
            except Exception as exc:  # a damaged sheet fails as openpyxl reads its rows, in many ways
                raise ActualsError(
                    [
                        f"{path}:{title}: not a readable sheet ({_reason(exc)}); Excel could save the "
                        "workbook again as .xlsx"
                    ]
                ) from None
            if table is not None:
                tables[table.name] = table
    finally:
        book.close()
    return RawRecords(path, tables, {path.name: hashlib.sha256(data).hexdigest()}, problems)


def _reason(exc: Exception) -> str:
    """What went wrong, in a line of at most 120 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def plain_method_problem(entry: zipfile.ZipInfo) -> str:
    """Why an entry compressed with another method than deflate is refused."""
    names = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
    method = names.get(entry.compress_type, f"method {entry.compress_type}")
    return f"compressed with {method}; zip it with the usual compression (deflate)"


def _check_zip(path: Path, data: bytes) -> None:
    """A workbook is a zip of XML: refused before parsing if it unpacks to more than the limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ActualsError([f"{path}: not an .xlsx workbook (it is not a zip file)"]) from None
    for entry in entries:
        if entry.compress_type not in PLAIN_METHODS:
            raise ActualsError([f"{path}: its part {entry.filename} is {plain_method_problem(entry)}"])
    sizes = {info.filename: info.file_size for info in entries}
    if sum(sizes.values()) > MAX_UNPACKED_BYTES:
        raise ActualsError(
            [
                f"{path}: unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB; "
                f"the limit is {MAX_UNPACKED_BYTES // 2**20} MB"
            ]
        )
    strings = sum(size for name, size in sizes.items() if name.lower().endswith("sharedstrings.xml"))
    if strings > MAX_SHARED_STRINGS_BYTES:
        raise ActualsError(
            [
                f"{path}: its shared strings unpack to more than {MAX_SHARED_STRINGS_BYTES // 2**20} "
                f"MB; the limit is {MAX_SHARED_STRINGS_BYTES // 2**20} MB"
            ]
        )


def _sheet_table(name: str, where: str, sheet, problems: list[str]) -> RawTable | None:
    table = RawTable(name, where)
    # Every row the sheet holds, not the rows its <dimension> claims (a stale one would drop rows, a
    # huge one pad every row to 16,384 cells); a cell past column MAX_COLUMNS + 1 is not read.
    sheet.reset_dimensions()
    rows: Iterator = sheet.iter_rows(max_col=MAX_COLUMNS + 1)
    first = next(rows, None)
    header = [_text(c) for c in first[: MAX_COLUMNS + 1]] if first is not None else []
    while header and not header[-1]:
        header.pop()
    if not header:
        problems.append(f"{where}:1: empty sheet: the first row names the columns")
        return None
    if len(header) > MAX_COLUMNS:
        problems.append(f"{where}:1: more than {MAX_COLUMNS} columns")
        return None
    table.header = header
    width = len(header)
    for number, cells in enumerate(rows, start=2):  # read-only sheets yield empty rows for gaps: k-th is row k
        if _empty_row(cells):
            continue  # a gap or a formatted row holds nothing (checked at C speed: a sheet may hold a million)
        values = []
        for k, cell in enumerate(cells[:width]):
            if getattr(cell, "data_type", None) == "f":
                problems.append(f"{where}:{number}:{header[k]}: a formula; records hold values (paste the values)")
                values.append("")
            else:
                values.append(_text(cell))
        extra = [c for c in cells[width:] if _text(c)]
        if extra:
            problems.append(f"{where}:{number}: a cell beyond the {width} columns the header names")
        if not any(values):
            continue
        if len(table.rows) == MAX_ROWS:
            problems.append(f"{where}: more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,} a table")
            return None
        values += [""] * (width - len(values))
        table.rows.append((number, values))
    return table


def _empty_row(cells: tuple) -> bool:
    """Whether no cell of the row holds a value."""
    values = list(map(_VALUE, cells))
    return values.count(None) == len(values)


_VALUE = operator.attrgetter("value")


def _text(cell) -> str:
    """A cell's value as a CSV file would hold it."""
    import datetime as dt

    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value).strip()
