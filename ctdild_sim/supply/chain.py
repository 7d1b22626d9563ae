"""The product supply of one replicate: stock, manufacturing and the stock policy, wired together.

``Supply`` is what the patient journey talks to: it claims a dose, waits for it, hands the
vials over for thawing and says whether the thaw made the infusion window. ``UnlimitedSupply``
stands in when a scenario has no ``product`` section: every dose is there at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctdild_sim.supply.inventory import DoseRequest, Lot, LotInventory
from ctdild_sim.supply.manufacturing import Manufacturing
from ctdild_sim.supply.stock_policy import make_policy

if TYPE_CHECKING:
    from ctdild_sim.scenario.product import Product
    from ctdild_sim.supply.context import OpenedCohort, Replicate


class Supply:
    """Stock, manufacturing and policy for one replicate."""

    limited = True

    def __init__(self, trial: Replicate, spec: Product):
        """A trial's records with lots (``trial.trace.lots``) give its lots as recorded; without
        them, the scenario's initial stock is in stock on day 0."""
        self.trial = trial
        self.env = trial.env
        self.restart_day = trial.restart_day
        self.spec = spec
        self.rng = trial.streams.thaw
        self.inventory = LotInventory(trial, spec)
        self.manufacturing = Manufacturing(trial, spec, self.inventory)
        self.policy = make_policy(self)
        recorded = trial.trace.lots if trial.trace is not None else None
        if recorded is None:
            for _ in range(spec.initial_lots):
                self.manufacturing.stock_initial_lot()
        else:
            self.manufacturing.replay(recorded)
        self.inventory.changed()

    @property
    def recording(self) -> bool:
        """Before the restart day a trial's records say which lots were ordered (the replicate's
        ``recording``, read here from the supply's own attributes: read through the ``Replicate``
        protocol on every stock change, it cost a compiled forecast replicate 8% more instructions)."""
        return self.env.now < self.restart_day

    @property
    def lots(self) -> list[Lot]:
        return self.manufacturing.lots

    @property
    def reserve_at_enrolment(self) -> bool:
        return self.spec.reserve_at == "enrolment"

    def vials_per_dose(self, weight_kg: float, dose_cells_per_kg: float | None) -> int:
        assert dose_cells_per_kg is not None, "a scenario with a product doses every cohort per kg (validated)"
        return self.spec.vials_per_dose(weight_kg, dose_cells_per_kg)

    def request(self, patient_id: int, vials: int) -> DoseRequest:
        return self.inventory.request(patient_id, vials)

    def cancel(self, req: DoseRequest) -> None:
        self.inventory.cancel(req)

    def take(self, req: DoseRequest) -> list[tuple[Lot, int]] | None:
        return self.inventory.take(req)

    def take_recorded(self, patient_id: int, lot_id: int | None, vials: int, infused: bool) -> list[tuple[Lot, int]]:
        """Vials an infusion the records hold thawed (``infused`` or wasted): from its recorded lot, or
        earliest expiry first."""
        lot = self.manufacturing.lot(lot_id) if lot_id is not None else None
        return self.inventory.take_recorded(patient_id, lot, vials, infused)

    def reconcile(self) -> None:
        """At the restart: each recorded lot's vials as the records count them."""
        self.manufacturing.reconcile()

    def take_over(self) -> None:
        """The restart: the lots as recorded, then the stock policy reviews the stock."""
        self.reconcile()
        self.inventory.changed()

    def thaw_in_time(self) -> bool:
        """Draw the thaw-to-infusion time; True when it is inside the window."""
        return self.spec.thaw_to_infusion_hours.sample(self.rng) <= self.spec.thaw_window_hours

    def finish(self, taken: list[tuple[Lot, int]], infused: bool) -> None:
        self.inventory.finish(taken, infused)

    def on_cohort_opened(self, cohort: OpenedCohort) -> None:
        self.policy.on_cohort_opened(cohort)

    def close(self) -> None:
        self.inventory.close()


class UnlimitedSupply:
    """No product constraint: every request is served at once, every thaw is in time."""

    limited = False
    reserve_at_enrolment = False

    def __init__(self, trial: Replicate):
        self.env = trial.env
        self.lots: list[Lot] = []

    def vials_per_dose(self, weight_kg: float, dose_cells_per_kg: float | None) -> int:
        return 0

    def request(self, patient_id: int, vials: int) -> DoseRequest:
        return DoseRequest(patient_id, vials, self.env.now, served=True)

    def cancel(self, req: DoseRequest) -> None:
        pass

    def take(self, req: DoseRequest) -> list[tuple[Lot, int]]:
        return []

    def take_recorded(self, patient_id: int, lot_id: int | None, vials: int, infused: bool) -> list[tuple[Lot, int]]:
        return []

    def reconcile(self) -> None:
        pass

    def take_over(self) -> None:
        pass

    def thaw_in_time(self) -> bool:
        return True

    def finish(self, taken: list[tuple[Lot, int]], infused: bool) -> None:
        pass

    def on_cohort_opened(self, cohort: OpenedCohort) -> None:
        pass

    def close(self) -> None:
        pass
