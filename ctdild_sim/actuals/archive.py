"""A records folder sent as a zip file (the dashboard's upload), unpacked in memory with limits.

Nothing is written to disk. The zip may hold the CSV files at its top level or in one folder (as
zipping a folder gives); a README and the files a desktop adds (``__MACOSX/``, ``.DS_Store``)
are passed over. Sizes are checked on the bytes actually read, not on what the zip's directory
claims, so a zip bomb stops at the limit.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ctdild_sim.actuals.reader import ActualsError, RecordFiles
from ctdild_sim.actuals.sources import PLAIN_METHODS, plain_method_problem

MAX_ZIP_BYTES = 2 * 1024 * 1024
"""Largest zip accepted (a trial's records zip to kilobytes)."""
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
"""Most bytes all the zip's files may unpack to."""
MAX_ENTRIES = 100
SKIPPED = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
NOTES = (".md", ".txt")


def _skipped(path: PurePosixPath) -> bool:
    hidden = any(part in SKIPPED or (part.startswith(".") and part not in (".", "..")) for part in path.parts)
    return hidden or path.suffix.lower() in NOTES


def unpack_zip(name: str, data: bytes) -> RecordFiles:
    """The CSV files of a zip, by file name, or ``ActualsError`` naming the zip and the problem."""
    shown = Path(Path(name).name or "records.zip")
    if len(data) > MAX_ZIP_BYTES:
        raise ActualsError([f"{shown}: {len(data):,} bytes; the limit is {MAX_ZIP_BYTES:,} bytes"])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [e for e in archive.infolist() if not e.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ActualsError([f"{shown}: not a zip file ({exc})"]) from None
    if len(entries) > MAX_ENTRIES:
        raise ActualsError([f"{shown}: {len(entries)} files; a records folder has at most {MAX_ENTRIES}"])
    problems: list[str] = []
    kept = [(PurePosixPath(e.filename), e) for e in entries if not _skipped(PurePosixPath(e.filename))]
    folders = {p.parts[0] for p, _ in kept if len(p.parts) == 2}
    files: dict[str, bytes] = {}
    left = MAX_UNPACKED_BYTES
    for path, entry in kept:
        inside_one_folder = len(path.parts) == 2 and len(folders) == 1 and all(len(p.parts) == 2 for p, _ in kept)
        if ".." in path.parts or path.is_absolute() or not (len(path.parts) == 1 or inside_one_folder):
            problems.append(f"{shown}/{path}: the records' CSV files go at the zip's top level or in one folder")
            continue
        if entry.flag_bits & 0x1:
            problems.append(f"{shown}/{path}: encrypted; zip the records without a password")
            continue
        if entry.compress_type not in PLAIN_METHODS:
            problems.append(f"{shown}/{path}: {plain_method_problem(entry)}")
            continue
        if path.name in files:
            problems.append(f"{shown}/{path}: {path.name} is in the zip twice")
            continue
        try:
            with archive.open(entry) as handle:
                raw = handle.read(left + 1)
        except (
            zipfile.BadZipFile,
            NotImplementedError,
            RuntimeError,
            OSError,
            EOFError,
            ValueError,
            zlib.error,
        ) as exc:
            problems.append(f"{shown}/{path}: cannot be unpacked ({exc})")
            continue
        if len(raw) > left:
            raise ActualsError([f"{shown}: unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB"])
        left -= len(raw)
        files[path.name] = raw
    if not problems and not files:
        problems.append(f"{shown}: no CSV files of records in the zip")
    if problems:
        raise ActualsError(problems)
    return RecordFiles(shown, files)
