"""Manufacturing campaigns: a lot is ordered, waits for a campaign slot, is expanded and filled,
then tested; it is released to stock or destroyed.

Each lot's lead time, yield, QC time and QC outcome are drawn when it is ordered, in a fixed
order, so lot *n* is the same lot in two scenarios that share a product (common random numbers).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.sim.events import EventName
from ctdild_sim.supply.inventory import Lot, LotInventory

if TYPE_CHECKING:
    from ctdild_sim.scenario.product import Product
    from ctdild_sim.supply.context import Replicate
    from ctdild_sim.supply.lot_state import LotRecord


class Manufacturing:
    """Orders lots and runs them through campaign slots and QC."""

    def __init__(self, trial: Replicate, spec: Product, inventory: LotInventory):
        self.trial = trial
        self.log = trial.log  # bound once: read through the Replicate protocol it is a dictionary lookup
        self.env = trial.env
        self.spec = spec
        self.inventory = inventory
        self.rng = trial.streams.manufacturing
        self.campaigns = simpy.Resource(self.env, capacity=spec.lots.max_parallel_campaigns)
        self.lots: list[Lot] = []
        self._unfilled = 0  # lots ordered, not yet filled
        self._filled_in_qc_vials = 0  # vials of filled lots awaiting their QC result
        self._last_id = 0
        self._recorded: dict[int, LotRecord] = {}
        self._dated_discards: dict[int, int] = {}  # lot id -> vials the records' infusions say were discarded
        # read by every stock review: computed once, not through the product's properties each time
        self._good_vials_per_lot = spec.expected_good_vials_per_lot
        self._p_good = 1.0 - spec.lots.failure_probability

    def _draw_lot(self, lot_id: int | None = None, ordered_day: float | None = None) -> Lot:
        budget = self.trial.budget
        if len(self.lots) >= budget.lots:
            raise budget.lots_exceeded()
        lots = self.spec.lots
        lead = lots.lead_time_days.sample(self.rng)
        cells = lots.yield_cells.sample(self.rng)
        qc = lots.qc_release_days.sample(self.rng)
        fails = bool(self.rng.random() < lots.failure_probability)
        lot_id = self._last_id + 1 if lot_id is None else lot_id
        self._last_id = max(self._last_id, lot_id)
        lot = Lot(lot_id, self.env.now if ordered_day is None else ordered_day, lead, cells, qc, fails)
        lot.vials, lot.vials_not_filled = self.spec.vials_filled(cells)
        self.lots.append(lot)
        return lot

    def stock_initial_lot(self) -> Lot:
        """A lot already released on study start day (filled ``initial_stock_age_days`` earlier).
        Under a trial's records without lots (``trial.trace``), of the mean yield: nothing drawn
        happens before the restart."""
        lot = self._draw_lot()
        # made before the trial: as many vials as its yield gave, whatever the lot size now
        lot.vials, lot.vials_not_filled = int(lot.yield_cells // self.spec.vial_cells), 0
        if self.trial.trace is not None:
            lot.vials = int(self.spec.lots.yield_cells.mean // self.spec.vial_cells)
        lot.fails_qc = False
        lot.initial_stock = True
        lot.filled_day = lot.started_day = -self.spec.initial_stock_age_days
        lot.released_day = 0.0
        lot.expiry_day = lot.filled_day + self.spec.lots.shelf_life_days
        self.log.record(EventName.LOT_RELEASED, detail=f"lot {lot.lot_id} (initial stock)", value=float(lot.vials))
        self.inventory.release(lot)
        return lot

    def order(self, reason: str) -> Lot:
        lot = self._draw_lot()
        self.log.record(EventName.LOT_ORDERED, detail=f"lot {lot.lot_id}: {reason}")
        self._unfilled += 1
        self.env.process(self._make(lot))
        return lot

    def _make(self, lot: Lot):
        # Not ``with request() as slot``: when a replicate is abandoned (Ctrl-C, a budget) the
        # generators of queued lots are closed, and each ``with`` would then cancel its request
        # with a linear search of the queue: minutes for thousands of queued lots.
        slot = self.campaigns.request()
        yield slot
        lot.started_day = self.env.now
        self.log.record(EventName.LOT_STARTED, detail=f"lot {lot.lot_id}")
        yield from self._campaign(lot, slot, lot.lead_time_days)

    def _campaign(self, lot: Lot, slot: simpy.resources.resource.Request, days: float):
        """The campaign's remaining ``days`` in its slot, then fill and QC."""
        yield self.env.timeout(days)
        self._fill(lot, slot)
        yield from self._qc(lot, lot.qc_release_days)

    def _fill(
        self,
        lot: Lot,
        slot: simpy.resources.resource.Request,
        vials: int | None = None,
        expiry_day: float | None = None,
    ) -> None:
        """The lot is filled now (``vials`` and ``expiry_day``: as recorded) and goes to QC."""
        if slot.triggered:
            self.campaigns.release(slot)
        else:  # a recorded campaign beyond max_parallel_campaigns: it never got a slot
            slot.cancel()
        lot.filled_day = self.env.now
        lot.expiry_day = lot.filled_day + self.spec.lots.shelf_life_days if expiry_day is None else expiry_day
        if vials is not None:
            lot.vials, lot.vials_not_filled = vials, 0
        self._unfilled -= 1
        self._filled_in_qc_vials += lot.vials
        self.log.record(EventName.LOT_FILLED, detail=f"lot {lot.lot_id}", value=float(lot.vials))

    def _qc(self, lot: Lot, days: float):
        """QC's remaining ``days``, then release or destruction."""
        yield self.env.timeout(days)
        self._qc_result(lot, lot.fails_qc)

    def _qc_result(self, lot: Lot, fails: bool) -> None:
        log = self.log
        self._filled_in_qc_vials -= lot.vials
        if fails:
            lot.failed_day = self.env.now
            lot.destroyed = lot.vials
            log.record(EventName.LOT_FAILED, detail=f"lot {lot.lot_id}", value=float(lot.vials))
            self.inventory.changed()
        else:
            lot.released_day = self.env.now
            log.record(EventName.LOT_RELEASED, detail=f"lot {lot.lot_id}", value=float(lot.vials))
            self.inventory.release(lot)

    # -- a trial's records ---------------------------------------------------------------------

    def replay(self, records: tuple[LotRecord, ...]) -> None:
        """The lots a trial's records hold, each through the steps it took on its recorded days.
        A lot still waiting for a campaign slot, in its campaign or in QC at the restart takes up
        there: what is left of the step drawn conditioned on the time it has taken, and what is not
        yet known (its yield, its QC result) drawn. Its parameters are drawn at its order, in lot
        order, as for any lot."""
        self._recorded = {r.lot_id: r for r in records}
        trace = self.trial.trace
        for subject in trace.subjects.values() if trace is not None else ():
            for infusion in subject.infusions:
                if infusion.discarded and infusion.lot_id is not None:
                    self._dated_discards[infusion.lot_id] = (
                        self._dated_discards.get(infusion.lot_id, 0) + infusion.discarded
                    )
        for record in sorted(records, key=lambda r: r.lot_id):
            if record.initial_stock:
                self._stock_recorded_initial_lot(record)
            else:
                self.env.process(self._recorded_lot(record))

    def _stock_recorded_initial_lot(self, record: LotRecord) -> None:
        lot = self._draw_lot(record.lot_id, 0.0)
        lot.fails_qc, lot.initial_stock = False, True
        filled = record.filled_day if record.filled_day is not None else -self.spec.initial_stock_age_days
        lot.filled_day = lot.started_day = filled
        lot.released_day = 0.0
        lot.expiry_day = record.expiry_day if record.expiry_day is not None else filled + self.spec.lots.shelf_life_days
        if record.vials is not None:
            lot.vials, lot.vials_not_filled = record.vials, 0
        self.log.record(EventName.LOT_RELEASED, detail=f"lot {lot.lot_id} (initial stock)", value=float(lot.vials))
        self._release_recorded(lot, record)

    def _release_recorded(self, lot: Lot, record: LotRecord) -> None:
        """Into stock, less the vials the records say were thawed and discarded without saying for
        which infusion (they carry no date); an expiry before the restart is counted as the records
        count it, when it comes."""
        if record.expired is not None and record.expiry_day is not None and record.expiry_day < self.trial.restart_day:
            self.inventory.expiring_as_recorded[lot.lot_id] = record.expired
        self.inventory.release(lot)
        undated = record.discarded - self._dated_discards.get(lot.lot_id, 0)
        wasted = min(lot.free, max(0, undated))
        lot.free -= wasted
        lot.wasted += wasted

    def _recorded_lot(self, record: LotRecord):
        """simpy process: a recorded lot from its order on."""
        env, trial, spec = self.env, self.trial, self.spec.lots
        assert record.ordered_day is not None, "a made lot has an order day (actuals check)"
        yield env.timeout(max(0.0, record.ordered_day - env.now))
        lot = self._draw_lot(record.lot_id, record.ordered_day)
        trial.log.record(EventName.LOT_ORDERED, detail=f"lot {lot.lot_id}: as recorded")
        self._unfilled += 1
        if record.started_day is None:  # waiting for a campaign slot at the restart
            yield env.timeout(max(0.0, trial.restart_day - env.now))
            yield from self._make(lot)
            return
        yield env.timeout(max(0.0, record.started_day - env.now))
        slot = self.campaigns.request()  # the records say it started: it has a slot, or has none to wait for
        lot.started_day = env.now
        trial.log.record(EventName.LOT_STARTED, detail=f"lot {lot.lot_id}")
        if record.filled_day is None:  # in its campaign at the restart
            yield env.timeout(max(0.0, trial.restart_day - env.now))
            yield from self._campaign(lot, slot, spec.lead_time_days.remaining(self.rng, env.now - lot.started_day))
            return
        yield env.timeout(max(0.0, record.filled_day - env.now))
        self._fill(lot, slot, record.vials, record.expiry_day)
        done = record.released_day if record.released_day is not None else record.failed_day
        if done is None:  # in QC at the restart
            yield env.timeout(max(0.0, trial.restart_day - env.now))
            yield from self._qc(lot, spec.qc_release_days.remaining(self.rng, env.now - lot.filled_day))
            return
        yield env.timeout(max(0.0, done - env.now))
        if record.failed_day is not None:
            self._qc_result(lot, fails=True)
        else:
            self._filled_in_qc_vials -= lot.vials
            lot.released_day = env.now
            trial.log.record(EventName.LOT_RELEASED, detail=f"lot {lot.lot_id}", value=float(lot.vials))
            self._release_recorded(lot, record)

    def lot(self, lot_id: int) -> Lot | None:
        """A lot by its id (the records name the lot an infusion came from)."""
        return next((lot for lot in self.lots if lot.lot_id == lot_id), None)

    def reconcile(self) -> None:
        """At the restart, each recorded lot's vials as the records count them (an infusion that
        names no lot took its vials earliest expiry first, which need not be the records' lot). A
        lot that expired before the restart lost what was left (unless the records count its
        expired vials)."""
        now = self.env.now
        for lot in self.lots:
            record = self._recorded.get(lot.lot_id)
            if record is None or math.isnan(lot.released_day):
                continue
            lot.used, lot.wasted = record.used, record.discarded
            left = max(0, lot.vials - lot.used - lot.wasted)
            if lot.expiry_day < now:
                lot.expired = record.expired if record.expired is not None else left
                lot.free = 0
            else:
                lot.expired = record.expired or 0
                lot.free = max(0, left - lot.expired)
            self.inventory.restock(lot)

    def expected_in_process(self) -> float:
        """Good vials expected from lots ordered but not yet released or failed."""
        return self._unfilled * self._good_vials_per_lot + self._p_good * self._filled_in_qc_vials
