"""The event log: what happened to whom, and when, in one replicate.

The log is the engine's only output; metrics are pure functions of it. Rows are plain tuples
(cheap to append) and become the documented event table:

    replicate, day, date, site, patient_id, cohort, event, detail, value

``day`` is days since study start (the simulation's time unit); ``date`` is derived from the
scenario start date when the table is built; ``patient_id`` is the candidate number (None for
trial-level events); ``cohort`` is 1-based; ``value`` carries the number an event is about
(cells infused, days waited) so nothing has to be parsed back out of ``detail``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import NamedTuple


class EventName(StrEnum):
    """Every event the engine records; the strings are part of the output contract."""

    SITE_ACTIVATED = "site_activated"
    REFERRED = "referred"
    SCREEN_PASSED = "screen_passed"
    SCREEN_FAILED = "screen_failed"
    SCREEN_EXPIRED = "screen_expired"
    CANDIDATE_LOST = "candidate_lost"
    RECRUITMENT_CLOSED = "recruitment_closed"
    RECRUITMENT_REOPENED = "recruitment_reopened"
    COHORT_OPENED = "cohort_opened"
    ENROLLED = "enrolled"
    COHORT_ENROLLED = "cohort_enrolled"
    ADMITTED = "admitted"
    INFUSED = "infused"
    DISCHARGED = "discharged"
    ADVERSE_EVENT = "adverse_event"
    REVIEW_OPENED = "review_opened"
    PAUSE_STARTED = "pause_started"
    REVIEW_COMPLETED = "review_completed"
    PAUSE_ENDED = "pause_ended"
    COHORT_REPEATED = "cohort_repeated"
    HOLD_COMPLETED = "hold_completed"
    GATE_PASSED = "gate_passed"
    VISIT = "visit"
    WITHDRAWN = "withdrawn"
    DIED = "died"
    REPLACEMENT_ADDED = "replacement_added"
    FOLLOW_UP_COMPLETED = "follow_up_completed"
    LOT_ORDERED = "lot_ordered"
    LOT_STARTED = "lot_started"
    LOT_FILLED = "lot_filled"
    LOT_RELEASED = "lot_released"
    LOT_FAILED = "lot_failed"
    VIALS_EXPIRED = "vials_expired"
    PRODUCT_WAIT_STARTED = "product_wait_started"
    PRODUCT_WAIT_ENDED = "product_wait_ended"
    BED_WAIT_ENDED = "bed_wait_ended"  # only when a subject waited for a bed; value: days waited
    VIALS_THAWED = "vials_thawed"
    VIALS_WASTED = "vials_wasted"
    LOST = "lost"
    TRIAL_STOPPED = "trial_stopped"
    TRIAL_COMPLETED = "trial_completed"
    HORIZON_REACHED = "horizon_reached"


class Event(NamedTuple):
    """One row of the event log (without replicate and date, added when tables are built)."""

    day: float
    site: str | None
    patient_id: int | None
    cohort: int | None
    event: str
    detail: str
    value: float


_new_row = tuple.__new__


class EventLog:
    """Append-only list of events, stamped with the simulation clock; ``on_full`` is called with
    how often each event occurred (and must return the exception to raise) when the log reaches
    ``limit`` rows: the replicate's budget. ``counts`` is None: count the rows."""

    counts: dict[str, int] | None = None

    def __init__(
        self, env, limit: int = 10**9, on_full: Callable[[Mapping[str, int]], Exception] | None = None
    ) -> None:
        self.env = env
        self.rows: list[Event] = []
        self.limit = limit
        self.on_full = on_full

    def record(
        self,
        event: EventName,
        *,
        site: str | None = None,
        patient_id: int | None = None,
        cohort: int | None = None,
        detail: str = "",
        value: float = float("nan"),
    ) -> None:
        name = event._value_
        if self._admit(name):
            # tuple.__new__ builds the row without the Python-level __new__ of a named tuple
            row = (float(self.env.now), site, patient_id, cohort, name, detail, value)
            self.rows.append(_new_row(Event, row))

    def _admit(self, name: str) -> bool:
        """Whether an event of kind ``name`` gets a row (every one here), once the budget allows it."""
        if len(self.rows) >= self.limit and self.on_full is not None:
            raise self.on_full(Counter(row.event for row in self.rows))
        return True


class LeanEventLog(EventLog):
    """A log that counts every event but keeps the rows of ``keep`` kinds only: what a replicate
    whose records are not kept needs (its metrics, demand series and progress read those kinds,
    and only count the rest). Its metrics are the full log's, byte for byte (tested)."""

    def __init__(
        self,
        env,
        keep: frozenset[str],
        limit: int = 10**9,
        on_full: Callable[[Mapping[str, int]], Exception] | None = None,
    ) -> None:
        super().__init__(env, limit, on_full)
        self.keep = keep
        self._tally: dict[str, int] = {}
        self.counts = self._tally  # the same dict, typed as never None here
        self.total = 0

    def _admit(self, name: str) -> bool:
        """Count the event; only the kept kinds get a row. The budget counts every event."""
        counts = self._tally
        if self.total >= self.limit and self.on_full is not None:
            raise self.on_full(counts)
        self.total += 1
        counts[name] = counts.get(name, 0) + 1
        return name in self.keep
