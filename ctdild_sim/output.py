"""Writing a run's tables to a folder, all or nothing.

Tables are written as Parquet (for pandas and the dashboard) and CSV (for spreadsheets) into a
temporary sibling folder, which is renamed into place only when everything is written: an
interrupted or failed write leaves no half-written output. An existing output folder is
replaced only if it holds a previous run's tables (``metrics.parquet``); any other non-empty
folder is refused, so ``--out .`` can never wipe a user's files.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

MARKER = "metrics.parquet"


class OutputError(Exception):
    """The output folder cannot be used."""


def check_output_dir(out: Path) -> None:
    """Refuse, before any simulation, a folder we would not be allowed to replace."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise OutputError(f"{out}: folder is not empty and holds no previous run; choose another --out")


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """Yield a hidden temporary sibling of ``final`` to write into; when the block succeeds it
    takes ``final``'s place (an older ``final`` is moved aside first, then deleted), and when it
    fails it is deleted. Readers never see a half-written folder."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; results are for sharing
    try:
        yield staging
        if final.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
            final.rename(retired / final.name)
            staging.rename(final)
            shutil.rmtree(retired)
        else:
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_tables(out: Path, tables: list[tuple[str, pd.DataFrame]]) -> None:
    """Write each (name, table) as NAME.parquet and NAME.csv into ``out``, atomically."""
    check_output_dir(out)
    with staged_folder(out) as staging:
        for name, frame in tables:
            frame.to_parquet(staging / f"{name}.parquet", index=False)
            frame.to_csv(staging / f"{name}.csv", index=False)
