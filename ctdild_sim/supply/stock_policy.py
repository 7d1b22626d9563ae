"""When to start new lots: the stock policies a manufacturing planner compares.

- reorder point: whenever projected available vials drop below the point. The projection looks
  ``lookahead_days`` ahead (by default one mean replenishment lead time, campaign plus QC):
  released unclaimed vials that will still be allocatable then, less vials owed to waiting
  subjects, plus the expected good vials of lots in process; so stock about to expire is replaced
  before it does;
- make to order: when a cohort opens, enough lots for its expected need;
- schedule: on fixed days.

Whatever the policy, with ``order_on_stockout`` a lot is started at once when subjects are owed
more vials than stock and lots in process can be expected to cover, so a replicate never
deadlocks waiting for product nobody is making. While a trial's records drive it, they say which
lots were ordered: the policy starts at the restart.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ctdild_sim.scenario.product import MakeToOrder, ReorderPoint, Schedule
from ctdild_sim.supply.inventory import Lot

if TYPE_CHECKING:
    from ctdild_sim.supply.chain import Supply
    from ctdild_sim.supply.context import OpenedCohort


class StockPolicy:
    """Base: the projection and the stock-out safety net shared by every policy."""

    def __init__(self, supply: Supply, lead_days: float | None = None):
        self.supply = supply
        # how far the projection looks ahead: by default one mean replenishment (campaign plus QC)
        self.lead_days = supply.spec.mean_replenishment_days if lead_days is None else lead_days
        supply.inventory.on_change.append(self.on_stock_change)

    def projected_vials(self) -> float:
        """Vials we can count on one replenishment lead time from now."""
        inv = self.supply.inventory
        available = inv.free_usable(at=self.supply.env.now + self.lead_days)
        return available - inv.owed() + self.supply.manufacturing.expected_in_process()

    def on_stock_change(self) -> None:
        inv = self.supply.inventory
        if self.supply.recording:
            return  # a trial's records say which lots were ordered, up to the restart
        if self.supply.spec.order_on_stockout and inv.waiting and self.projected_vials() < 0:
            self.supply.manufacturing.order("stock-out: subjects owed more than stock and lots in process")

    def on_cohort_opened(self, cohort: OpenedCohort) -> None:
        """Make-to-order hook; other policies ignore cohort openings."""


class ReorderPointPolicy(StockPolicy):
    def __init__(self, supply: Supply, spec: ReorderPoint):
        self.point = spec.reorder_point_vials
        super().__init__(supply, spec.lookahead_days)
        supply.inventory.on_release.append(self._watch)

    def on_stock_change(self) -> None:
        if self.supply.recording:
            return
        while self.projected_vials() < self.point:
            self.supply.manufacturing.order(f"projected vials below reorder point {self.point}")
        super().on_stock_change()

    def _watch(self, lot: Lot) -> None:
        """Review the stock again on the day this lot's vials leave the projection."""
        env = self.supply.env
        leaves = lot.expiry_day - self.supply.spec.min_remaining_shelf_life_days - self.lead_days
        review = env.timeout(max(0.0, leaves - env.now) + 1e-9)  # just past the boundary day
        review.callbacks.append(lambda _: self.on_stock_change())


class MakeToOrderPolicy(StockPolicy):
    def __init__(self, supply: Supply, spec: MakeToOrder):
        self.cover = spec.cover
        super().__init__(supply)

    def on_cohort_opened(self, cohort: OpenedCohort) -> None:
        trial, product = self.supply.trial, self.supply.spec
        if self.supply.recording:
            return
        per_dose = trial.scenario.vials_per_dose(cohort.spec)
        need = self.cover * cohort.spec.size * cohort.spec.infusions * per_dose
        short = need - self.projected_vials()
        for _ in range(max(0, math.ceil(short / product.expected_good_vials_per_lot))):
            self.supply.manufacturing.order(f"make to order for cohort {cohort.number}")


class SchedulePolicy(StockPolicy):
    def __init__(self, supply: Supply, spec: Schedule):
        super().__init__(supply)
        for day in spec.start_days:
            if day >= supply.trial.restart_day:  # before it, a trial's records say what was ordered
                supply.env.process(self._order_on(day))

    def _order_on(self, day: float):
        yield self.supply.env.timeout(day - self.supply.env.now)
        self.supply.manufacturing.order(f"scheduled for day {day:g}")


def make_policy(supply: Supply) -> StockPolicy:
    spec = supply.spec.policy
    if isinstance(spec, ReorderPoint):
        return ReorderPointPolicy(supply, spec)
    if isinstance(spec, MakeToOrder):
        return MakeToOrderPolicy(supply, spec)
    return SchedulePolicy(supply, spec)
