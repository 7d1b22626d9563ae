"""What the supply needs from the replicate it runs in, as protocols: the replicate (``model``'s
``Trial``) and a cohort as it opens satisfy them, so the supply never names the model above it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ctdild_sim.scenario.trial import Cohort, Scenario
    from ctdild_sim.sim.budget import ReplicateBudget
    from ctdild_sim.sim.events import EventLog
    from ctdild_sim.sim.streams import ReplicateStreams
    from ctdild_sim.supply.lot_state import LotRecord


class RecordedInfusion(Protocol):
    """An infusion in a trial's records: the lot its vials came from, and those thawed in vain."""

    @property
    def lot_id(self) -> int | None: ...

    @property
    def discarded(self) -> int: ...


class RecordedSubject(Protocol):
    @property
    def infusions(self) -> tuple[RecordedInfusion, ...]: ...


class LotRecords(Protocol):
    """A trial's records, as far as the supply reads them: its lots (None: none recorded) and the
    subjects' infusions (the vials each lot lost at thaw)."""

    @property
    def lots(self) -> tuple[LotRecord, ...] | None: ...

    @property
    def subjects(self) -> Mapping[int, RecordedSubject]: ...


class Replicate(Protocol):
    """The replicate the supply's components are wired into (read only, so a replicate whose
    attributes are narrower types satisfies it)."""

    @property
    def env(self) -> Any: ...  # a simpy.Environment

    @property
    def log(self) -> EventLog: ...

    @property
    def streams(self) -> ReplicateStreams: ...

    @property
    def budget(self) -> ReplicateBudget: ...

    @property
    def scenario(self) -> Scenario: ...

    @property
    def trace(self) -> LotRecords | None: ...  # a trial's records, in a forecast

    @property
    def restart_day(self) -> float: ...  # where a forecast's records end (0 in a plan)

    @property
    def recording(self) -> bool: ...  # before the restart: the records decide, not the policy


class OpenedCohort(Protocol):
    """A dose cohort as it opens."""

    @property
    def number(self) -> int: ...

    @property
    def spec(self) -> Cohort: ...
