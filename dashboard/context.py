"""What every callback works over (``Context``: the folders and the limits the server enforces),
and the checks every callback makes of what the browser sent (numbers, the runs a page names)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ctdild_sim.runs.record import RunRecord
from dashboard.bounded import BoundedChecks
from dashboard.data import DashboardError, load_runs, scrub
from dashboard.jobs import JobSlot

MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Context:
    """What every callback works over: the folders, and the limits the server enforces."""

    scenarios_dir: Path
    results_dir: Path
    workers: int
    max_replicates: int
    jobs: JobSlot
    server_pid: int
    actuals_dir: Path | None = None  # folders of a trial's records (the Forecast tab)
    checks: BoundedChecks = field(default_factory=BoundedChecks)  # where a visitor's records are read


def whole_number(value: object, what: str, low: int, high: int) -> int:
    """``value`` as an int in [low, high], or a DashboardError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
        raise DashboardError(f"{what} must be a whole number from {low:,} to {high:,}")
    if not low <= int(value) <= high:
        raise DashboardError(f"{what} must be from {low:,} to {high:,} (got {int(value):,})")
    return int(value)


def messages(ctx: Context, exc: Exception) -> str:
    """What went wrong, with the server's folders named as the user knows them."""
    return scrub(scrub(str(exc), ctx.results_dir), ctx.scenarios_dir)


class NothingPicked(DashboardError):
    """Not an error: the page needs runs or a file picked first (shown as a hint)."""


def picked_runs(ctx: Context, query: dict, backtests: bool = False) -> list[RunRecord]:
    """The stored runs the page's state names; ``NothingPicked`` when it names none. A backtest
    holds scores, not replicates: only the Track record page (``backtests``) shows one."""
    runs = load_runs(ctx.results_dir, query.get("runs"))
    if not runs:
        raise NothingPicked("Pick one or more stored runs above, or run scenario files.")
    shown = [r for r in runs if (r.kind == "backtest") == backtests]
    if not shown:
        raise NothingPicked(
            "The picked runs are backtests: the Track record page shows them."
            if not backtests
            else "Pick a backtest run above (ctdild-sim backtest SCENARIO --actuals RECORDS makes one)."
        )
    return shown
