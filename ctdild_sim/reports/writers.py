"""Writing a report (``pack.Pack``) as HTML, PDF or Excel, all or nothing.

- HTML: ``html.pack_html``, one self-contained page.
- PDF: that page printed by headless Chromium (the figures drawn by plotly.js, as on screen;
  ``CTDILD_CHROMIUM`` names the browser if it is not ``chromium`` on the PATH).
- Excel (openpyxl): a Summary sheet (title, notes) and a sheet per table, with the labels people
  read and typed cells: dates as dates, percentages as numbers formatted as percentages.

A report is written to a temporary file beside its destination and renamed into place, so a
failure leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from ctdild_sim.views.columns import COLUMNS, format_cell, label, missing, mixed_table, present, shown_columns

if TYPE_CHECKING:  # a pack's modules import plotly: only a command that writes a report needs it
    from ctdild_sim.reports.pack import Pack

Format = Literal["html", "pdf", "xlsx"]
FORMATS: tuple[Format, ...] = ("html", "pdf", "xlsx")
PDF_TIMEOUT_SECONDS = 180
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ReportError(Exception):
    """A report that cannot be written: the message says why and what to do."""


def write_report(pack: Pack, path: Path, fmt: Format) -> Path:
    """Write ``pack`` to ``path`` in ``fmt``; ``ReportError`` if it cannot be."""
    writers: dict[str, Callable[[Pack, Path], None]] = {"html": _write_html, "pdf": _write_pdf, "xlsx": _write_xlsx}
    if fmt not in writers:
        raise ReportError(f"unknown report format {fmt!r}; one of {', '.join(FORMATS)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{fmt}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise ReportError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    try:
        writers[fmt](pack, Path(tmp))
        os.chmod(tmp, 0o644)  # a report is for sharing
        os.replace(tmp, path)
    except OSError as exc:
        raise ReportError(f"{path}: could not be written ({exc.strerror or exc}); nothing was left behind") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def report_bytes(pack: Pack, fmt: Format) -> bytes:
    """The report's bytes (the dashboard's download), written through a private temporary folder."""
    with tempfile.TemporaryDirectory(prefix="ctdild-report-") as folder:
        path = write_report(pack, Path(folder) / f"report.{fmt}", fmt)
        return path.read_bytes()


def _write_html(pack: Pack, path: Path) -> None:
    from ctdild_sim.reports.html import pack_html

    path.write_text(pack_html(pack), encoding="utf-8")


# -- PDF -------------------------------------------------------------------------------------------


def chromium() -> str:
    """The browser that prints the PDF, or ``ReportError`` saying how to get one."""
    named = os.environ.get("CTDILD_CHROMIUM")
    if named:
        if shutil.which(named) or Path(named).is_file():
            return shutil.which(named) or named
        raise ReportError(f"CTDILD_CHROMIUM={named}: no such program")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ReportError(
        "a PDF is printed by Chromium, which was not found (install Debian's chromium, e.g. with "
        "tools/install-browser, or set CTDILD_CHROMIUM); HTML and Excel need no browser"
    )


def _write_pdf(pack: Pack, path: Path) -> None:
    from ctdild_sim.reports.html import pack_html

    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="ctdild-pdf-") as folder:
        page = Path(folder) / "report.html"
        page.write_text(pack_html(pack, for_print=True), encoding="utf-8")
        out = Path(folder) / "report.pdf"
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={folder}/profile",
            "--no-pdf-header-footer",
            "--virtual-time-budget=30000",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        code, stderr = _print_with(browser, command, folder)
        if not out.is_file() or out.stat().st_size == 0:
            tail = " ".join(stderr.strip().splitlines()[-2:])
            raise ReportError(f"Chromium printed no PDF (exit code {code}): {tail}")
        shutil.copyfile(out, path)


def _print_with(browser: str, command: list[str], folder: str) -> tuple[int, str]:
    """Run Chromium to its end: its exit code and what it said on stderr. It runs in a process
    group of its own, so a Ctrl-C at the terminal reaches this process only, which then ends
    Chromium and its helpers (as when it takes too long). Its temporary files go in ``folder``.
    Its crash handlers, in sessions of their own, are ended too, before ``folder`` is removed:
    still writing there, they turned a Ctrl-C into "could not be written (Directory not empty)"
    and left the folder behind."""
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, "TMPDIR": folder},
        )
    except OSError as exc:
        raise ReportError(f"Chromium ({browser}) could not be started ({exc.strerror or exc})") from None
    with process:
        try:
            _, stderr = process.communicate(timeout=PDF_TIMEOUT_SECONDS)
            return process.returncode, stderr
        except subprocess.TimeoutExpired:
            raise ReportError(f"Chromium did not print the PDF within {PDF_TIMEOUT_SECONDS} s") from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            _end_helpers(folder)


def _end_helpers(folder: str) -> None:
    """Kill what is left of a Chromium that used ``folder`` (named in their command lines), and
    wait up to 2 s for them to be gone (a zombie is gone: it holds no files)."""
    import psutil

    def alive(process: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            return process.status() != psutil.STATUS_ZOMBIE
        return False

    left = [p for p in psutil.process_iter(["cmdline"]) if any(folder in part for part in p.info["cmdline"] or ())]
    for helper in left:
        with contextlib.suppress(psutil.Error):
            helper.kill()
    deadline = time.monotonic() + 2
    while any(alive(p) for p in left) and time.monotonic() < deadline:
        time.sleep(0.02)


# -- Excel -----------------------------------------------------------------------------------------

# fmt: off
EXCEL_FORMATS = {"probability": "0.0%", "share": "0.0%", "date": "yyyy-mm-dd", "days": "#,##0", "day": "#,##0",
                 "count": "#,##0", "vials": "#,##0", "mean": "#,##0.00", "number": "0.000", "cells": "0.00E+00",
                 "money": "#,##0"}
# fmt: on


def excel_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str | list[str | None]]]:
    """A table with the labels people read and typed cells, and each column's number format (a
    format per row where the rows mix units). A date never reached reads "not reached (x% never
    reach it)"; a table whose rows mix units is presented as it reads, then each cell holding one
    date, percentage, amount or number is typed (``typed_cell``)."""
    if mixed_table(frame) is not None:
        shown = present(frame)
        typed: dict[str, list] = {}
        per_row: dict[str, str | list[str | None]] = {}
        for column in shown.columns:
            cells = [typed_cell(v) for v in shown[column]]
            typed[column] = [value for value, _ in cells]
            if any(f is not None for _, f in cells):
                per_row[column] = [f for _, f in cells]
        return pd.DataFrame(typed, columns=shown.columns), per_row
    out, formats = {}, {}
    for name in shown_columns(frame):
        kind = COLUMNS[name].kind
        cells = []
        for _, row in frame.iterrows():
            value = row[name]
            if kind == "date":
                cells.append(_excel_date(value) if not missing(value) else format_cell(name, value, row) or None)
            elif kind in EXCEL_FORMATS and kind != "date":
                cells.append(None if missing(value) else _number(value))
            else:
                cells.append(format_cell(name, value, row) or None)
        out[label(name)] = cells
        if kind in EXCEL_FORMATS:
            formats[label(name)] = EXCEL_FORMATS[kind]
    return pd.DataFrame(out), formats


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?")
_AMOUNT = re.compile(r"([A-Za-z$€£¥]{1,8}) ([+-]?\d[\d,]*(\.\d+)?)")


def typed_cell(text: object) -> tuple[object, str | None]:
    """A presented cell as Excel should hold it, with its number format: "2028-05-22" a date,
    "12.3%" the number 0.123, "USD 1,234" and "1,234" numbers; anything else (an interval, a
    value with its error, words) stays text."""
    if not isinstance(text, str):
        return text, None
    value = text.strip()
    if _DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value), EXCEL_FORMATS["date"]
    if value.endswith("%") and _NUMBER.fullmatch(value[:-1]):
        return float(value[:-1].replace(",", "")) / 100, EXCEL_FORMATS["share"]
    if _NUMBER.fullmatch(value):
        whole = "." not in value
        return float(value.replace(",", "")), "#,##0" if whole else "#,##0.00"
    if (amount := _AMOUNT.fullmatch(value)) is not None:
        return float(amount.group(2).replace(",", "")), f'"{amount.group(1)}" #,##0'
    return text, None


def _excel_date(value: object) -> dt.date | str:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else str(value)


def _number(value: object) -> float | str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return x if pd.notna(x) and abs(x) != float("inf") else ("never" if x > 0 else "-never")


def sheet_names(titles: list[str]) -> list[str]:
    """Excel sheet names (at most 31 characters, none of []:*?/\\, unique) for the tables' titles;
    what a table is comes first ("NCT06574581 base: milestone dates" -> "milestone dates (NCT0657...")."""
    names: list[str] = []
    for title in titles:
        run, _, what = title.partition(": ")
        title = f"{what} ({run})" if what else title
        base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:28] or "table"
        name, k = base, 2
        while name.lower() in {n.lower() for n in names} or name.lower() in ("summary", "index"):
            name, k = f"{base[:26]} {k}", k + 1
        names.append(name)
    return names


def text_not_formulas(sheet) -> None:
    """Every cell openpyxl took as a formula (text starting with ``=``: a scenario or a label named
    ``=HYPERLINK(...)``) written as the text it is: a report writes no formulas of its own."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


INDEX = "Index"
"""The sheet listing every table's sheet, each name a link to it."""


def _index_links(sheet, names: list[str]) -> None:
    """Each sheet's name on the Index sheet a link to that sheet, and the columns wide enough."""
    from openpyxl.worksheet.hyperlink import Hyperlink

    for row, name in enumerate(names, start=2):
        cell = sheet.cell(row=row, column=1)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{name}'!A1")  # within the workbook
        cell.style = "Hyperlink"
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["B"].width = 100


def _write_xlsx(pack: Pack, path: Path) -> None:
    from openpyxl.utils import get_column_letter

    tables = [(t, frame) for s in pack.sections for t, frame in s.tables]
    names = sheet_names([t for t, _ in tables])
    summary = [pack.title, pack.subtitle, ""]
    for section in pack.sections:
        if section.heading:
            summary.append(section.heading)
        summary += section.notes
    summary += ["", "Every table has a sheet of its own: see the Index sheet."]
    index = pd.DataFrame({"Sheet": names, "Table": [t for t, _ in tables], "Rows": [len(f) for _, f in tables]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"ctdild-sim report": summary}).to_excel(writer, sheet_name="Summary", index=False)
        writer.sheets["Summary"].column_dimensions["A"].width = 140
        index.to_excel(writer, sheet_name=INDEX, index=False)
        _index_links(writer.sheets[INDEX], names)
        for name, (title, frame) in zip(names, tables, strict=True):
            shown, formats = excel_frame(frame)
            shown.to_excel(writer, sheet_name=name, index=False, startrow=1)
            sheet = writer.sheets[name]
            sheet.cell(row=1, column=1, value=title)
            sheet.freeze_panes = "A3"  # the title and the header stay in view
            for j, column in enumerate(shown.columns, start=1):
                letter = get_column_letter(j)
                width = max([len(str(column))] + [len(str(v)) for v in shown[column].head(200)])
                sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
                number_format = formats.get(column)
                if isinstance(number_format, list):  # a format per row: the rows mix units
                    for cell, row_format in zip(sheet[letter][2:], number_format, strict=False):
                        if row_format is not None:
                            cell.number_format = row_format
                elif number_format is not None:
                    for cell in sheet[letter][2:]:
                        cell.number_format = number_format
        for sheet in writer.sheets.values():
            text_not_formulas(sheet)
