"""Reading an actuals folder: every row checked, the tables checked against each other and the
scenario, every problem reported as ``FILE:ROW:COLUMN: PROBLEM`` (ROW is the line in the file,
the header being line 1), with "did you mean" for names.

Nothing is half-accepted: ``read_actuals`` returns the tables only when no problem was found,
and raises ``ActualsError`` listing every problem otherwise. What is allowed but not as the
protocol says (a cohort dosed before the previous cohort's gate) is a warning, found when the
state is derived (``state``).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ctdild_sim.actuals.rows import (
    FILES,
    AdverseEventRow,
    InfusionRow,
    LotRow,
    Row,
    ScreeningRow,
    SubjectRow,
    columns,
    required_columns,
)
from ctdild_sim.model.eligibility import CRITERION_NAMES
from ctdild_sim.scenario.trial import Scenario

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest actuals file read (a trial's records are kilobytes)."""


class ActualsError(Exception):
    """An actuals folder that cannot be used; ``problems`` are its ``FILE:ROW:COLUMN: PROBLEM`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Line:
    """A validated row and where it stands: its file and line."""

    path: Path
    number: int
    row: Row

    def at(self, column: str | None, problem: str) -> str:
        return f"{self.path}:{self.number}:{column}: {problem}" if column else f"{self.path}:{self.number}: {problem}"


@dataclass
class Actuals:
    """A trial's records as of a date, checked."""

    folder: Path
    as_of: dt.date
    tables: dict[str, list[Line]]
    sha256: dict[str, str]  # file name -> SHA-256 of its bytes
    warnings: list[str] = field(default_factory=list)

    def rows(self, name: str) -> list:
        return [line.row for line in self.tables.get(name, [])]

    def has(self, name: str) -> bool:
        return name in self.tables


def site_names(scenario: Scenario) -> list[str]:
    """Every site's name as the engine gives it (``S-1``, ``S-2`` for an entry of count 2)."""
    return [s.name if s.count == 1 else f"{s.name}-{k + 1}" for s in scenario.sites for k in range(s.count)]


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(known[:12])}"


@dataclass(frozen=True)
class RecordFiles:
    """A records folder's files held in memory (an upload, ``archive.unpack_zip``). ``origin``
    stands for the folder in messages (``records.zip/subjects.csv:3:cohort: ...``)."""

    origin: Path
    files: dict[str, bytes]  # file name -> its bytes


def read_actuals(source: str | Path | RecordFiles, scenario: Scenario, as_of: dt.date) -> Actuals:
    """The checked tables of an actuals folder (or of files held in memory), or ``ActualsError``
    with every problem found."""
    problems: list[str] = []
    if isinstance(source, RecordFiles):
        folder, raw_files = source.origin, dict(source.files)
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise ActualsError([f"{folder}: not a folder of actuals (CSV files)"])
        raw_files = {}
        for path in sorted(folder.glob("*.csv")):
            if path.name in FILES:
                raw = _read_bytes(path, problems)
                if raw is not None:
                    raw_files[path.name] = raw
            else:
                raw_files[path.name] = b""
    for name in sorted(raw_files):
        if name not in FILES:
            problems.append(f"{folder / name}: not an actuals file{_hint(name, list(FILES))}")
    tables: dict[str, list[Line]] = {}
    sha256: dict[str, str] = {}
    for name, model in FILES.items():
        raw = raw_files.get(name)
        if raw is None:
            continue
        sha256[name] = hashlib.sha256(raw).hexdigest()
        lines = _parse(folder / name, raw, model, problems)
        if lines is not None:
            tables[name] = lines
    actuals = Actuals(folder, as_of, tables, sha256)
    if not problems:
        _cross_check(actuals, scenario, problems)
    if problems:
        raise ActualsError(problems)
    return actuals


def as_of_hint(source: str | Path | RecordFiles) -> dt.date | None:
    """The date records were complete to, as far as they say: a date at the end of the folder's
    (or zip's) name (``nct06574581-2026-11-25``), else the latest day in them (a guess: nothing
    may have happened since)."""
    origin = source.origin if isinstance(source, RecordFiles) else Path(source)
    name = origin.name.removesuffix(".zip")
    try:
        return dt.date.fromisoformat(name[-10:])
    except ValueError:
        return latest_record_date(source)


NOT_EVENTS = {"expires_on"}
"""Date columns that are not days something happened (an expiry is known in advance)."""


def latest_record_date(source: str | Path | RecordFiles) -> dt.date | None:
    """The latest date any readable row of the records holds (None if there is none): where the
    records stop, a first guess at the date they were complete to. Problems are not reported here
    (``read_actuals`` reports them)."""
    if isinstance(source, RecordFiles):
        folder, raw_files = source.origin, source.files
    else:
        folder, raw_files, ignored = Path(source), {}, []
        for name in FILES:
            path = folder / name
            if path.is_file():
                raw = _read_bytes(path, ignored)
                if raw is not None:
                    raw_files[name] = raw
    latest = None
    for name, raw in raw_files.items():
        model = FILES.get(name)
        if model is None:
            continue
        for line in _parse(folder / name, raw, model, []) or []:
            for column, value in line.row.__dict__.items():
                if column not in NOT_EVENTS and isinstance(value, dt.date) and (latest is None or value > latest):
                    latest = value
    return latest


def _read_bytes(path: Path, problems: list[str]) -> bytes | None:
    try:
        if not path.is_file():
            problems.append(f"{path}: not a regular file")
            return None
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror or exc})")
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.append(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        return None
    return raw


def _parse(path: Path, raw: bytes, model: type[Row], problems: list[str]) -> list[Line] | None:
    """The file's rows, each validated; None (with problems noted) if the file cannot be read."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)")
        return None
    if "\0" in text:
        problems.append(f"{path}: not a text file (it holds NUL bytes)")
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.append(f"{path}:1: not CSV ({exc})")
        return None
    if not header or not any(h.strip() for h in header):
        problems.append(f"{path}:1: empty file: the first line names the columns ({', '.join(columns(model))})")
        return None
    header = [h.strip() for h in header]
    known = columns(model)
    bad = False
    for column, count in Counter(header).items():
        if count > 1:
            problems.append(f"{path}:1:{column}: the column is named {count} times")
            bad = True
    for column in header:
        if column not in known:
            problems.append(f"{path}:1:{column}: unknown column{_hint(column, known)}")
            bad = True
    for column in required_columns(model):
        if column not in header:
            problems.append(f"{path}:1: missing column {column}")
            bad = True
    if bad:
        return None
    lines: list[Line] = []
    try:
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) != len(header):
                problems.append(f"{path}:{number}: {len(cells)} cells where the header names {len(header)} columns")
                continue
            try:
                row = model.model_validate(dict(zip(header, cells, strict=True)))
            except ValidationError as exc:
                problems.extend(_row_problem(path, number, err) for err in exc.errors())
                continue
            lines.append(Line(path, number, row))
    except csv.Error as exc:
        problems.append(f"{path}:{reader.line_num}: not CSV ({exc})")
        return None
    return lines


def _row_problem(path: Path, number: int, err: dict) -> str:
    message = err["msg"].removeprefix("Value error, ")
    column = str(err["loc"][0]) if err["loc"] else ""
    if not column and ":" in message and message.split(":", 1)[0].isidentifier():
        column, message = message.split(":", 1)
        message = message.strip()
    if err["type"] not in ("value_error", "missing") and "input" in err and isinstance(err["input"], str):
        message += f" (got {err['input']!r})"
    return f"{path}:{number}:{column}: {message}" if column else f"{path}:{number}: {message}"


# -- the tables against each other and the scenario -------------------------------------------


def _cross_check(actuals: Actuals, scenario: Scenario, problems: list[str]) -> None:
    _dates(actuals, scenario, problems)
    sites = site_names(scenario)
    ae_kinds = [ae.name for ae in scenario.safety.adverse_events]
    tables = actuals.tables
    for line in tables.get("sites.csv", []):
        if line.row.site not in sites:
            problems.append(line.at("site", f"unknown site {line.row.site!r}{_hint(line.row.site, sites)}"))
    _unique(tables.get("sites.csv", []), lambda r: r.site, "site", problems)
    screenings = _check_screening(tables.get("screening.csv", []), sites, problems)
    subjects = _check_subjects(tables.get("subjects.csv", []), screenings, scenario, problems)
    lots = {line.row.lot_id: line for line in tables.get("lots.csv", [])}
    _unique(tables.get("lots.csv", []), lambda r: r.lot_id, "lot_id", problems)
    _check_infusions(tables.get("infusions.csv", []), subjects, lots, actuals.has("lots.csv"), scenario, problems)
    for line in tables.get("adverse_events.csv", []):
        row: AdverseEventRow = line.row
        if row.name not in ae_kinds:
            problems.append(line.at("name", f"unknown AE kind {row.name!r}{_hint(row.name, ae_kinds)}"))
        subject = subjects.get(row.subject_id)
        if subject is None:
            problems.append(line.at("subject_id", f"no subject {row.subject_id} in subjects.csv"))
        elif row.onset_on < subject.row.enrolled_on:
            problems.append(line.at("onset_on", f"before the subject's enrolment ({subject.row.enrolled_on})"))
    for line in tables.get("reviews.csv", []):
        if line.row.subject_id is not None and line.row.subject_id not in subjects:
            problems.append(line.at("subject_id", f"no subject {line.row.subject_id} in subjects.csv"))
    _check_cohort_sizes(tables.get("subjects.csv", []), tables.get("infusions.csv", []), scenario, problems)


def _dates(actuals: Actuals, scenario: Scenario, problems: list[str]) -> None:
    """No date after the as-of date (but an expiry day), none before the study's start (but an
    initial lot's)."""
    for lines in actuals.tables.values():
        for line in lines:
            initial = isinstance(line.row, LotRow) and line.row.initial_stock
            for column, value in line.row:
                if not isinstance(value, dt.date):
                    continue
                if value > actuals.as_of and column != "expires_on":  # an expiry day is a plan, not a record
                    problems.append(line.at(column, f"{value} is after the as-of date {actuals.as_of}"))
                elif value < scenario.start_date and not (initial and column != "released_on"):
                    problems.append(line.at(column, f"{value} is before the study's start {scenario.start_date}"))


def _unique(lines: list[Line], key, column: str, problems: list[str]) -> None:
    seen: dict = {}
    for line in lines:
        k = key(line.row)
        if k in seen:
            problems.append(line.at(column, f"{k} is listed again (first on line {seen[k].number})"))
        else:
            seen[k] = line


def _check_screening(lines: list[Line], sites: list[str], problems: list[str]) -> dict[int, list[Line]]:
    """Candidates' screenings in order; each row's site and criteria known, rescreens only after a
    passed screen, at most one enrolment per candidate."""
    by_candidate: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        row: ScreeningRow = line.row
        if row.site not in sites:
            problems.append(line.at("site", f"unknown site {row.site!r}{_hint(row.site, sites)}"))
        for criterion in row.criteria:
            if criterion not in CRITERION_NAMES:
                problems.append(line.at("failed_criteria", f"unknown criterion {criterion!r}"
                                        f"{_hint(criterion, list(CRITERION_NAMES))}"))  # fmt: skip
        by_candidate[row.candidate_id].append(line)
    for candidate, rows in by_candidate.items():
        rows.sort(key=lambda line: line.row.screening_started_on or line.row.referred_on)
        first = rows[0].row
        for earlier, line in itertools.pairwise(rows):
            if line.row.referred_on != first.referred_on or line.row.site != first.site:
                problems.append(line.at("referred_on", f"candidate {candidate} was referred once: on "
                                        f"{first.referred_on} from {first.site} (line {rows[0].number})"))  # fmt: skip
            if earlier.row.outcome != "passed" or earlier.row.enrolled_on is not None:
                problems.append(line.at("candidate_id", f"candidate {candidate} is screened again, but only a passed "
                                        f"screen that expired unused is redone (line {earlier.number})"))  # fmt: skip
    return by_candidate


def _check_subjects(
    lines: list[Line], screenings: dict[int, list[Line]], scenario: Scenario, problems: list[str]
) -> dict[int, Line]:
    _unique(lines, lambda r: r.subject_id, "subject_id", problems)
    subjects = {}
    for line in lines:
        row: SubjectRow = line.row
        subjects.setdefault(row.subject_id, line)
        if row.cohort > len(scenario.cohorts):
            problems.append(line.at("cohort", f"cohort {row.cohort}: the scenario has {len(scenario.cohorts)}"))
        enrolment = [s for s in screenings.get(row.subject_id, []) if s.row.enrolled_on is not None]
        if not enrolment:
            problems.append(line.at("subject_id", f"no passed screening of candidate {row.subject_id} in "
                                    "screening.csv leads to this enrolment"))  # fmt: skip
        elif enrolment[0].row.enrolled_on != row.enrolled_on:
            problems.append(line.at("enrolled_on", f"screening.csv line {enrolment[0].number} says "
                                    f"{enrolment[0].row.enrolled_on}"))  # fmt: skip
    for candidate, rows in screenings.items():
        for line in rows:
            if line.row.enrolled_on is not None and candidate not in subjects:
                problems.append(line.at("enrolled_on", f"candidate {candidate} is enrolled, but subjects.csv has "
                                        "no such subject"))  # fmt: skip
    return subjects


def _check_infusions(
    lines: list[Line], subjects: dict[int, Line], lots: dict[int, Line], lots_given: bool, scenario: Scenario,
    problems: list[str],
) -> None:  # fmt: skip
    _unique(lines, lambda r: (r.subject_id, r.infusion), "infusion", problems)
    numbers: dict[int, list[Line]] = defaultdict(list)
    used: Counter[int] = Counter()
    for line in lines:
        row: InfusionRow = line.row
        subject = subjects.get(row.subject_id)
        if subject is None:
            problems.append(line.at("subject_id", f"no subject {row.subject_id} in subjects.csv"))
            continue
        numbers[row.subject_id].append(line)
        s: SubjectRow = subject.row
        if s.cohort <= len(scenario.cohorts):
            planned = scenario.cohorts[s.cohort - 1].infusions
            if row.infusion > planned:
                problems.append(line.at("infusion", f"infusion {row.infusion}: cohort {s.cohort} gives {planned}"))
        if row.admitted_on < s.enrolled_on:
            problems.append(line.at("admitted_on", f"{row.admitted_on} is before the subject's enrolment "
                                    f"({s.enrolled_on})"))  # fmt: skip
        if s.status_on is not None and s.status != "completed" and row.infused_on > s.status_on:
            problems.append(line.at("infused_on", f"after the subject {s.status} ({s.status_on})"))
        if row.lot_id is not None and lots_given:
            lot = lots.get(row.lot_id)
            if lot is None:
                problems.append(line.at("lot_id", f"no lot {row.lot_id} in lots.csv"))
            else:
                released = lot.row.released_on
                if released is None or row.infused_on < released:
                    problems.append(line.at("lot_id", f"lot {row.lot_id} was not released by {row.infused_on}"))
                used[row.lot_id] += row.vials or 0
    for subject_id, rows in numbers.items():
        given = sorted(line.row.infusion for line in rows)
        if given != list(range(1, len(given) + 1)):
            problems.append(rows[0].at("infusion", f"subject {subject_id}'s infusions are numbered {given}, "
                                       f"not 1 to {len(given)}"))  # fmt: skip
        ordered = sorted(rows, key=lambda line: line.row.infusion)
        for a, b in itertools.pairwise(ordered):
            if b.row.admitted_on < a.row.infused_on:
                problems.append(b.at("admitted_on", f"before infusion {a.row.infusion} ({a.row.infused_on})"))
    for lot_id, vials in used.items():
        lot: LotRow = lots[lot_id].row
        if lot.vials is not None and vials > lot.vials:
            problems.append(lots[lot_id].at("vials", f"infusions.csv uses {vials} vials of lot {lot_id}, which has "
                                            f"{lot.vials}"))  # fmt: skip


def _check_cohort_sizes(subjects: list[Line], infusions: list[Line], scenario: Scenario, problems: list[str]) -> None:
    """No cohort holds more subjects than its size, its repeats and its replacements allow."""
    given: dict[int, list[dt.date]] = defaultdict(list)
    for line in infusions:
        given[line.row.subject_id].append(line.row.infused_on)
    by_cohort: dict[int, list[Line]] = defaultdict(list)
    for line in subjects:
        by_cohort[line.row.cohort].append(line)
    hold = dt.timedelta(days=scenario.safety.hold_days)

    def not_evaluable(row: SubjectRow, infusions: int) -> bool:
        """Left before the safety hold after their last infusion was complete (as the engine replaces)."""
        if row.status not in ("withdrawn", "died", "lost") or row.status_on is None:
            return False
        days = given[row.subject_id]
        return len(days) < infusions or row.status_on < max(days) + hold

    for cohort, lines in by_cohort.items():
        if cohort > len(scenario.cohorts):
            continue
        spec = scenario.cohorts[cohort - 1]
        left = sum(1 for line in lines if not_evaluable(line.row, spec.infusions))
        allowed = spec.size * (1 + scenario.safety.max_cohort_repeats)
        if scenario.retention.replace_non_evaluable:
            allowed += left
        if len(lines) > allowed:
            problems.append(lines[-1].at("cohort", f"cohort {cohort} has {len(lines)} subjects; its size, repeats and "
                                         f"replacements allow {allowed}"))  # fmt: skip
