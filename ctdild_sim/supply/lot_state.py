"""A lot as recorded (``LotRecord``: what a trial's records say of it, which drives the supply in a
forecast) and as it stands on a date (``LotState``: each lot at a forecast's restart). Their own
module, not compiled with the replicate's inner loop (setup.py): compiled classes do not unpickle."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LotRecord:
    """A lot as recorded: the days of each step it has reached, its vials and what became of them
    (``expired`` None: whatever was left when it expired)."""

    lot_id: int
    initial_stock: bool
    ordered_day: float | None = None
    started_day: float | None = None
    filled_day: float | None = None
    released_day: float | None = None
    failed_day: float | None = None
    expiry_day: float | None = None
    vials: int | None = None
    used: int = 0
    discarded: int = 0
    expired: int | None = None


@dataclass(frozen=True)
class LotState:
    """A lot as it stands on a date: what has happened to it and to its vials so far. ``vials`` is
    None for a lot not yet filled; ``free`` its vials in stock, unclaimed."""

    lot_id: int
    ordered_day: float
    initial_stock: bool = False
    started_day: float = math.nan
    filled_day: float = math.nan
    released_day: float = math.nan
    failed_day: float = math.nan
    expiry_day: float = math.nan
    vials: int | None = None
    used: int = 0
    wasted: int = 0
    expired: int = 0
    free: int = 0


def snapshot(lot) -> LotState:
    """A ``supply.inventory.Lot`` as it stands now (``vials`` None if not yet filled)."""
    filled = not math.isnan(lot.filled_day)
    return LotState(
        lot_id=lot.lot_id,
        ordered_day=lot.ordered_day,
        initial_stock=lot.initial_stock,
        started_day=lot.started_day,
        filled_day=lot.filled_day,
        released_day=lot.released_day,
        failed_day=lot.failed_day,
        expiry_day=lot.expiry_day if filled else math.nan,
        vials=lot.vials if filled else None,
        used=lot.used,
        wasted=lot.wasted,
        expired=lot.expired,
        free=lot.free + lot.reserved,
    )
