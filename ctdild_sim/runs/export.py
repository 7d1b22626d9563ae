"""Writing a run's tables to a folder, all or nothing.

Tables are written as Parquet (for pandas and the dashboard) and CSV (for spreadsheets) into a
hidden temporary sibling folder, which is renamed into place only when everything is written: an
interrupted or failed write leaves no half-written output, and a full disk is reported as
``WriteFailed`` with the folder named. Two writers of the same folder take turns at the rename
(a lock on the folder it is in), so the folder always holds one writer's complete tables. An existing
output folder is replaced only if it holds a previous run's tables (``metrics.parquet``); any
other non-empty folder is refused, so ``--out .`` can never wipe a user's files.

A staging folder's name carries its writer's process id, so ``remove_stale_staging`` can delete
what a killed writer left behind without touching a live one's.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pandas as pd

from ctdild_sim.scenario.base import spreadsheet_text

MARKER = "metrics.parquet"
STAGING_MARK = ".staging-"
"""Part of every staging folder's name: ``.<final>.staging-<pid>-<random>``."""


class OutputError(Exception):
    """The output folder cannot be used (bad input: found before anything is simulated)."""


class WriteFailed(Exception):
    """Writing failed part way (a full disk, a permission lost): nothing was left behind."""


def check_output_dir(out: Path) -> None:
    """Refuse, before any simulation, a folder we would not be allowed to replace."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise OutputError(f"{out}: folder is not empty and holds no previous run; choose another --out")


@contextmanager
def _turn(final: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder ``final`` is in for the block (no lock file is left)."""
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(folder: Path, min_age_seconds: float = 2.0) -> list[Path]:
    """Delete staging folders in ``folder`` whose writer is no longer running (a killed run);
    returns what was deleted. Folders younger than ``min_age_seconds`` are left alone."""
    removed = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for path in folder.iterdir():
        if not path.name.startswith(".") or STAGING_MARK not in path.name:
            continue
        try:
            pid = int(path.name.split(STAGING_MARK, 1)[1].split("-", 1)[0])
            young = now - path.lstat().st_mtime < min_age_seconds
        except (ValueError, OSError):
            continue
        if pid != os.getpid() and not young and not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextmanager
def staged_folder(final: Path, shared: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary sibling of ``final`` to write into; when the block succeeds it
    takes ``final``'s place (an older ``final`` is moved aside first, then deleted), and when it
    fails it is deleted. Readers never see a half-written folder. ``shared``: other processes may
    write ``final`` at the same time (an ``--out`` folder), so the swap takes turns."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}{STAGING_MARK}{os.getpid()}-", dir=final.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; results are for sharing
    except OSError as exc:
        raise WriteFailed(f"{final}: cannot be written ({exc.strerror or exc})") from None
    try:
        yield staging
        with _turn(final) if shared else nullcontext():
            if final.exists():
                retired = Path(
                    tempfile.mkdtemp(prefix=f".{final.name}{STAGING_MARK}{os.getpid()}-old-", dir=final.parent)
                )
                final.rename(retired / final.name)
                staging.rename(final)
                shutil.rmtree(retired)
            else:
                staging.rename(final)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise WriteFailed(f"{final}: could not be written ({exc.strerror or exc}); nothing was left behind") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def safe_for_spreadsheets(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its text cells as ``spreadsheet_text`` writes them (a site named
    ``=HYPERLINK(...)`` is no formula in the CSV); numbers stay numbers."""
    changes = {}
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            # a table's text repeats (sites, event names): each distinct value is looked at once
            made = {v: spreadsheet_text(v) for v in frame[column].dropna().unique()}
            changed = {v: text for v, text in made.items() if text is not v}
            if changed:
                changes[column] = changed
    if not changes:
        return frame
    out = frame.copy()
    for column, changed in changes.items():
        out[column] = out[column].map(lambda v, changed=changed: changed.get(v, v))
    return out


def write_tables(out: Path, tables: list[tuple[str, pd.DataFrame]]) -> None:
    """Write each (name, table) as NAME.parquet and NAME.csv into ``out``, atomically."""
    check_output_dir(out)
    remove_stale_staging(out.parent)
    with staged_folder(out, shared=True) as staging:
        for name, frame in tables:
            frame.to_parquet(staging / f"{name}.parquet", index=False)
            safe_for_spreadsheets(frame).to_csv(staging / f"{name}.csv", index=False)


def write_csv_tables(
    out: Path,
    tables: dict[str, pd.DataFrame],
    marker: str,
    notes: str | None = None,
    texts: dict[str, str] | None = None,
) -> None:
    """Write each table as CSV under its file name into ``out``, atomically, with ``notes`` as its
    README.md and each of ``texts`` as a text file of its name; an existing ``out`` is replaced
    only if it holds ``marker`` (an earlier export of the same kind)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).exists():
        raise OutputError(f"{out}: folder is not empty and holds no earlier {marker}; choose another --out")
    remove_stale_staging(out.parent)
    with staged_folder(out, shared=True) as staging:
        for name, frame in tables.items():
            safe_for_spreadsheets(frame).to_csv(staging / name, index=False)
        if notes is not None:
            (staging / "README.md").write_text(notes, encoding="utf-8")
        for name, text in (texts or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
