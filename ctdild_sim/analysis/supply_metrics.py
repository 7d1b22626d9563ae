"""Product supply records of a replicate: the lot table, the weekly series and the supply metrics.

All pure functions of a replicate's lots, patients and events. Vial conservation holds in every
replicate: filled = used + wasted + expired + destroyed + on hand (``on hand`` counts released
vials, claimed or not, and vials still in QC).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from ctdild_sim.model.engine import ReplicateResult
from ctdild_sim.scenario.product import Product
from ctdild_sim.sim.events import EventName as E
from ctdild_sim.supply.inventory import Lot

# fmt: off
LOT_COLUMNS = [
    "replicate", "lot_id", "initial_stock", "ordered_day", "started_day", "filled_day", "released_day",
    "failed_day", "expiry_day", "yield_cells", "vials", "vials_not_filled", "vials_used", "vials_wasted",
    "vials_expired", "vials_destroyed", "vials_on_hand",
]
# fmt: on

# fmt: off
WEEKLY_COLUMNS = [
    "replicate", "week", "week_start_day", "vials_thawed", "vials_used", "vials_wasted", "cells_infused",
    "vials_released", "vials_expired", "vials_in_stock",
]
# fmt: on


def supply_metrics(result: ReplicateResult, product: Product | None, counts: Counter[str]) -> dict[str, float | int]:
    """Supply metrics of one replicate (zeros when the scenario has no product section); ``counts``
    is how often each event occurs in the replicate's log (``replicate_metrics`` has it already)."""
    lots = result.lots
    vial_cells = product.vial_cells if product else math.nan
    filled = sum(lot.vials for lot in lots if not math.isnan(lot.filled_day))
    used = sum(lot.used for lot in lots)
    return {
        "lots_ordered": counts[E.LOT_ORDERED],
        "lots_started": counts[E.LOT_STARTED],
        "lots_failed": counts[E.LOT_FAILED],
        "lots_released": counts[E.LOT_RELEASED],
        "lots_initial": sum(1 for lot in lots if lot.initial_stock),
        "lots_consumed": sum(1 for lot in lots if lot.used > 0),
        "vials_filled": filled,
        "vials_not_filled": sum(lot.vials_not_filled for lot in lots),
        "lots_made": len(lots),
        "vials_made": sum(lot.vials for lot in lots),
        "lot_shares_wasted": lot_shares_wasted(lots),
        "vials_used": used,
        "vials_wasted": sum(lot.wasted for lot in lots),
        "vials_expired": sum(lot.expired for lot in lots),
        "vials_destroyed": sum(lot.destroyed for lot in lots),
        "vials_on_hand": sum(lot.on_hand for lot in lots),
        "cells_filled": filled * vial_cells if product else 0.0,
        "cells_in_vials_used": used * vial_cells if product else 0.0,
        "vial_days_in_stock": vial_days_in_stock(result),
        "stockout_events": counts[E.PRODUCT_WAIT_STARTED],
        "patient_days_waiting_for_product": sum(p.product_wait_days for p in result.patients),
        "n_lost_waiting_for_product": sum(1 for p in result.patients if p.status == "lost"),
    }


def lot_shares_wasted(lots: list[Lot]) -> float:
    """Lots' worth of product wasted: each lot's expired, thaw-wasted and destroyed vials over its
    vials (a lot that failed with no vial filled counts whole). A lot's cost is shared by its vials,
    so the cost of waste is this many lots' fixed cost plus the wasted vials' cost."""
    total = 0.0
    for lot in lots:
        if lot.vials:
            total += (lot.expired + lot.wasted + lot.destroyed) / lot.vials
        elif not math.isnan(lot.failed_day):
            total += 1.0
    return total


_STOCK_CHANGE: dict[str, float] = {E.LOT_RELEASED: 1.0, E.VIALS_THAWED: -1.0, E.VIALS_EXPIRED: -1.0}


def vial_days_in_stock(result: ReplicateResult) -> float:
    """The stock level integrated over the replicate (vials x days, released vials not yet thawed or
    expired, as ``weekly_series`` counts stock): what storage is charged on. A change of ``v`` vials
    on day ``d`` adds ``v x (end - d)``."""
    end = result.end_day
    total = 0.0
    for e in result.events:
        sign = _STOCK_CHANGE.get(e.event)
        if sign is not None:
            total += sign * e.value * (end - e.day)
    return total


class ReplicateLots(NamedTuple):
    """A replicate's lots, without the rest of its result (what a chunk keeps for the lot table)."""

    replicate: int
    lots: list[Lot]


def lot_table(results: Iterable[ReplicateResult | ReplicateLots]) -> pd.DataFrame:
    """One row per lot of each replicate."""
    rows = [
        (
            r.replicate,
            lot.lot_id,
            lot.initial_stock,
            lot.ordered_day,
            lot.started_day,
            lot.filled_day,
            lot.released_day,
            lot.failed_day,
            lot.expiry_day,
            lot.yield_cells,
            lot.vials,
            lot.vials_not_filled,
            lot.used,
            lot.wasted,
            lot.expired,
            lot.destroyed,
            lot.on_hand,
        )
        for r in results
        for lot in r.lots
    ]
    return pd.DataFrame(rows, columns=LOT_COLUMNS)


_WEEKLY_EVENTS: dict[str, str] = {
    E.VIALS_THAWED: "vials_thawed",
    E.VIALS_WASTED: "vials_wasted",
    E.INFUSED: "cells_infused",
    E.LOT_RELEASED: "vials_released",
    E.VIALS_EXPIRED: "vials_expired",
}


def weekly_series(result: ReplicateResult, n_weeks: int) -> dict[str, np.ndarray]:
    """One replicate's supply figures per week since study start, for weeks 0..n_weeks-1.

    ``vials_in_stock`` is released vials not yet thawed or expired at the end of the week
    (claimed ones included); after the replicate ends it stays where it was.
    """
    series = {name: np.zeros(n_weeks) for name in _WEEKLY_EVENTS.values()}
    for e in result.events:
        column = _WEEKLY_EVENTS.get(e.event)
        if column is not None:
            week = int(e.day // 7)
            if week < n_weeks:
                series[column][week] += e.value
    series["vials_used"] = series["vials_thawed"] - series["vials_wasted"]
    series["vials_in_stock"] = np.cumsum(series["vials_released"] - series["vials_thawed"] - series["vials_expired"])
    return series


def weekly_supply_table(results: Iterable[ReplicateResult]) -> pd.DataFrame:
    """Per replicate, for each week from study start to the week it ended: product demand,
    releases, expiry and stock (``weekly_series``)."""
    frames = []
    for r in results:
        n_weeks = int(r.end_day // 7) + 1
        frame = pd.DataFrame(weekly_series(r, n_weeks))
        frame.insert(0, "week", np.arange(n_weeks))
        frame.insert(0, "replicate", r.replicate)
        frame.insert(2, "week_start_day", frame["week"] * 7.0)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=WEEKLY_COLUMNS)
    return pd.concat(frames, ignore_index=True)[WEEKLY_COLUMNS]
