"""Scenario models of the allogeneic AD-MSC product: dose arithmetic, lots, stock policy.

The listing fixes only the dose (1e6 cells/kg per infusion). How the product is made, released,
stored, thawed and replenished is the sponsor's and the manufacturer's choice, so every part of it
is a field here. A scenario without a ``product`` section treats the product as never limiting.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ctdild_sim.scenario.base import Probability, StrictModel
from ctdild_sim.scenario.distributions import Days, ranged

MAX_SHELF_LIFE_DAYS = 36525.0
"""Longest shelf life, stock age or look-ahead: 100 years."""
MAX_VIALS_PER_LOT = 100_000
"""Most vials a lot may yield on average (a GMP campaign fills tens to hundreds)."""
MAX_VIALS_PER_DOSE = 10_000
"""Most vials one infusion may need at the mean body weight."""
MAX_LOTS_IN_STOCK = 1000
"""Most lots' worth of vials a reorder point may ask to hold."""


class FillRange(StrictModel):
    """The lot sizes a campaign may fill: the filling line's validated batch sizes."""

    min_vials: int = Field(ge=1, le=MAX_VIALS_PER_LOT, description="Fewest vials a campaign may fill.")
    max_vials: int = Field(ge=1, le=MAX_VIALS_PER_LOT, description="Most vials a campaign may fill.")

    @model_validator(mode="after")
    def _ordered(self) -> FillRange:
        if self.min_vials > self.max_vials:
            raise ValueError(f"min_vials (={self.min_vials}) must not exceed max_vials (={self.max_vials})")
        return self


class LotSpec(StrictModel):
    """One manufacturing campaign: a donor's lipoaspirate expanded, filled, tested and released."""

    lead_time_days: Days = Field(description="Days from campaign start (a manufacturing slot taken) to fill.")
    yield_cells: ranged(0, 1e13, "cells") = Field(description="Viable cells a campaign yields at fill.")
    qc_release_days: Days = Field(
        description="Days from fill to QC release (sterility, mycoplasma, endotoxin, identity, potency)."
    )
    failure_probability: Probability = Field(
        description="Probability a lot fails QC release and is destroyed (decided at the end of QC)."
    )
    shelf_life_days: float = Field(
        gt=0, le=MAX_SHELF_LIFE_DAYS, description="Cryopreserved shelf life, counted from fill."
    )
    max_parallel_campaigns: int = Field(ge=1, le=1000, description="Campaigns the manufacturing site can run at once.")
    fill_range: FillRange | None = Field(
        default=None,
        description=(
            "Lot sizes the process allows, in vials a campaign fills: the range the lot plan chooses "
            "the lot size in (none: the plan keeps the product's fill_vials)."
        ),
    )


class ReorderPoint(StrictModel):
    """Start a lot whenever projected available vials fall below a reorder point."""

    kind: Literal["reorder_point"] = Field(description="Policy tag.")
    reorder_point_vials: int = Field(
        ge=0,
        le=100_000,
        description=(
            "Start a lot when projected vials fall below this: released unclaimed vials still "
            "allocatable `lookahead_days` from now, minus vials owed to waiting subjects, plus the "
            "expected good vials of lots in process."
        ),
    )
    lookahead_days: float | None = Field(
        default=None,
        ge=0,
        le=MAX_SHELF_LIFE_DAYS,
        description=(
            "How far ahead released vials must stay allocatable to count, so that stock about to "
            "expire is replaced in time; default: the mean campaign lead time plus QC release time."
        ),
    )


class MakeToOrder(StrictModel):
    """Start enough lots for a cohort's expected need when the cohort opens."""

    kind: Literal["make_to_order"] = Field(description="Policy tag.")
    cover: float = Field(
        gt=0,
        le=100,
        description=(
            "Multiple of the cohort's expected vial need (mean weight, planned infusions) to order, "
            "in expected good vials per lot, net of released unreserved stock."
        ),
    )


class Schedule(StrictModel):
    """Start lots on fixed days (a campaign calendar agreed with the manufacturer)."""

    kind: Literal["schedule"] = Field(description="Policy tag.")
    start_days: list[float] = Field(max_length=1000, description="Days since study start on which a lot is ordered.")

    @field_validator("start_days")
    @classmethod
    def _non_negative(cls, v: list[float]) -> list[float]:
        if any(not 0 <= d <= MAX_SHELF_LIFE_DAYS for d in v):
            raise ValueError(f"start days must be between 0 and {MAX_SHELF_LIFE_DAYS:g} (got {v})")
        return sorted(v)


StockPolicy = Annotated[ReorderPoint | MakeToOrder | Schedule, Field(discriminator="kind")]

MAX_COST = 1e9
"""Largest cost per lot, vial, vial-month or day (in the scenario's currency)."""


class Costs(StrictModel):
    """What the product and the trial's time cost, for the cost block (nothing in the simulation
    depends on it). A lot costs ``lot_fixed + per_vial x vials filled``, whether it passes QC or
    not; a vial costs its lot's cost over the lot's vials, so wasted vials carry their share of it."""

    currency: str = Field(
        default="USD",
        min_length=1,
        max_length=8,
        pattern=r"^[A-Za-z$€£¥ ]+$",
        description="Currency code shown with every cost.",
    )
    lot_fixed: float = Field(ge=0, le=MAX_COST, description="Cost of a manufacturing campaign, whatever its yield.")
    per_vial: float = Field(ge=0, le=MAX_COST, description="Cost of each vial filled (fill, QC share, materials).")
    storage_per_vial_month: float = Field(
        ge=0, le=MAX_COST, description="Cost of keeping one released vial in the cryostore for a month."
    )
    delay_per_day: float = Field(
        ge=0,
        le=MAX_COST,
        description=(
            "Cost of each day the last patient's last visit falls after the registered completion "
            "date (running the trial longer)."
        ),
    )


class Product(StrictModel):
    """The cell product: per-kg doses in whole vials, lots, inventory rules and stock policy."""

    vial_cells: float = Field(ge=1e4, le=1e11, description="Viable cells per vial (vial strength).")
    overage_fraction: float = Field(
        ge=0, le=10, description="Extra cells thawed above the prescribed dose, as a fraction of it."
    )
    thaw_to_infusion_hours: ranged(0, 8760, "hours") = Field(
        description="Hours from thawing the vials to starting the infusion."
    )
    thaw_window_hours: float = Field(
        gt=0, le=8760, description="Thawed cells must be infused within this many hours or are wasted."
    )
    lots: LotSpec = Field(description="How lots are made and released.")
    initial_lots: int = Field(ge=0, le=1000, description="Released lots in stock on study start day.")
    initial_stock_age_days: float = Field(
        ge=0, le=MAX_SHELF_LIFE_DAYS, description="Days since fill of the initial lots on study start day."
    )
    min_remaining_shelf_life_days: float = Field(
        ge=0,
        le=MAX_SHELF_LIFE_DAYS,
        description="Vials are not allocated to a dose with fewer days than this left before expiry.",
    )
    reserve_at: Literal["enrolment", "admission"] = Field(
        description=(
            "When a subject's doses are claimed from stock: all of them at enrolment, or each one at its admission."
        )
    )
    on_screen_expiry: Literal["rescreen", "lost"] = Field(
        description=(
            "A subject still waiting for their first dose when their passed screen expires is "
            "rescreened (screening duration again) or lost (non-evaluable; replaced if the "
            "scenario replaces)."
        )
    )
    policy: StockPolicy = Field(description="How new lots are started.")
    fill_vials: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VIALS_PER_LOT,
        description=(
            "The lot size: most vials a campaign fills. Cells past the fill are discarded and counted "
            "(vials_not_filled); a lot costs its fill. Not set: every whole vial the yield gives (the "
            "initial stock, made before the trial, is as its yield filled)."
        ),
    )
    order_on_stockout: bool = Field(
        description=(
            "Start a lot at once when subjects are owed more vials than stock plus lots in process "
            "can be expected to give (under any policy)."
        )
    )
    costs: Costs | None = Field(
        default=None, description="Costs of lots, storage and delay, for the cost block (none: no cost block)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        lots = self.lots
        if lots.failure_probability >= 1:
            raise ValueError("lots.failure_probability must be below 1: no lot would ever be released")
        qc = lots.qc_release_days.mean
        if lots.shelf_life_days <= qc:
            raise ValueError(
                f"lots.shelf_life_days (={lots.shelf_life_days:g}) must exceed the mean QC release time "
                f"(={qc:g} days): lots would expire before they are released"
            )
        if self.min_remaining_shelf_life_days >= lots.shelf_life_days:
            raise ValueError(
                f"min_remaining_shelf_life_days (={self.min_remaining_shelf_life_days:g}) must be less "
                f"than lots.shelf_life_days (={lots.shelf_life_days:g})"
            )
        if self.initial_lots and self.initial_stock_age_days >= lots.shelf_life_days:
            raise ValueError(
                f"initial_stock_age_days (={self.initial_stock_age_days:g}) must be less than "
                f"lots.shelf_life_days (={lots.shelf_life_days:g}): the initial stock would be expired"
            )
        if lots.yield_cells.mean < self.vial_cells:
            raise ValueError(
                f"lots.yield_cells has a mean (={lots.yield_cells.mean:.3g}) below one vial "
                f"(vial_cells={self.vial_cells:.3g})"
            )
        per_lot = lots.yield_cells.mean / self.vial_cells
        if per_lot > MAX_VIALS_PER_LOT:
            raise ValueError(
                f"a lot would fill {per_lot:,.0f} vials on average (lots.yield_cells / vial_cells); at most "
                f"{MAX_VIALS_PER_LOT:,}: is vial_cells (={self.vial_cells:.3g}) the cells of one vial?"
            )
        fill, allowed = self.fill_vials, lots.fill_range
        if fill is not None and allowed is not None and not allowed.min_vials <= fill <= allowed.max_vials:
            raise ValueError(
                f"fill_vials (={fill}) is outside lots.fill_range ({allowed.min_vials} to {allowed.max_vials} vials)"
            )
        policy, good = self.policy, self.expected_good_vials_per_lot
        if isinstance(policy, ReorderPoint) and policy.reorder_point_vials > MAX_LOTS_IN_STOCK * max(1.0, good):
            raise ValueError(
                f"policy.reorder_point_vials (={policy.reorder_point_vials:,}) asks for more than "
                f"{MAX_LOTS_IN_STOCK:,} lots' worth of vials in stock ({good:,.2f} good vials per lot, "
                "after QC failures)"
            )
        return self

    def vials_per_dose(self, weight_kg: float, dose_cells_per_kg: float) -> int:
        """Whole vials to thaw for one infusion: dose plus overage, rounded up."""
        cells = weight_kg * dose_cells_per_kg * (1.0 + self.overage_fraction)
        return max(1, math.ceil(cells / self.vial_cells - 1e-9))  # tolerance: 2.0000000000000004 is 2

    @property
    def expected_good_vials_per_lot(self) -> float:
        """Mean vials a started lot contributes, net of failures: the mean yield over the vial
        strength, or with a lot size ``f``, E[min(f, whole vials of the yield)] = the sum over
        k = 1..f of P(yield >= k vials)."""
        return self.expected_vials_per_lot * (1.0 - self.lots.failure_probability)

    @property
    def expected_vials_per_lot(self) -> float:
        """Mean vials a campaign fills (``expected_good_vials_per_lot`` before QC failures)."""
        if self.fill_vials is None:
            return self.lots.yield_cells.mean / self.vial_cells
        k = np.arange(1, self.fill_vials + 1, dtype=float)
        # 1 - 1e-12: a yield of exactly k vials fills k (the survival function is P(yield > x))
        return float(self.lots.yield_cells.sf(k * self.vial_cells * (1 - 1e-12)).sum())

    def vials_filled(self, cells: float) -> tuple[int, int]:
        """Vials a campaign yielding ``cells`` fills, and the whole vials past the fill discarded."""
        whole = int(cells // self.vial_cells)
        filled = whole if self.fill_vials is None else min(whole, self.fill_vials)
        return filled, whole - filled

    @property
    def mean_replenishment_days(self) -> float:
        """Mean days from ordering a lot to its release: campaign lead time plus QC release time."""
        return self.lots.lead_time_days.mean + self.lots.qc_release_days.mean
