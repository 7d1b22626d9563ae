"""The records' rules: the tables checked against each other and against the scenario.

Each row was checked on its own (``rows``: types, ranges, the order of its dates, which cells go
together). Here every record is checked against what the records around it say, so that what the
engine is given could have happened: dates between the study's start (or the initial stock's fill)
and the as-of date, known sites, criteria, AE kinds and lots, no duplicate ids, sites active before
their referrals, a candidate's screenings in a possible order (a rescreen after a passed screen, at
any point; a subject's own while they wait for their first dose), enrolment within the screen's
window, infusions numbered within the cohort's count and none before enrolment, after the subject
left or from a lot not released or expired, a subject completed only with every infusion given and
the safety hold over, no AE after death, reviews opened by the AE or death of their day, nothing
after a review stopped the trial, no lot giving more vials than it had, no cohort fuller than its
size, repeats and replacements allow.

What the protocol forbids but a real trial may still have done (a subject enrolled before the gate
passed) is not refused here: the engine keeps it and reports it as a protocol deviation.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter, defaultdict

from ctdild_sim.actuals.lines import Actuals, Line
from ctdild_sim.actuals.rows import AdverseEventRow, InfusionRow, LotRow, ReviewRow, ScreeningRow, SubjectRow
from ctdild_sim.actuals.sources import hint
from ctdild_sim.model.eligibility import CRITERION_NAMES
from ctdild_sim.scenario.trial import Scenario

INITIAL_STOCK_YEARS = 10
"""How long before the study's start an initial-stock lot may have been made."""
LEFT = ("withdrawn", "died", "lost")


def check(actuals: Actuals, scenario: Scenario, problems: list[str]) -> None:
    """Every problem of the tables, against each other and the scenario, into ``problems``."""
    tables = actuals.tables
    _dates(actuals, scenario, problems)
    screenings = _screening(tables.get("screening.csv", []), scenario, actuals.as_of, problems)
    _sites(tables.get("sites.csv", []), screenings, scenario, problems)
    subjects = _subjects(tables.get("subjects.csv", []), screenings, scenario, problems)
    lots = {line.row.lot_id: line for line in tables.get("lots.csv", [])}
    _unique(tables.get("lots.csv", []), lambda r: r.lot_id, "lot_id", problems)
    infusions = _infusions(tables.get("infusions.csv", []), subjects, lots, actuals.has("lots.csv"), scenario, problems)
    _completions(subjects, infusions, screenings, scenario, problems)
    _adverse_events(tables.get("adverse_events.csv", []), tables.get("reviews.csv", []), subjects, scenario, problems)
    _reviews(tables.get("reviews.csv", []), tables.get("adverse_events.csv", []), subjects, problems)
    _lots(tables.get("lots.csv", []), actuals.as_of, scenario, problems)
    _after_a_stop(actuals, problems)
    _cohort_sizes(tables.get("subjects.csv", []), tables.get("infusions.csv", []), scenario, problems)


def _dates(actuals: Actuals, scenario: Scenario, problems: list[str]) -> None:
    """No date after the as-of date (but an expiry day), none before the study's start (but an
    initial-stock lot's campaign, fill and release, within ``INITIAL_STOCK_YEARS``, and an expiry after the
    fill)."""
    start, as_of = scenario.start_date, actuals.as_of
    earliest = start - dt.timedelta(days=round(365.25 * INITIAL_STOCK_YEARS))
    for lines in actuals.tables.values():
        for line in lines:
            initial = isinstance(line.row, LotRow) and line.row.initial_stock
            for column, value in line.row:
                if not isinstance(value, dt.date) or column == "expires_on":
                    continue
                if value > as_of:
                    problems.append(line.at(column, f"{value} is after the as-of date {as_of}"))
                elif value < start and not (initial and column in ("started_on", "filled_on", "released_on")):
                    problems.append(line.at(column, f"{value} is before the study's start {start}"))
                elif value < earliest:
                    problems.append(
                        line.at(
                            column, f"{value} is more than {INITIAL_STOCK_YEARS} years before the study's start {start}"
                        )
                    )


def _unique(lines: list[Line], key, column: str, problems: list[str]) -> None:
    seen: dict = {}
    for line in lines:
        k = key(line.row)
        if k in seen:
            problems.append(line.at(column, f"{k} is listed again (first on line {seen[k].number})"))
        else:
            seen[k] = line


def _criteria(line: Line, by_criteria: bool, problems: list[str]) -> None:
    """A failed screening's criteria: known names, each once (a cell's problems stated once each).
    Under a pass probability no criterion is modelled: any names are kept as recorded."""
    named = Counter(line.row.criteria)
    unknown = [c for c in named if c not in CRITERION_NAMES] if by_criteria else []
    if unknown:
        shown = ", ".join(repr(c[:40]) for c in unknown[:3]) + (
            f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        )
        problems.append(
            line.at(
                "failed_criteria",
                f"unknown criteri{'a' if len(unknown) > 1 else 'on'} {shown}{hint(unknown[0], list(CRITERION_NAMES))}",
            )
        )
    repeated = [c for c, n in named.items() if n > 1]
    if repeated:
        problems.append(
            line.at(
                "failed_criteria",
                f"{repeated[0][:40]!r} is named {named[repeated[0]]:,} times; name each criterion once",
            )
        )


def _window(scenario: Scenario) -> int:
    """Days a passed screen is valid, as records count them (whole days)."""
    return math.ceil(scenario.screening.window_days)


def started(line: Line, before: Line | None, window: int) -> dt.date:
    """The day a screening started: as recorded, else its referral (a first screening) or the day
    the passed screen before it expired (a rescreen)."""
    row = line.row
    if row.screening_started_on is not None:
        return row.screening_started_on
    if before is None or before.row.screened_on is None:
        return row.referred_on
    return before.row.screened_on + dt.timedelta(days=window)


def _screening(lines: list[Line], scenario: Scenario, as_of: dt.date, problems: list[str]) -> dict[int, list[Line]]:
    """Each candidate's screenings in order: known site and criteria, one referral, a possible
    sequence (a rescreen only after a passed screen, started after its decision and before its own;
    after the enrolling one, the subject's own while they wait for their first dose, passed or under
    way), enrolment within the window."""
    sites, window = scenario.site_names, _window(scenario)
    by_candidate: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        row: ScreeningRow = line.row
        if row.site not in sites:
            problems.append(line.at("site", f"unknown site {row.site!r}{hint(row.site, sites)}"))
        _criteria(line, scenario.screened_by_criteria, problems)
        if (
            row.enrolled_on is not None
            and row.screened_on is not None
            and (row.enrolled_on - row.screened_on).days > window
        ):
            expired = row.screened_on + dt.timedelta(days=window)
            problems.append(
                line.at(
                    "enrolled_on",
                    f"{row.enrolled_on} is after the passed screen expired ({expired}: "
                    f"screened_on plus screening.window_days)",
                )
            )
        by_candidate[row.candidate_id].append(line)
    for candidate, rows in by_candidate.items():
        rows.sort(key=lambda line: (line.row.screening_started_on or line.row.referred_on, line.number))
        first = rows[0].row
        enrolled = False
        for earlier, line in itertools.pairwise(rows):
            row, before = line.row, earlier.row
            if row.referred_on != first.referred_on or row.site != first.site:
                problems.append(
                    line.at(
                        "referred_on",
                        f"candidate {candidate} was referred once: on "
                        f"{first.referred_on} from {first.site} (line {rows[0].number})",
                    )
                )
            enrolled = enrolled or before.enrolled_on is not None
            if before.outcome != "passed":
                why = "still under way" if before.outcome is None else f"{before.outcome} there"
                problems.append(
                    line.at(
                        "candidate_id",
                        f"candidate {candidate} is screened again after a screening "
                        f"{why} (line {earlier.number}): only a passed screen is redone",
                    )
                )
            elif (
                row.screening_started_on is not None
                and before.screened_on is not None
                and row.screening_started_on < before.screened_on
            ):
                problems.append(
                    line.at(
                        "screening_started_on",
                        f"{row.screening_started_on} is before the "
                        f"decision of the screening it redoes (line {earlier.number}: "
                        f"{before.screened_on})",
                    )
                )
            elif row.screening_started_on is None:
                start = started(line, earlier, window)
                later = (
                    "its own decision"
                    if row.screened_on is not None and start > row.screened_on
                    else "the as-of date"
                    if start > as_of
                    else None
                )
                if later is not None:
                    problems.append(
                        line.at(
                            "screening_started_on",
                            f"empty, so the rescreen started when the screen "
                            f"passed on {before.screened_on} expired ({start}), after {later}: give "
                            "the day it started",
                        )
                    )
            if enrolled:
                if row.enrolled_on is not None:
                    problems.append(
                        line.at(
                            "enrolled_on",
                            f"candidate {candidate} was enrolled already (line "
                            f"{earlier.number}): a subject is enrolled once",
                        )
                    )
                elif row.outcome not in (None, "passed"):
                    problems.append(
                        line.at(
                            "outcome",
                            f"a subject's rescreen while waiting for their first dose "
                            f"passes or is under way (got {row.outcome}); a subject who left has "
                            "their status in subjects.csv",
                        )
                    )
    return by_candidate


def _sites(lines: list[Line], screenings: dict[int, list[Line]], scenario: Scenario, problems: list[str]) -> None:
    """Known, listed once, and active on or before the site's first referral."""
    sites = scenario.site_names
    first: dict[str, Line] = {}
    for rows in screenings.values():
        line = rows[0]
        known = first.get(line.row.site)
        if known is None or line.row.referred_on < known.row.referred_on:
            first[line.row.site] = line
    for line in lines:
        if line.row.site not in sites:
            problems.append(line.at("site", f"unknown site {line.row.site!r}{hint(line.row.site, sites)}"))
        referral = first.get(line.row.site)
        if (
            line.row.activated_on is not None
            and referral is not None
            and line.row.activated_on > referral.row.referred_on
        ):
            problems.append(
                line.at(
                    "activated_on",
                    f"{line.row.activated_on} is after the site's first referral "
                    f"({referral.where}:{referral.number}: {referral.row.referred_on})",
                )
            )
    _unique(lines, lambda r: r.site, "site", problems)


def _subjects(
    lines: list[Line], screenings: dict[int, list[Line]], scenario: Scenario, problems: list[str]
) -> dict[int, Line]:
    _unique(lines, lambda r: r.subject_id, "subject_id", problems)
    subjects: dict[int, Line] = {}
    for line in lines:
        row: SubjectRow = line.row
        subjects.setdefault(row.subject_id, line)
        if row.cohort > len(scenario.cohorts):
            problems.append(line.at("cohort", f"cohort {row.cohort}: the scenario has {len(scenario.cohorts)}"))
        enrolment = [s for s in screenings.get(row.subject_id, []) if s.row.enrolled_on is not None]
        if not enrolment:
            problems.append(
                line.at(
                    "subject_id",
                    f"no passed screening of candidate {row.subject_id} in screening.csv leads to this enrolment",
                )
            )
        elif enrolment[0].row.enrolled_on != row.enrolled_on:
            problems.append(
                line.at("enrolled_on", f"screening.csv line {enrolment[0].number} says {enrolment[0].row.enrolled_on}")
            )
    for candidate, rows in screenings.items():
        for line in rows:
            if line.row.enrolled_on is not None and candidate not in subjects:
                problems.append(
                    line.at("enrolled_on", f"candidate {candidate} is enrolled, but subjects.csv has no such subject")
                )
    return subjects


def _infusions(
    lines: list[Line],
    subjects: dict[int, Line],
    lots: dict[int, Line],
    lots_given: bool,
    scenario: Scenario,
    problems: list[str],
) -> dict[int, list[Line]]:
    """Each subject's infusions: numbered 1, 2, ... within the cohort's count, one admission at a
    time, none before enrolment or after the subject left, each from a released lot in date."""
    _unique(lines, lambda r: (r.subject_id, r.infusion), "infusion", problems)
    numbers: dict[int, list[Line]] = defaultdict(list)
    used: Counter[int] = Counter()
    discarded: Counter[int] = Counter()
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
            problems.append(
                line.at("admitted_on", f"{row.admitted_on} is before the subject's enrolment ({s.enrolled_on})")
            )
        if s.status_on is not None:
            for column in ("admitted_on", "infused_on", "discharged_on"):
                day = getattr(row, column)
                if day is not None and day > s.status_on:
                    problems.append(line.at(column, f"{day} is after the subject {s.status} ({s.status_on})"))
            if s.status == "completed" and row.discharged_on is None:
                problems.append(
                    line.at("discharged_on", f"empty (still in hospital), but the subject completed on {s.status_on}")
                )
        if row.lot_id is not None and lots_given:
            lot = lots.get(row.lot_id)
            if lot is None:
                problems.append(line.at("lot_id", f"no lot {row.lot_id} in lots.csv"))
            else:
                released, expires = lot.row.released_on, lot.row.expires_on
                if released is None and lot.row.initial_stock:  # in stock on the start day
                    released = scenario.start_date
                if released is None or row.infused_on < released:
                    problems.append(line.at("lot_id", f"lot {row.lot_id} was not released by {row.infused_on}"))
                elif expires is not None and row.infused_on > expires:
                    problems.append(
                        line.at(
                            "lot_id", f"lot {row.lot_id} expired on {expires}, before the infusion on {row.infused_on}"
                        )
                    )
                used[row.lot_id] += row.vials or 0
                discarded[row.lot_id] += row.vials_discarded
    for subject_id, rows in numbers.items():
        given = sorted(line.row.infusion for line in rows)
        if given != list(range(1, len(given) + 1)):
            problems.append(
                rows[0].at("infusion", f"subject {subject_id}'s infusions are numbered {given}, not 1 to {len(given)}")
            )
        ordered = sorted(rows, key=lambda line: line.row.infusion)
        for a, b in itertools.pairwise(ordered):
            if a.row.discharged_on is None:
                problems.append(
                    b.at(
                        "admitted_on",
                        f"infusion {a.row.infusion} (line {a.number}) has no discharge: "
                        "a subject still in hospital is not admitted again",
                    )
                )
            elif b.row.admitted_on < a.row.discharged_on:
                problems.append(
                    b.at(
                        "admitted_on",
                        f"{b.row.admitted_on} is before the discharge after infusion "
                        f"{a.row.infusion} ({a.row.discharged_on})",
                    )
                )
    for lot_id in used.keys() | discarded.keys():
        lot: LotRow = lots[lot_id].row
        for k, total, column in (
            (used[lot_id], lot.vials_used, "vials_used"),
            (discarded[lot_id], lot.vials_discarded, "vials_discarded"),
        ):
            if k > total:
                problems.append(
                    lots[lot_id].at(column, f"infusions.csv takes {k} vials from lot {lot_id}; {column} says {total}")
                )
        if lot.vials is not None and used[lot_id] + discarded[lot_id] > lot.vials:
            problems.append(
                lots[lot_id].at(
                    "vials",
                    f"infusions.csv uses {used[lot_id] + discarded[lot_id]} vials of "
                    f"lot {lot_id}, which has {lot.vials}",
                )
            )
    return numbers


def _completions(
    subjects: dict[int, Line],
    infusions: dict[int, list[Line]],
    screenings: dict[int, list[Line]],
    scenario: Scenario,
    problems: list[str],
) -> None:
    """A subject completed only with every infusion of their cohort given and the safety hold after
    the last one over; a subject's rescreens while waiting for the first dose came before it."""
    hold = scenario.safety.hold_days
    for subject_id, line in subjects.items():
        row: SubjectRow = line.row
        given = sorted((i.row for i in infusions.get(subject_id, [])), key=lambda r: r.infusion)
        if row.status == "completed" and row.cohort <= len(scenario.cohorts):
            planned = scenario.cohorts[row.cohort - 1].infusions
            if len(given) < planned:
                problems.append(
                    line.at("status", f"completed with {len(given)} of the {planned} infusions of cohort {row.cohort}")
                )
            elif row.status_on is not None:
                held = given[-1].infused_on + dt.timedelta(days=math.ceil(hold))
                if row.status_on < held:
                    problems.append(
                        line.at(
                            "status_on",
                            f"{row.status_on}: completed before the safety hold after the last infusion ended ({held})",
                        )
                    )
        rows = screenings.get(subject_id, [])
        enrolling = next((k for k, s in enumerate(rows) if s.row.enrolled_on is not None), None)
        if given and enrolling is not None:
            window = _window(scenario)
            for k in range(enrolling + 1, len(rows)):
                if started(rows[k], rows[k - 1], window) >= given[0].admitted_on:
                    problems.append(
                        rows[k].at(
                            "screening_started_on",
                            f"a rescreen of subject {subject_id} after "
                            f"their first admission ({given[0].admitted_on}): only a subject "
                            "waiting for their first dose is rescreened",
                        )
                    )


def _adverse_events(
    lines: list[Line], reviews: list[Line], subjects: dict[int, Line], scenario: Scenario, problems: list[str]
) -> None:
    """A known kind, of a subject, between their enrolment and their death; one that opened a
    review has that review in reviews.csv (the subject's, opened that day)."""
    kinds = [ae.name for ae in scenario.safety.adverse_events]
    opened = {(line.row.subject_id, line.row.opened_on) for line in reviews}
    for line in lines:
        row: AdverseEventRow = line.row
        if row.name not in kinds:
            problems.append(line.at("name", f"unknown AE kind {row.name!r}{hint(row.name, kinds)}"))
        subject = subjects.get(row.subject_id)
        if subject is None:
            problems.append(line.at("subject_id", f"no subject {row.subject_id} in subjects.csv"))
            continue
        s: SubjectRow = subject.row
        if row.onset_on < s.enrolled_on:
            problems.append(line.at("onset_on", f"{row.onset_on} is before the subject's enrolment ({s.enrolled_on})"))
        if s.status == "died" and s.status_on is not None and row.onset_on > s.status_on:
            problems.append(line.at("onset_on", f"{row.onset_on} is after the subject died ({s.status_on})"))
        if row.triggers_review and (row.subject_id, row.onset_on) not in opened:
            problems.append(
                line.at(
                    "triggers_review",
                    f"true, but reviews.csv has no review of subject {row.subject_id} opened on {row.onset_on}",
                )
            )


def _reviews(lines: list[Line], events: list[Line], subjects: dict[int, Line], problems: list[str]) -> None:
    """A review of a subject was opened by their triggering AE or their death, that day."""
    triggers = {(line.row.subject_id, line.row.onset_on) for line in events if line.row.triggers_review}
    for line in lines:
        row: ReviewRow = line.row
        if row.subject_id is None:
            continue
        subject = subjects.get(row.subject_id)
        if subject is None:
            problems.append(line.at("subject_id", f"no subject {row.subject_id} in subjects.csv"))
            continue
        s: SubjectRow = subject.row
        died = s.status == "died" and s.status_on == row.opened_on
        if (row.subject_id, row.opened_on) not in triggers and not died:
            problems.append(
                line.at(
                    "opened_on",
                    f"no AE of subject {row.subject_id} that triggers a review "
                    f"(adverse_events.csv), nor their death, on {row.opened_on}",
                )
            )


def _lots(lines: list[Line], as_of: dt.date, scenario: Scenario, problems: list[str]) -> None:
    """An initial-stock lot is in stock, released and unexpired, on the study's start day; a lot
    counts vials as expired only once it has expired."""
    start = scenario.start_date
    for line in lines:
        row: LotRow = line.row
        if row.initial_stock:
            if row.expires_on is None:
                problems.append(line.at("expires_on", "an initial-stock lot has an expiry day"))
            elif row.expires_on <= start:
                problems.append(
                    line.at(
                        "expires_on",
                        f"{row.expires_on}: an initial-stock lot is in stock, unexpired, "
                        f"on the study's start day ({start})",
                    )
                )
            if row.released_on is not None and row.released_on > start:
                problems.append(
                    line.at(
                        "released_on",
                        f"{row.released_on}: an initial-stock lot was released by the study's start ({start})",
                    )
                )
            if row.failed_on is not None:
                problems.append(line.at("failed_on", "an initial-stock lot passed QC before the study"))
            if row.vials is None:
                problems.append(line.at("vials", "an initial-stock lot has its vials"))
        elif row.expires_on is not None and row.filled_on is None:
            problems.append(line.at("expires_on", "given for a lot not filled (filled_on is empty)"))
        if row.vials_expired and row.expires_on is not None and row.expires_on > as_of:
            problems.append(
                line.at(
                    "vials_expired",
                    f"{row.vials_expired}, but the lot expires on {row.expires_on}, after the as-of date",
                )
            )


def _after_a_stop(actuals: Actuals, problems: list[str]) -> None:
    """A trial a safety review stopped ends there, as the engine's trials do: no record is dated
    after the stop (an expiry day aside, being known in advance)."""
    stops = [line for line in actuals.tables.get("reviews.csv", []) if line.row.outcome == "stop"]
    if not stops:
        return
    stop = min(stops, key=lambda line: line.row.closed_on)
    day = stop.row.closed_on
    for lines in actuals.tables.values():
        for line in lines:
            for column, value in line.row:
                if isinstance(value, dt.date) and column != "expires_on" and value > day:
                    problems.append(
                        line.at(
                            column,
                            f"{value} is after the safety review that stopped the trial on "
                            f"{day} ({stop.where}:{stop.number}): a stopped trial's records end "
                            "there",
                        )
                    )


def _cohort_sizes(subjects: list[Line], infusions: list[Line], scenario: Scenario, problems: list[str]) -> None:
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
        if row.status not in LEFT or row.status_on is None:
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
            problems.append(
                lines[-1].at(
                    "cohort",
                    f"cohort {cohort} has {len(lines)} subjects; its size, repeats and replacements allow {allowed}",
                )
            )
