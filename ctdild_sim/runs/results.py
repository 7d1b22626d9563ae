"""The results store: one folder per run under ``results/``, written all or nothing.

    results/<run_id>/manifest.json   what was run: scenario (name, file content, hash, and the
                                     validated scenario with its ``extends`` chain resolved),
                                     seed, replicates, options, package version, start and end
                                     time, command
    results/<run_id>/<table>.parquet every table of the run

A run is written into a hidden temporary folder beside the others and renamed into place only
when complete, so a killed or interrupted run leaves no entry. ``list_runs`` reports folders it
cannot read as such instead of failing, and ``load`` returns a run's tables as DataFrames.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctdild_sim import __version__
from ctdild_sim.runs.export import STAGING_MARK, remove_stale_staging, staged_folder
from ctdild_sim.scenario.comments import Comment, chain_comments, parent_texts
from ctdild_sim.scenario.trial import Scenario

DEFAULT_ROOT = Path("results")
MANIFEST = "manifest.json"
MANIFEST_KEYS = ("run_id", "scenario_name", "scenario_file", "scenario_sha256", "seed", "replicates")
# fmt: off
MANIFEST_TYPES = {"run_id": str, "scenario_name": str, "scenario_file": str, "scenario_sha256": str, "seed": int,
                  "replicates": int}
# fmt: on


class StoreError(Exception):
    """A run that cannot be found or read."""


@dataclass(frozen=True)
class StoredRun:
    """One folder of the store: its manifest, or why it could not be read."""

    path: Path
    manifest: dict | None
    problem: str | None = None

    @property
    def run_id(self) -> str:
        return self.path.name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "scenario"


def new_run_id(scenario_name: str, scenario_text: str, seed: int, started: dt.datetime) -> str:
    """Sortable by time, readable, and distinct for distinct inputs started in the same second."""
    digest = hashlib.sha256(f"{scenario_text}\0{seed}\0{started.isoformat()}".encode()).hexdigest()[:8]
    return f"{started:%Y%m%d-%H%M%S}-{_slug(scenario_name)}-{digest}"


def scenario_sources(text: str, file: Path) -> dict:
    """What a manifest keeps of a scenario file: its text, and the files it extends (nearest
    first) for their comments: sources and WEAK flags (``scenario_comments`` reads them)."""
    return {"scenario_text": text, "scenario_parents": [[name, t] for name, t in parent_texts(text, file.parent)]}


def save_run(
    root: Path,
    tables: list[tuple[str, pd.DataFrame]],
    *,
    scenario: Scenario,
    scenario_file: Path,
    scenario_text: str,
    seed: int,
    replicates: int,
    options: dict,
    command: list[str],
    started: dt.datetime,
    extra: dict | None = None,
) -> Path:
    """Write a run into the store; the folder appears only when everything is written. ``extra``
    goes into the manifest as it is (a forecast's as-of date and its actuals' SHA-256)."""
    finished = dt.datetime.now(dt.UTC)
    run_id = new_run_id(scenario.name, scenario_text, seed, started)
    manifest = {
        "run_id": run_id,
        "scenario_name": scenario.name,
        "scenario_file": str(scenario_file),
        "scenario_sha256": hashlib.sha256(scenario_text.encode()).hexdigest(),
        **scenario_sources(scenario_text, Path(scenario_file)),
        "scenario_resolved": scenario.model_dump(mode="json", by_alias=True),
        "seed": seed,
        "replicates": replicates,
        "options": options,
        "package_version": __version__,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "command": command,
        "tables": [name for name, _ in tables],
        **(extra or {}),
    }
    final = root / run_id
    remove_stale_staging(root)  # what killed runs left behind
    with staged_folder(final) as staging:
        for name, frame in tables:
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    return final


def list_runs(root: Path = DEFAULT_ROOT) -> list[StoredRun]:
    """Every run folder, oldest first; unreadable or foreign folders come with their problem."""
    try:
        if not root.is_dir():
            return []
        folders = sorted(p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir())
    except OSError as exc:
        return [StoredRun(root, None, f"the store cannot be read ({exc.strerror or exc})")]
    return [_stored_run(path) for path in folders]


def _stored_run(path: Path) -> StoredRun:
    manifest_path = path / MANIFEST
    try:
        if not manifest_path.is_file():
            return StoredRun(path, None, "no manifest.json: not a ctdild-sim run")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return StoredRun(path, None, f"unreadable manifest.json ({exc})")
    problem = manifest_problem(manifest)
    return StoredRun(path, None, problem) if problem else StoredRun(path, manifest)


def manifest_problem(manifest: object) -> str | None:
    """Why a manifest cannot describe a run (missing keys, wrong types), or None."""
    if not isinstance(manifest, dict):
        return "manifest.json is not a mapping"
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        return f"manifest.json lacks {', '.join(missing)}"
    wrong = [
        k for k, kind in MANIFEST_TYPES.items() if not isinstance(manifest[k], kind) or isinstance(manifest[k], bool)
    ]
    if wrong:
        return f"manifest.json has values of the wrong type for {', '.join(wrong)}"
    if not isinstance(manifest.get("tables", []), list):
        return "manifest.json has no list of tables"
    return None


def set_label(run_id: str, label: str, root: Path | str = DEFAULT_ROOT) -> None:
    """Give a run a label (shown beside its id); an empty label removes it. The manifest is
    rewritten whole (a temporary file renamed over it), never half-written."""
    manifest = manifest_of(run_id, root)
    text = " ".join(label.split())
    if len(text) > MAX_LABEL or not text.isprintable():
        raise StoreError(f"a label is up to {MAX_LABEL} printable characters (got {len(text)})")
    if text:
        manifest["label"] = text
    else:
        manifest.pop("label", None)
    path = _run_folder(run_id, root) / MANIFEST
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(manifest, indent=2, default=str))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"run {run_id}: the label could not be written ({exc.strerror or exc})") from None


def delete_run(run_id: str, root: Path | str = DEFAULT_ROOT) -> None:
    """Delete a run, all or nothing: the folder is first renamed to a hidden one (one atomic step,
    after which the run is gone from the store), then removed; if the removal is cut short, what
    is left is hidden and the next run clears it (``export.remove_stale_staging``)."""
    manifest_of(run_id, root)  # only a readable run is deleted by id
    folder = _run_folder(run_id, root)
    try:
        hidden = Path(tempfile.mkdtemp(prefix=f".{run_id}{STAGING_MARK}{os.getpid()}-deleted-", dir=folder.parent))
        folder.rename(hidden / run_id)
    except OSError as exc:
        raise StoreError(f"run {run_id}: could not be deleted ({exc.strerror or exc}); it is unchanged") from None
    shutil.rmtree(hidden, ignore_errors=True)


MAX_LABEL = 120
"""Longest run label."""


def _run_folder(run_id: str, root: Path | str) -> Path:
    """The folder of a run named by its id; an id is a plain folder name, never a path."""
    if not isinstance(run_id, str) or not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
        raise StoreError(f"{run_id!r} is not a run id")
    return Path(root) / run_id


def manifest_of(run_id: str, root: Path | str = DEFAULT_ROOT) -> dict:
    path = _run_folder(run_id, root) / MANIFEST
    if not path.is_file():
        raise StoreError(f"run {run_id}: no such run in the store (no manifest.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise StoreError(f"run {run_id}: manifest.json cannot be read ({exc})") from None
    problem = manifest_problem(manifest)
    if problem:
        raise StoreError(f"run {run_id}: {problem}")
    return manifest


def _read_table(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.parquet"
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise StoreError(f"run {folder.name}: table {name} cannot be read ({exc})") from None


def _table_names(run_id: str, manifest: dict) -> list[str]:
    tables = manifest.get("tables") if isinstance(manifest, dict) else None
    if not isinstance(tables, list):
        raise StoreError(f"run {run_id}: manifest.json cannot be read (no list of tables)")
    return tables


def load(run_id: str, root: Path | str = DEFAULT_ROOT) -> dict[str, pd.DataFrame]:
    """The tables of a stored run, by name (``metrics``, ``events``, ``demand_weekly``, ...)."""
    names = _table_names(run_id, manifest_of(run_id, root))
    folder = _run_folder(run_id, root)
    return {name: _read_table(folder, name) for name in names}


def load_table(run_id: str, name: str, root: Path | str = DEFAULT_ROOT) -> pd.DataFrame:
    """One table of a stored run (reading only that table's file)."""
    if name not in _table_names(run_id, manifest_of(run_id, root)):
        raise StoreError(f"run {run_id} has no table {name!r}")
    return _read_table(_run_folder(run_id, root), name)


class LazyTables(Mapping[str, pd.DataFrame]):
    """A stored run's tables, each read from its Parquet file the first time it is asked for (a
    report needs the metrics, not the event log of a thousand replicates)."""

    def __init__(self, run_id: str, manifest: dict, root: Path | str = DEFAULT_ROOT):
        self._run_id, self._root = run_id, root
        self._names = _table_names(run_id, manifest)
        self._loaded: dict[str, pd.DataFrame] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> pd.DataFrame:
        with self._lock:
            if name not in self._loaded:
                if name not in self._names:
                    raise KeyError(name)
                self._loaded[name] = _read_table(_run_folder(self._run_id, self._root), name)
            return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:  # without reading the table (Mapping's reads it)
        return name in self._names

    def __len__(self) -> int:
        return len(self._names)


def scenario_comments(manifest: dict) -> dict[str, Comment]:
    """What the scenario file of a run (and the files it extends) says about each parameter."""
    parents = manifest.get("scenario_parents") or []
    pairs = [(str(p[0]), str(p[1])) for p in parents if isinstance(p, list | tuple) and len(p) == 2]
    return chain_comments(str(manifest.get("scenario_text", "")), pairs)


def scenario_of(manifest: dict) -> Scenario:
    """The validated scenario a run was made with, as stored in its manifest."""
    try:
        return Scenario.model_validate(manifest["scenario_resolved"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"run {manifest.get('run_id', '?')}: its scenario cannot be read ({exc})") from None
