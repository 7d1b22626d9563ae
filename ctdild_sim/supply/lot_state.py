"""A lot as a trial's records know it on a date: the part of a trial's state (``model.state``) that
the supply restarts from. Its own module, not compiled with the replicate's inner loop (setup.py):
a trial's state is sent to the worker processes, and compiled classes do not unpickle."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LotState:
    """A lot as a trial's records know it on a date (see ``model.state``): what has happened to it
    and to its vials so far. ``vials`` is None for a lot not yet filled."""

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

    @property
    def free(self) -> int:
        """Released vials neither used, wasted nor expired (none for a lot not released)."""
        if math.isnan(self.released_day) or not math.isnan(self.failed_day):
            return 0
        return max(0, (self.vials or 0) - self.used - self.wasted - self.expired)
