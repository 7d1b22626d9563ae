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
from ctdild_sim.supply.lot_state import LotState

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.scenario.product import Product


class Manufacturing:
    """Orders lots and runs them through campaign slots and QC."""

    def __init__(self, trial: Trial, spec: Product, inventory: LotInventory):
        self.trial = trial
        self.env = trial.env
        self.spec = spec
        self.inventory = inventory
        self.rng = trial.streams.manufacturing
        self.campaigns = simpy.Resource(self.env, capacity=spec.lots.max_parallel_campaigns)
        self.lots: list[Lot] = []
        self._unfilled = 0  # lots ordered, not yet filled
        self._filled_in_qc_vials = 0  # vials of filled lots awaiting their QC result
        self._last_id = 0
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
        lot.vials = int(cells // self.spec.vial_cells)
        self.lots.append(lot)
        return lot

    def stock_initial_lot(self) -> Lot:
        """A lot already released on study start day (filled ``initial_stock_age_days`` earlier)."""
        lot = self._draw_lot()
        lot.fails_qc = False
        lot.initial_stock = True
        lot.filled_day = lot.started_day = -self.spec.initial_stock_age_days
        lot.released_day = 0.0
        lot.expiry_day = lot.filled_day + self.spec.lots.shelf_life_days
        self.trial.log.record(EventName.LOT_RELEASED, detail=f"lot {lot.lot_id} (initial stock)",
                              value=float(lot.vials))  # fmt: skip
        self.inventory.release(lot)
        return lot

    def order(self, reason: str) -> Lot:
        lot = self._draw_lot()
        self.trial.log.record(EventName.LOT_ORDERED, detail=f"lot {lot.lot_id}: {reason}")
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
        self.trial.log.record(EventName.LOT_STARTED, detail=f"lot {lot.lot_id}")
        yield from self._campaign(lot, slot, lot.lead_time_days)

    def _campaign(self, lot: Lot, slot: simpy.resources.resource.Request, days: float):
        """The campaign's remaining ``days`` in its slot, then fill and QC."""
        yield self.env.timeout(days)
        self.campaigns.release(slot)
        lot.filled_day = self.env.now
        lot.expiry_day = lot.filled_day + self.spec.lots.shelf_life_days
        self._unfilled -= 1
        self._filled_in_qc_vials += lot.vials
        self.trial.log.record(EventName.LOT_FILLED, detail=f"lot {lot.lot_id}", value=float(lot.vials))
        yield from self._qc(lot, lot.qc_release_days)

    def _qc(self, lot: Lot, days: float):
        """QC's remaining ``days``, then release or destruction."""
        log = self.trial.log
        yield self.env.timeout(days)
        self._filled_in_qc_vials -= lot.vials
        if lot.fails_qc:
            lot.failed_day = self.env.now
            lot.destroyed = lot.vials
            log.record(EventName.LOT_FAILED, detail=f"lot {lot.lot_id}", value=float(lot.vials))
            self.inventory.changed()
        else:
            lot.released_day = self.env.now
            log.record(EventName.LOT_RELEASED, detail=f"lot {lot.lot_id}", value=float(lot.vials))
            self.inventory.release(lot)

    def restore(self, states: tuple[LotState, ...]) -> None:
        """Take up the lots a trial's records list at the restart: released stock goes into the
        inventory, failed lots stay destroyed, a lot in QC or in its campaign continues for the
        rest of that step (drawn conditioned on the time it has already taken), and ordered lots
        wait for a campaign slot. What is not yet known (a yield, a QC result) is drawn."""
        spec, now = self.spec.lots, self.env.now
        in_campaign, queued = [], []
        for state in sorted(states, key=lambda s: s.lot_id):
            lot = self._draw_lot(state.lot_id, state.ordered_day)
            lot.initial_stock = state.initial_stock
            for name in ("started_day", "filled_day", "released_day", "failed_day", "expiry_day"):
                setattr(lot, name, getattr(state, name))
            if state.vials is not None:
                lot.vials = state.vials
            if math.isnan(lot.expiry_day) and not math.isnan(lot.filled_day):  # not recorded: the fill plus shelf life
                lot.expiry_day = lot.filled_day + spec.shelf_life_days
            lot.used, lot.wasted, lot.expired = state.used, state.wasted, state.expired
            if not math.isnan(state.failed_day):
                lot.destroyed = lot.vials
            elif not math.isnan(state.released_day):
                lot.free = state.free
                self.inventory.restore_released(lot)
            elif not math.isnan(state.filled_day):
                self._filled_in_qc_vials += lot.vials
                self.env.process(self._qc(lot, spec.qc_release_days.remaining(self.rng, now - state.filled_day)))
            elif not math.isnan(state.started_day):
                in_campaign.append(lot)
            else:
                queued.append(lot)
        for lot in in_campaign:  # they hold their slots before queued lots ask for one
            self._unfilled += 1
            slot = self.campaigns.request()
            remaining = spec.lead_time_days.remaining(self.rng, now - lot.started_day)
            self.env.process(self._campaign_after(lot, slot, remaining))
        for lot in sorted(queued, key=lambda lot: (lot.ordered_day, lot.lot_id)):
            self._unfilled += 1
            self.env.process(self._make(lot))

    def _campaign_after(self, lot: Lot, slot: simpy.resources.resource.Request, days: float):
        yield slot
        yield from self._campaign(lot, slot, days)

    def expected_in_process(self) -> float:
        """Good vials expected from lots ordered but not yet released or failed."""
        return self._unfilled * self._good_vials_per_lot + self._p_good * self._filled_in_qc_vials
