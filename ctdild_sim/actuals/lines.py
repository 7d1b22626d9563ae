"""A trial's checked records: each row with where it stands (``Line``), and the tables (``Actuals``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ctdild_sim.actuals.rows import Row


@dataclass(frozen=True)
class Line:
    """A validated row and where it stands: its file (or sheet) and row."""

    where: str
    number: int
    row: Row

    def at(self, column: str | None, problem: str) -> str:
        return f"{self.where}:{self.number}:{column}: {problem}" if column else f"{self.where}:{self.number}: {problem}"

    @property
    def source(self) -> str:
        """``FILE:ROW``, for messages about the record as a whole."""
        return f"{self.where}:{self.number}"


@dataclass
class Actuals:
    """A trial's records as of a date, checked."""

    folder: Path  # the folder, workbook or upload they came from
    as_of: dt.date
    tables: dict[str, list[Line]]
    sha256: dict[str, str]  # file name -> SHA-256 of its bytes
    warnings: list[str] = field(default_factory=list)

    def rows(self, name: str) -> list:
        return [line.row for line in self.tables.get(name, [])]

    def has(self, name: str) -> bool:
        return name in self.tables
