"""A trial's records as they stood on an earlier date: what a backtest forecasts from.

Nothing dated after the cut survives it: a row whose first day is later is dropped, and a later
step of a row that began before is undone (a decision, a discharge, a status, a lot's fill or
release, a review's close). A lot a later infusion drew on counts what the infusions kept say it
gave (a cut refuses records whose later infusions do not say which lot, or how many vials: the
counts as they stood cannot be rebuilt). SDTM datasets are cut before they are mapped
(``cut_sdtm``), so the records of a backtest read only what was recorded by its date
(``tests/test_backtest.py`` poisons every later row to show it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pandas as pd

from ctdild_sim.actuals.reader import sdtm_source
from ctdild_sim.actuals.sdtm_files import Domain, SdtmDatasets
from ctdild_sim.actuals.sdtm_map import map_sdtm, rows_as_csv, screening_visit
from ctdild_sim.actuals.sources import ActualsError, RecordBook, RecordFiles, Source, read_source
from ctdild_sim.scenario.base import unquoted
from ctdild_sim.scenario.trial import Scenario

Tables = dict[str, list[dict[str, str]]]
"""Records tables by file name, each row a column -> text cell mapping."""


def records_as_of(source: Source | SdtmDatasets, scenario: Scenario, cut: dt.date) -> RecordFiles:
    """The records of ``source`` (records, or SDTM datasets mapped to them, perhaps read already)
    as they stood at the end of ``cut``; held in memory, to be read and checked as any records are.
    SDTM is cut before it is mapped (``cut_sdtm``), so that no choice the mapping makes reads a
    later row."""
    return _cut(source, scenario, cut)[0]


def cut_with_count(
    source: Source | SdtmDatasets, scenario: Scenario, cut: dt.date
) -> tuple[RecordFiles, int, list[str]]:
    """``records_as_of``, how many of the records' rows the cut left out or undid in part, and (for
    SDTM) what the mapping of the cut datasets says."""
    datasets = sdtm_source(source)  # read once, for the cut and for the whole
    files, kept, notes = _cut(datasets or source, scenario, cut)
    whole = _tables(map_sdtm(datasets, scenario).record_files() if datasets is not None else source)
    before = {name: {tuple(sorted(r.items())) for r in rows} for name, rows in whole.items()}
    after = {name: {tuple(sorted(r.items())) for r in rows} for name, rows in kept.items()}
    changed = sum(len(rows - after.get(name, set())) for name, rows in before.items())
    return files, changed, notes


def _cut(source: Source | SdtmDatasets, scenario: Scenario, cut: dt.date) -> tuple[RecordFiles, Tables, list[str]]:
    """The cut records' files and tables, and the cut SDTM's mapping notes."""
    datasets = sdtm_source(source)
    mapped = map_sdtm(cut_sdtm(datasets, cut), scenario) if datasets is not None else None
    cut_source = mapped.record_files() if mapped is not None else source
    tables, origin = _tables(cut_source), _origin(cut_source)
    kept = cut_records(tables, cut)
    files = {name: rows_as_csv(name, rows) for name, rows in kept.items() if rows}
    return RecordFiles(origin, files), kept, mapped.warnings() if mapped is not None else []


def _tables(source: Source) -> Tables:
    raw = read_source(source)
    if raw.problems:
        raise ActualsError(raw.problems)
    return {
        name: [dict(zip(table.header, map(unquoted, cells), strict=False)) for _, cells in table.rows]
        for name, table in raw.tables.items()
    }


def _origin(source: Source) -> Path:
    """Where records come from, as their messages name it."""
    if isinstance(source, RecordFiles | RecordBook):
        return source.origin
    return Path(source)


SDTM_DATES = {"ds": "DSSTDTC", "ex": "EXSTDTC", "ae": "AESTDTC", "sv": "SVSTDTC", "ie": "IEDTC"}
"""The date that places a row of each domain in time (DM's subjects are placed by their referral)."""


def cut_sdtm(datasets: SdtmDatasets, cut: dt.date) -> SdtmDatasets:
    """The SDTM as it stood at the end of ``cut``: a row whose date is later dropped, any later
    date blanked, a subject not yet referred (no consent, screening visit or DM date by then) left
    out of DM, and the arm of one decided later blanked (it says whether they failed screening).
    A row whose date is partial or missing is kept (the mapping lists it)."""
    decided_later = _decided_later(datasets, cut)
    domains = {}
    for name, domain in datasets.domains.items():
        rows = domain.rows
        if name in SDTM_DATES and SDTM_DATES[name] in rows.columns:
            rows = rows[[not _sdtm_after(v, cut) for v in rows[SDTM_DATES[name]]]]
        rows = rows.copy()
        for column in [c for c in rows.columns if c.endswith("DTC")]:
            rows[column] = pd.Series(
                [None if _sdtm_after(v, cut) else v for v in rows[column]], index=rows.index, dtype=object
            )
        domains[name] = Domain(name, domain.where, rows)
    dm, sv = domains["dm"].rows, domains.get("sv")
    screened = set(sv.column("USUBJID").dropna()) if sv is not None else set()
    referred = [
        r.get("USUBJID") in screened or isinstance(r.get("RFICDTC"), str) or isinstance(r.get("DMDTC"), str)
        for r in dm.to_dict("records")
    ]
    dm = dm[referred].copy()
    later = dm["USUBJID"].isin(decided_later) if "USUBJID" in dm else pd.Series(False, index=dm.index)
    for column in [c for c in ARM_VARIABLES if c in dm.columns]:
        dm.loc[later, column] = None  # the arm (or the failure) was not known before the decision
    domains["dm"] = Domain("dm", domains["dm"].where, dm)
    return SdtmDatasets(datasets.origin, domains, datasets.lots)


ARM_VARIABLES = ("ARM", "ARMCD", "ACTARM", "ACTARMCD")
"""DM's variables that say a subject's arm, or that they failed screening: undated, known from the decision."""
DECISIONS = ("SCREEN FAILURE", "RANDOMIZED")


def _decided_later(datasets: SdtmDatasets, cut: dt.date) -> set[str]:
    """Subjects whose screening decision came after ``cut``: randomised after it (DM.RFSTDTC), with
    a DS screen failure or randomisation record after it (or dated only to the cut's month or
    year), or screened after it (a failure DM's arm alone shows is dated by the last screening
    visit, as the mapping dates it)."""
    later: set[str] = set()
    dm = datasets.domains["dm"]
    for usubjid, start in zip(dm.column("USUBJID"), dm.column("RFSTDTC"), strict=True):
        if _sdtm_after(start, cut, partial_is_later=True):
            later.add(usubjid)
    ds = datasets.domains.get("ds")
    if ds is not None:
        terms = [str(t or "").strip().upper() for t in ds.column("DSDECOD")]
        for usubjid, term, day in zip(ds.column("USUBJID"), terms, ds.column("DSSTDTC"), strict=True):
            if term in DECISIONS and _sdtm_after(day, cut, partial_is_later=True):
                later.add(usubjid)
    sv = datasets.domains.get("sv")
    if sv is not None:
        for usubjid, epoch, visit, day in zip(
            sv.column("USUBJID"), sv.column("EPOCH"), sv.column("VISIT"), sv.column("SVSTDTC"), strict=True
        ):
            if screening_visit(epoch, visit) and _sdtm_after(day, cut):
                later.add(usubjid)
    return later


def _sdtm_after(value: object, cut: dt.date, partial_is_later: bool = False) -> bool:
    """Whether an SDTM date (ISO 8601, perhaps with a time) is after ``cut``; a partial date is
    after it when its year (or month) is, or (``partial_is_later``) when it may be."""
    if not isinstance(value, str) or len(value) < 4 or not value[:4].isdigit():
        return False
    try:
        if len(value) >= 10 and value[4] == "-" and value[7] == "-":
            return dt.date.fromisoformat(value[:10]) > cut
        if len(value) >= 7 and value[4] == "-":
            month = (int(value[:4]), int(value[5:7]))
            return month >= (cut.year, cut.month) if partial_is_later else month > (cut.year, cut.month)
        return int(value[:4]) >= cut.year if partial_is_later else int(value[:4]) > cut.year
    except ValueError:
        return False


def _day(text: str | None) -> dt.date | None:
    """A cell's date; None when empty or not a date (the checks will name a bad one)."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def cut_records(tables: Tables, cut: dt.date) -> Tables:
    """Every table as it stood at the end of ``cut`` (see the module)."""

    def after(row: dict[str, str], column: str) -> bool:
        day = _day(row.get(column))
        return day is not None and day > cut

    def blank(row: dict[str, str], *names: str) -> None:
        for name in names:
            if name in row:
                row[name] = ""

    out: Tables = {}
    later: set[str] = set()  # lots an infusion after the cut drew on
    unknown: list[int] = []  # later infusions that name no lot or no vials (rows of the file)
    for name, rows in tables.items():
        kept = []
        for number, original in enumerate(rows, start=2):
            row = dict(original)
            if _keep(name, row, after, blank):
                kept.append(row)
            elif name == "infusions.csv":
                lot = (row.get("lot_id") or "").strip()
                later.add(lot)
                if not lot or not (row.get("vials") or "").strip():
                    unknown.append(number)
        out[name] = kept
    if "lots.csv" in out:
        if unknown:
            raise ActualsError(
                [
                    f"infusions.csv:{unknown[0]}: an infusion after {cut} names no lot or no vials "
                    f"({len(unknown)} such rows): the lots' counts as they stood on {cut} cannot be rebuilt; "
                    "give each infusion its lot_id and vials, or leave lots.csv out"
                ]
            )
        _lot_counts(out["lots.csv"], out.get("infusions.csv", []), later, cut)
    return out


def _keep(name: str, row: dict[str, str], after, blank) -> bool:
    """Whether a row had begun by the cut; what happened to it later undone (in place)."""
    if name == "sites.csv":
        if after(row, "activated_on"):
            blank(row, "activated_on")
    elif name == "screening.csv":
        if after(row, "referred_on") or after(row, "screening_started_on"):
            return False
        if after(row, "screened_on"):
            blank(row, "screened_on", "outcome", "failed_criteria", "enrolled_on")
        elif after(row, "enrolled_on"):
            blank(row, "enrolled_on")
    elif name == "subjects.csv":
        if after(row, "enrolled_on"):
            return False
        if after(row, "status_on"):
            row["status"] = "ongoing"
            blank(row, "status_on", "status_reason")
    elif name == "infusions.csv":
        if after(row, "admitted_on") or after(row, "infused_on"):
            return False  # an admission not yet infused has no row of its own
        if after(row, "discharged_on"):
            blank(row, "discharged_on")
    elif name == "adverse_events.csv":
        return not after(row, "onset_on")
    elif name == "reviews.csv":
        if after(row, "opened_on"):
            return False
        if after(row, "closed_on"):
            blank(row, "closed_on", "outcome")
    elif name == "lots.csv":
        if after(row, "ordered_on") or (not row.get("ordered_on") and after(row, "started_on")):
            return False
        for step in ("started_on", "filled_on", "released_on", "failed_on"):
            if after(row, step):
                blank(row, step, *_LATER_STEPS[step])
    return True


_LATER_STEPS = {
    "started_on": ("filled_on", "released_on", "failed_on", "expires_on", "vials"),
    "filled_on": ("released_on", "failed_on", "expires_on", "vials"),
    "released_on": (),
    "failed_on": (),
}
"""What a lot step undone takes with it (an expiry and a vial count come with the fill)."""


def _lot_counts(lots: list[dict[str, str]], infusions: list[dict[str, str]], later: set[str], cut: dt.date) -> None:
    """A lot's counts as they stood: a lot an infusion after the cut drew on counts what the kept
    infusions took from it (each names its lot and vials, or the cut was refused); a lot not
    expired by the cut has no expired vials yet; a lot not filled by then has no counts."""
    used: dict[str, int] = defaultdict(int)
    discarded: dict[str, int] = defaultdict(int)
    for row in infusions:
        lot = (row.get("lot_id") or "").strip()
        if lot:
            used[lot] += _count(row.get("vials"))
            discarded[lot] += _count(row.get("vials_discarded"))
    for row in lots:
        lot = (row.get("lot_id") or "").strip()
        if not row.get("vials"):
            for name in ("vials_used", "vials_discarded", "vials_expired"):
                if name in row:
                    row[name] = ""
            continue
        if lot in later:
            row["vials_used"] = str(used.get(lot, 0))
            row["vials_discarded"] = str(discarded.get(lot, 0))
        expiry = _day(row.get("expires_on"))
        if (row.get("vials_expired") or "").strip() and (expiry is None or expiry > cut):
            row["vials_expired"] = "0"  # none expired yet (an empty cell is the default: the same)


def _count(text: str | None) -> int:
    try:
        return int(text) if text else 0
    except ValueError:
        return 0
