"""Released vials and the doses claimed from them, first-expiry-first-out.

A dose request claims whole vials for one infusion. Requests are served strictly in arrival
order from released lots only, earliest expiry first, and never from a lot with fewer than
``min_remaining_shelf_life_days`` left; a request that cannot be served waits (a stock-out when
the subject is ready before it is served). Claimed vials stay with their lot: if the lot expires
before the infusion, those vials expire and the dose is claimed again. Every vial a lot fills ends
as used, wasted (thawed but not infused in time), expired, destroyed (failed lot) or on hand.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import simpy

from ctdild_sim.sim.events import EventName

if TYPE_CHECKING:
    from ctdild_sim.scenario.product import Product
    from ctdild_sim.supply.context import Replicate


@dataclass(eq=False)
class Lot:
    """One manufactured lot and where its vials went."""

    lot_id: int
    ordered_day: float
    lead_time_days: float
    yield_cells: float
    qc_release_days: float
    fails_qc: bool
    initial_stock: bool = False
    started_day: float = math.nan
    filled_day: float = math.nan
    released_day: float = math.nan
    failed_day: float = math.nan
    expiry_day: float = math.nan
    vials: int = 0
    vials_not_filled: int = 0  # whole vials of the yield past the lot size: discarded at fill
    free: int = 0
    reserved: int = 0
    used: int = 0
    wasted: int = 0
    expired: int = 0
    destroyed: int = 0

    @property
    def in_qc(self) -> int:
        """Vials filled but neither released nor destroyed yet."""
        settled = not math.isnan(self.released_day) or not math.isnan(self.failed_day)
        return 0 if settled or math.isnan(self.filled_day) else self.vials

    @property
    def on_hand(self) -> int:
        return self.free + self.reserved + self.in_qc


@dataclass(eq=False)
class DoseRequest:
    """A claim on ``vials`` vials for one infusion of one subject."""

    patient_id: int
    vials: int
    requested_day: float
    served: bool = False
    allocation: list[tuple[Lot, int]] = field(default_factory=list)
    waiter: simpy.Event | None = None  # made only when a subject has to wait for the dose

    def serve(self) -> None:
        self.served = True
        if self.waiter is not None:
            self.waiter.succeed()


class Allocation(NamedTuple):
    """Audit record of one served request: which lots gave vials, and the usable lots after it
    (a named tuple: one is made per served dose)."""

    day: float
    patient_id: int
    taken: tuple[tuple[int, int], ...]  # (lot_id, vials)
    usable_after: tuple[tuple[int, float, int], ...]  # (lot_id, expiry_day, free) of usable lots with free vials


def lots_detail(taken: list[tuple[Lot, int]]) -> str:
    """Which lots gave a dose's vials, as the event log writes it: ``lot 3 x2; lot 4 x1``."""
    return "; ".join(f"lot {lot.lot_id} x{k}" for lot, k in taken)


def parse_lots_detail(detail: str) -> list[tuple[int, int]]:
    """(lot id, vials) pairs of a ``lots_detail`` text, wherever it stands in an event's detail."""
    pairs = []
    for part in detail.split(":")[-1].split(";"):
        words = part.split()
        if len(words) == 3 and words[0] == "lot" and words[2].startswith("x"):
            pairs.append((int(words[1]), int(words[2][1:])))
    return pairs


class LotInventory:
    """Released stock, the queue of unserved dose requests, and the audit of allocations."""

    def __init__(self, trial: Replicate, spec: Product):
        self.trial = trial
        self.log = trial.log  # bound once: read through the Replicate protocol it is a dictionary lookup
        self.env = trial.env
        self.spec = spec
        self.released: list[Lot] = []  # kept in expiry order
        self.waiting: deque[DoseRequest] = deque()
        self._owed = 0  # vials of the waiting requests
        self.audit: list[Allocation] = []
        self.on_change: list[Callable[[], None]] = []
        self.on_release: list[Callable[[Lot], None]] = []
        self.expiring_as_recorded: dict[int, int] = {}  # lot id -> vials the records say expired with it
        self.unrecorded_vials = 0  # vials recorded infusions used that no lot in stock could give

    # -- what is available ---------------------------------------------------------------
    def allocatable(self, at: float | None = None) -> list[Lot]:
        """Released lots with unclaimed vials that may be allocated now (or still on day ``at``),
        in expiry order: at least ``min_remaining_shelf_life_days`` from expiry."""
        day = self.env.now if at is None else at
        shelf = self.spec.min_remaining_shelf_life_days
        return [lot for lot in self.released if lot.free and lot.expiry_day - day >= shelf]

    def free_usable(self, at: float | None = None) -> int:
        """Unclaimed released vials allocatable now (or still allocatable on day ``at``)."""
        return sum(lot.free for lot in self.allocatable(at))

    def owed(self) -> int:
        """Vials claimed by requests still waiting."""
        return self._owed

    # -- requests ------------------------------------------------------------------------
    def request(self, patient_id: int, vials: int) -> DoseRequest:
        req = DoseRequest(patient_id, vials, self.env.now)
        self.waiting.append(req)
        self._owed += vials
        self._serve()
        self.changed()
        return req

    def cancel(self, req: DoseRequest) -> None:
        """The subject no longer needs this dose: give claimed vials back (or let them expire)."""
        if not req.served:
            self.waiting.remove(req)
            self._owed -= req.vials
        for lot, k in req.allocation:
            lot.reserved -= k
            if self.env.now >= lot.expiry_day:
                lot.expired += k
                self._record_expiry(lot, k, "claimed")
            else:
                lot.free += k
        req.allocation = []
        self._serve()
        self.changed()

    def take(self, req: DoseRequest) -> list[tuple[Lot, int]] | None:
        """Hand over a served request's vials for thawing; None if any of them has expired meanwhile
        (the expired vials are written off, the rest returned to stock)."""
        if any(self.env.now >= lot.expiry_day for lot, _ in req.allocation):
            self.cancel(req)
            return None
        taken, req.allocation = req.allocation, []
        for lot, k in taken:
            lot.reserved -= k
            if not lot.free and not lot.reserved:
                self._retire(lot)
        return taken

    def finish(self, taken: list[tuple[Lot, int]], infused: bool) -> None:
        """Thawed vials were infused (used) or not in time (wasted). Stock already counted them
        as gone when they were taken, so the stock policy has nothing new to review."""
        for lot, k in taken:
            if infused:
                lot.used += k
            else:
                lot.wasted += k

    # -- stock movements -----------------------------------------------------------------
    def release(self, lot: Lot) -> None:
        lot.free = lot.vials
        keys = [x.expiry_day for x in self.released]
        self.released.insert(bisect.bisect_right(keys, lot.expiry_day), lot)
        self.env.timeout(max(0.0, lot.expiry_day - self.env.now)).callbacks.append(lambda _: self._expire(lot))
        for callback in self.on_release:
            callback(lot)
        self._serve()
        self.changed()

    def take_recorded(self, patient_id: int, lot: Lot | None, vials: int, infused: bool) -> list[tuple[Lot, int]]:
        """Vials an infusion a trial's records hold thawed, infused or wasted: from ``lot`` as
        recorded, or (no lot recorded) from released stock earliest expiry first, as far as it goes;
        vials no lot in stock could give are counted in ``unrecorded_vials``."""
        if lot is not None:
            taken = [(lot, vials)]
            lot.free = max(0, lot.free - vials)
        else:
            taken, need = [], vials
            for stocked in self.allocatable():
                k = min(stocked.free, need)
                stocked.free -= k
                taken.append((stocked, k))
                need -= k
                if need == 0:
                    break
            self.unrecorded_vials += need
        self.finish(taken, infused)
        for stocked, _ in taken:
            if not stocked.free and not stocked.reserved:
                self._retire(stocked)
        return taken

    def _expire(self, lot: Lot) -> None:
        """The lot's expiry day: its unclaimed vials expire."""
        recorded = self.expiring_as_recorded.pop(lot.lot_id, None)
        if recorded is not None:  # as the records count them
            if recorded:
                self._record_expiry(lot, recorded, "in stock")
            lot.expired += recorded
            lot.free = 0
        elif lot.free:
            self._record_expiry(lot, lot.free, "in stock")
            lot.expired += lot.free
            lot.free = 0
        if not lot.reserved:
            self._retire(lot)
        self._serve()
        self.changed()

    def restock(self, lot: Lot) -> None:
        """A released lot's counts were set anew: in the released list if it has vials, else out."""
        if lot.free or lot.reserved:
            if lot not in self.released:
                keys = [x.expiry_day for x in self.released]
                self.released.insert(bisect.bisect_right(keys, lot.expiry_day), lot)
        else:
            self._retire(lot)

    def _retire(self, lot: Lot) -> None:
        """A lot with no vials left to allocate or give back leaves the released list, which every
        allocation and stock review scans (over a long trial, most lots are spent or expired)."""
        if lot in self.released:
            self.released.remove(lot)

    def close(self) -> None:
        """End of the replicate: claimed vials of expired lots count as expired."""
        for lot in self.released:
            if self.env.now >= lot.expiry_day and lot.reserved:
                self._record_expiry(lot, lot.reserved, "claimed")
                lot.expired += lot.reserved
                lot.reserved = 0

    def _record_expiry(self, lot: Lot, vials: int, where: str) -> None:
        self.log.record(EventName.VIALS_EXPIRED, detail=f"lot {lot.lot_id} ({where})", value=float(vials))

    # -- serving -------------------------------------------------------------------------
    def _serve(self) -> None:
        while self.waiting and self._allocate(self.waiting[0]):
            req = self.waiting.popleft()
            self._owed -= req.vials
            req.serve()

    def _allocate(self, req: DoseRequest) -> bool:
        lots = self.allocatable()
        if sum(lot.free for lot in lots) < req.vials:
            return False
        need = req.vials
        for lot in lots:  # already in expiry order
            k = min(lot.free, need)
            lot.free -= k
            lot.reserved += k
            req.allocation.append((lot, k))
            need -= k
            if need == 0:
                break
        self.audit.append(
            Allocation(
                self.env.now,
                req.patient_id,
                tuple([(lot.lot_id, k) for lot, k in req.allocation]),
                tuple([(lot.lot_id, lot.expiry_day, lot.free) for lot in lots if lot.free]),
            )
        )
        return True

    def changed(self) -> None:
        for callback in self.on_change:
            callback()
