"""What the dashboard reads: the scenario files of one folder and the runs of one results store.

Nothing the browser sends is used as a path. Scenario files are named by their file name and
looked up in the folder's own listing, which leaves out links that lead outside the folder; a
listed file's ``extends:`` may name only files of the folder. Runs are named by run id and opened
through ``ctdild_sim.runs.results``, which refuses ids that are not a plain folder name. Loaded runs
are cached by run id (a stored run never changes). Messages name files and folders as the user
knows them, never by the server's absolute paths.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from collections.abc import Callable
from pathlib import Path

from ctdild_sim.actuals.archive import MAX_ZIP_BYTES, unpack_zip
from ctdild_sim.actuals.reader import ActualsError, RecordBook, RecordFiles
from ctdild_sim.actuals.sdtm_files import sdtm_folder
from ctdild_sim.actuals.sources import read_source
from ctdild_sim.runs import results
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.scenario.comments import Comment, chain_comments, parent_texts
from ctdild_sim.scenario.loading import ScenarioError, parse_scenario, read_text
from ctdild_sim.scenario.trial import Scenario

MAX_PICKED = 10
"""Most scenario files a job runs, or runs a view shows, at once (the same one named twice counts
once)."""
MAX_UPLOAD_BYTES = 256 * 1024
"""Largest scenario file the upload accepts (the shipped ones are under 20 kB)."""
UPLOADED = "upload: "
"""How the records picker names records uploaded as a zip (the others are folders by name)."""


class DashboardError(Exception):
    """A request the dashboard cannot serve: the message is shown to the user as it is."""


def scenario_files(folder: Path) -> dict[str, Path]:
    """The folder's scenario files by file name (``*.yaml`` and ``*.yml``, not in subfolders, and
    no link to a file outside the folder)."""
    return _entries(folder, lambda p: p.suffix in (".yaml", ".yml") and p.is_file())


def scenario_file(folder: Path, name: object) -> Path:
    """The path of a scenario file named by the browser, only if the folder lists it."""
    if not isinstance(name, str):
        raise DashboardError(f"a scenario file is named by its file name, not {type(name).__name__}")
    files = scenario_files(folder)
    if name not in files:
        raise DashboardError(f"{name[:200]!r} is not a scenario file in {folder.name}/")
    return files[name]


def load_scenario_file(folder: Path, name: object) -> tuple[Scenario, str]:
    """A listed scenario file, validated (its ``extends`` chain kept inside the folder), with its
    text (stored with the run)."""
    path = scenario_file(folder, name)
    try:
        text = read_text(path)
        return parse_scenario(text, source=path.name, base_dir=folder, within=folder), text
    except ScenarioError as exc:
        raise DashboardError(scrub(str(exc), folder)) from None


def scrub(message: str, folder: Path) -> str:
    """``message`` with the server's absolute path of ``folder`` shortened to the folder's name."""
    for prefix in {str(folder.resolve()), str(folder)}:
        message = message.replace(prefix + "/", folder.name + "/")
    return message


def validate_upload(filename: str, content: bytes, scenarios_dir: Path) -> Scenario:
    """Validate an uploaded scenario file as the CLI would, without writing it anywhere; it may
    ``extends:`` a scenario file of ``scenarios_dir`` and nothing else."""
    name = Path(filename or "upload.yaml").name
    if Path(name).suffix not in (".yaml", ".yml"):
        raise DashboardError(f"{name}: not a YAML scenario file (expected .yaml or .yml)")
    if len(content) > MAX_UPLOAD_BYTES:
        raise DashboardError(f"{name}: {len(content):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise DashboardError(f"{name}: not UTF-8 text") from None
    try:
        return parse_scenario(text, source=name, base_dir=scenarios_dir, within=scenarios_dir)
    except ScenarioError as exc:
        raise DashboardError(scrub(str(exc), scenarios_dir)) from None


def file_comments_in(folder: Path, text: str) -> dict[str, Comment]:
    """What a scenario text of ``folder`` (and the files it extends there) says about each parameter."""
    return chain_comments(text, parent_texts(text, folder))


NEW_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.ya?ml$")


def validate_text(name: object, text: object, scenarios_dir: Path) -> Scenario:
    """An edited scenario text, validated as the CLI would validate a file called ``name`` of the
    scenarios folder (its ``extends`` kept inside the folder); nothing is written."""
    shown = Path(name).name if isinstance(name, str) and name else "edited.yaml"
    if not isinstance(text, str):
        raise DashboardError(f"{shown}: the scenario text is empty")
    return validate_upload(shown, text.encode("utf-8"), scenarios_dir)


def save_scenario_text(folder: Path, new_name: object, text: object) -> Path:
    """Write a validated scenario text into the scenarios folder under a new name: never over an
    existing file (the link that puts it in place fails if the name is taken), never half-written."""
    if not isinstance(new_name, str) or not NEW_FILE_NAME.match(new_name.strip()):
        raise DashboardError("Save as: a new file name of letters, digits, '_', '-' and '.', ending in .yaml")
    new_name = new_name.strip()
    target = folder / new_name
    if target.exists():
        raise DashboardError(f"{new_name} exists in {folder.name}/: pick a new name (files are never overwritten)")
    validate_text(new_name, text, folder)
    temporary = folder / f".{new_name}.{os.getpid()}.tmp"
    try:
        with open(temporary, "x", encoding="utf-8") as out:
            out.write(str(text))
            out.flush()
            os.fsync(out.fileno())
        os.link(temporary, target)  # fails if the name was taken meanwhile
    except FileExistsError:
        raise DashboardError(
            f"{new_name} exists in {folder.name}/: pick a new name (files are never overwritten)"
        ) from None
    except OSError as exc:
        raise DashboardError(f"{new_name}: could not be written ({exc.strerror})") from None
    finally:
        temporary.unlink(missing_ok=True)
    return target


def actuals_folders(folder: Path) -> dict[str, Path]:
    """The trial records of the actuals folder by name: subfolders holding CSV files or SDTM
    datasets, and .xlsx workbooks (no link to anything outside it)."""
    return _entries(
        folder,
        lambda p: (p.is_dir() and (any(p.glob("*.csv")) or sdtm_folder(p))) or (p.is_file() and p.suffix == ".xlsx"),
    )


def _entries(folder: Path, wanted: Callable[[Path], bool]) -> dict[str, Path]:
    """The wanted entries of ``folder`` by name, leaving out links that lead outside it."""
    if not folder.is_dir():
        return {}
    inside = folder.resolve()
    return {p.name: p for p in sorted(folder.iterdir()) if p.resolve().parent == inside and wanted(p)}


def records_source(actuals_dir: Path, choice: object, upload: object) -> RecordFiles | RecordBook | Path:
    """The records the browser picked: a folder or workbook of ``actuals_dir`` by name, or the
    uploaded zip or workbook (held by the page as ``{"name", "content"}``, base64), read in memory."""
    if not isinstance(choice, str) or not choice:
        raise DashboardError("Pick the trial's records: a folder or workbook, or upload a zip or an .xlsx workbook.")
    if choice.startswith(UPLOADED):
        if not isinstance(upload, dict) or not isinstance(upload.get("content"), str):
            raise DashboardError("The uploaded records are no longer held by the page; upload the zip again.")
        return records_upload(str(upload.get("name") or "records.zip"), upload["content"])
    folders = actuals_folders(actuals_dir)
    if choice not in folders:
        raise DashboardError(f"{choice[:200]!r} is not a records folder or workbook in {actuals_dir.name}/")
    return folders[choice]


def records_upload(filename: str, content: str) -> RecordFiles | RecordBook:
    """An uploaded zip of records, or a records workbook (a data URL or bare base64), read in
    memory with its limits; nothing is written to disk."""
    name = Path(filename or "records.zip").name
    suffix = Path(name).suffix.lower()
    if suffix not in (".zip", ".xlsx"):
        raise DashboardError(
            f"{name}: neither a zip file nor an .xlsx workbook (zip the folder of CSV records, "
            "or upload the records workbook)"
        )
    try:
        payload = base64.b64decode(content.split(",", 1)[-1], validate=False)
    except (binascii.Error, ValueError):
        raise DashboardError(f"{name}: the upload could not be decoded") from None
    if suffix == ".xlsx":
        if len(payload) > MAX_ZIP_BYTES:
            raise DashboardError(f"{name}: {len(payload):,} bytes; the limit is {MAX_ZIP_BYTES:,} bytes")
        book = RecordBook(Path(name), payload)
        try:
            read_source(book)  # a readable workbook; checked against the scenario when one is picked
        except ActualsError as exc:
            raise DashboardError(str(exc)) from None
        return book
    try:
        return unpack_zip(name, payload)
    except ActualsError as exc:
        raise DashboardError(str(exc)) from None


def stored_runs(root: Path) -> list[results.StoredRun]:
    """Readable runs of the store, newest first."""
    return [r for r in reversed(results.list_runs(root)) if r.manifest is not None]


@functools.lru_cache(maxsize=32)
def load_run(root: Path, run_id: str) -> RunRecord:
    """A stored run's scenario and (lazily read) tables; cached, since a stored run never changes
    (its label aside: the picker reads labels from the store)."""
    try:
        return RunRecord.open(run_id, root)
    except results.StoreError as exc:
        raise DashboardError(str(exc)) from None


def load_runs(root: Path, run_ids: object) -> list[RunRecord]:
    """The runs named by the browser (a list of run ids)."""
    if run_ids is None:
        return []
    if not isinstance(run_ids, list) or not all(isinstance(r, str) for r in run_ids):
        raise DashboardError("runs are named by a list of run ids")
    return [load_run(root, run_id) for run_id in distinct_picks(run_ids, "runs")]


def distinct_picks(names: list[str], what: str) -> list[str]:
    """The names a request picked, each once (a request may repeat one), at most ``MAX_PICKED``."""
    distinct = list(dict.fromkeys(names))
    if len(distinct) > MAX_PICKED:
        raise DashboardError(f"Pick at most {MAX_PICKED} {what} ({len(distinct)} were picked).")
    return distinct
