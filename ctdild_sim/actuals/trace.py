"""From a trial's checked records to the trace that drives the engine (``model.trace.Trace``).

A translation, not a model: dates become days since the study's start, rows are grouped by the
component that reads them (sites, candidates and their screenings, subjects with their infusions
and AEs, reviews, lots), and the format's defaults are filled in (a rescreen starts when the passed
screen before it expired). What follows from the records by the protocol (holds, gates,
replacements) is the engine's to work out, as in any plan.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from ctdild_sim.actuals.reader import Actuals, Line
from ctdild_sim.actuals.rows import InfusionRow, LotRow, ReviewRow, ScreeningRow, SubjectRow
from ctdild_sim.model.trace import (
    AdverseEventRecord,
    CandidateRecord,
    InfusionRecord,
    LotRecord,
    ReviewRecord,
    ScreeningRecord,
    SubjectRecord,
    Trace,
)
from ctdild_sim.scenario.trial import Scenario


def trace_of(actuals: Actuals, scenario: Scenario) -> Trace:
    """The trace of ``actuals``: the records up to their as-of date, the restart the day after."""
    start = scenario.start_date

    def day(date: dt.date | None) -> float | None:
        return None if date is None else float((date - start).days)

    return Trace(
        restart_day=day(actuals.as_of) + 1,
        activated={row.site: day(row.activated_on) for row in actuals.rows("sites.csv") if row.activated_on},
        referrals=_referrals(actuals, scenario, day),
        subjects=_subjects(actuals, day),
        reviews=tuple(_review(line, day) for line in _by_opening(actuals.tables.get("reviews.csv", []))),
        lots=tuple(_lot(row, day) for row in actuals.rows("lots.csv")) if actuals.has("lots.csv") else None,
        last_day=_last_day(actuals, day),
    )


def _by_opening(lines: list[Line]) -> list[Line]:
    return sorted(lines, key=lambda line: line.row.opened_on)


def _last_day(actuals: Actuals, day) -> float:
    """The last day anything was recorded (an expiry, known in advance, aside)."""
    dates = [
        value
        for lines in actuals.tables.values()
        for line in lines
        for column, value in line.row
        if isinstance(value, dt.date) and column != "expires_on"
    ]
    return day(max(dates)) if dates else 0.0


def _referrals(actuals: Actuals, scenario: Scenario, day) -> dict[str, tuple[CandidateRecord, ...]]:
    window = math.ceil(scenario.screening.window_days)  # records count the window in whole days
    by_candidate: dict[int, list[ScreeningRow]] = defaultdict(list)
    for row in actuals.rows("screening.csv"):
        by_candidate[row.candidate_id].append(row)
    by_site: dict[str, list[CandidateRecord]] = defaultdict(list)
    for candidate_id, rows in by_candidate.items():
        rows.sort(key=lambda r: r.screening_started_on or r.referred_on)
        screenings, started = [], day(rows[0].referred_on)
        for row in rows:
            if row.screening_started_on is not None:
                started = day(row.screening_started_on)
            screenings.append(
                ScreeningRecord(started, day(row.screened_on), row.outcome, row.criteria, day(row.enrolled_on))
            )
            if row.screened_on is not None:
                started = day(row.screened_on) + window  # a rescreen's default start: the screen expired
        first = rows[0]
        by_site[first.site].append(CandidateRecord(candidate_id, first.site, day(first.referred_on), tuple(screenings)))
    return {site: tuple(sorted(cs, key=lambda c: (c.referred_day, c.candidate_id))) for site, cs in by_site.items()}


def _subjects(actuals: Actuals, day) -> dict[int, SubjectRecord]:
    infusions: dict[int, list[Line]] = defaultdict(list)
    for line in actuals.tables.get("infusions.csv", []):
        infusions[line.row.subject_id].append(line)
    events: dict[int, list[Line]] = defaultdict(list)
    for line in actuals.tables.get("adverse_events.csv", []):
        events[line.row.subject_id].append(line)
    out = {}
    for line in actuals.tables.get("subjects.csv", []):
        row: SubjectRow = line.row
        out[row.subject_id] = SubjectRecord(
            candidate_id=row.subject_id,
            cohort=row.cohort - 1,
            enrolled_day=day(row.enrolled_on),
            body_weight_kg=row.body_weight_kg,
            status=row.status,
            status_day=day(row.status_on),
            infusions=tuple(_infusion(i, day) for i in sorted(infusions[row.subject_id], key=lambda i: i.row.infusion)),
            adverse_events=tuple(
                AdverseEventRecord(day(a.row.onset_on), a.row.name, a.row.triggers_review, a.source)
                for a in sorted(events[row.subject_id], key=lambda a: a.row.onset_on)
            ),
            source=line.source,
        )
    return out


def _infusion(line: Line, day) -> InfusionRecord:
    i: InfusionRow = line.row
    return InfusionRecord(
        day(i.admitted_on), day(i.infused_on), day(i.discharged_on), i.lot_id, i.vials, i.vials_discarded, line.source
    )


def _review(line: Line, day) -> ReviewRecord:
    row: ReviewRow = line.row
    return ReviewRecord(day(row.opened_on), day(row.closed_on), row.outcome, row.subject_id, line.source)


def _lot(row: LotRow, day) -> LotRecord:
    return LotRecord(
        lot_id=row.lot_id,
        initial_stock=row.initial_stock,
        ordered_day=day(row.ordered_on),
        started_day=day(row.started_on),
        filled_day=day(row.filled_on),
        released_day=day(row.released_on),
        failed_day=day(row.failed_on),
        expiry_day=day(row.expires_on),
        vials=row.vials,
        used=row.vials_used,
        discarded=row.vials_discarded,
        expired=row.vials_expired,
    )
