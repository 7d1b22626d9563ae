"""Demand bands that stream: per-period quantiles across replicates without keeping replicates.

Each replicate's weekly supply series is folded into counts of how often each value occurred in
each period, for calendar weeks, months and quarters at once. The counts are sparse (only the
(period, value) pairs that occurred are kept), so one replicate with an absurd stock level costs
one entry, not a histogram as wide as the value. Quantiles read off the counts are exactly the
empirical inverse-CDF quantiles of the values (``numpy.quantile(..., method="inverted_cdf")``),
and because everything is an integer count, merging accumulators in any order gives the same
bytes: results do not depend on how replicates were split across workers.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from ctdild_sim.analysis.summary import QUANTILES

PeriodKind = Literal["week", "month", "quarter"]
KINDS: tuple[PeriodKind, ...] = ("week", "month", "quarter")
MEASURES = ("vials_thawed", "cumulative_vials_thawed", "vials_in_stock")
VALUE_BITS = 40
"""A count is keyed by ``period << VALUE_BITS | value``: values up to about 10^12 vials."""
DENSE_CELLS_PER_VALUE = 4
"""A block is counted in a dense (period x value) table when that table has at most this many
cells per value counted (it is then far cheaper than sorting); wider blocks are sorted."""


class PeriodCounts:
    """How often each value occurred in each period: sorted unique keys (period, value packed into
    one integer) and their counts. Memory grows with the distinct values seen, not the largest."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)

    def add(self, values: np.ndarray) -> None:
        """Count a (replicates x periods) block of non-negative integer values."""
        if values.size == 0:
            return
        if values.max() >= 1 << VALUE_BITS:
            raise ValueError(f"a value of {int(values.max()):,} is beyond what demand bands count")
        n_periods, width = values.shape[1], int(values.max()) + 1
        if n_periods * width <= DENSE_CELLS_PER_VALUE * values.size:
            # small values (the usual case): count every (period, value) cell at once, in key order
            cells = np.bincount((np.arange(n_periods) * width + values).ravel(), minlength=n_periods * width)
            seen = np.flatnonzero(cells)
            keys = ((seen // width) << VALUE_BITS) | (seen % width)
            self._combine(keys.astype(np.int64), cells[seen].astype(np.int64))
            return
        periods = np.arange(n_periods, dtype=np.int64)
        keys, counts = np.unique(((periods << VALUE_BITS) | values).ravel(), return_counts=True)
        self._combine(keys, counts.astype(np.int64))

    def merge(self, other: PeriodCounts) -> None:
        self._combine(other.keys, other.counts)

    def _combine(self, keys: np.ndarray, counts: np.ndarray) -> None:
        if not len(self.keys):
            self.keys, self.counts = keys.copy(), counts.copy()
            return
        # both key arrays are sorted and unique: add the counts of keys already here, insert the rest
        at = np.searchsorted(self.keys, keys)
        found = at < len(self.keys)
        found[found] = self.keys[at[found]] == keys[found]
        summed = self.counts.copy()
        summed[at[found]] += counts[found]
        new = ~found
        self.keys = np.insert(self.keys, at[new], keys[new])
        self.counts = np.insert(summed, at[new], counts[new])

    def quantile(self, q: float, n_periods: int) -> np.ndarray:
        """Per period: the smallest value whose empirical CDF reaches ``q`` (0 for a period with no
        values)."""
        out = np.zeros(n_periods, dtype=np.int64)
        period, value = self.keys >> VALUE_BITS, self.keys & ((1 << VALUE_BITS) - 1)
        keep = period < n_periods
        period, value, counts = period[keep], value[keep], self.counts[keep]
        if not len(period):
            return out
        totals = np.zeros(n_periods, dtype=np.int64)
        np.add.at(totals, period, counts)
        cumulative = np.cumsum(counts)
        first = np.searchsorted(period, np.arange(n_periods))  # keys are sorted by period, then value
        before = np.concatenate([[0], cumulative])[first]
        within = cumulative - before[period]
        reached = np.flatnonzero(within >= np.ceil(q * totals - 1e-9)[period])
        periods, position = np.unique(period[reached], return_index=True)
        out[periods] = value[reached[position]]
        return out


def period_index(start: dt.date, n_weeks: int, kind: PeriodKind) -> tuple[np.ndarray, list[str]]:
    """For each week since ``start``: the index of its period, and the period labels."""
    if kind == "week":
        return np.arange(n_weeks), [str(w) for w in range(n_weeks)]
    dates = pd.Timestamp(start) + pd.to_timedelta(np.arange(n_weeks) * 7, unit="D")
    periods = dates.to_period("M" if kind == "month" else "Q")
    labels = list(dict.fromkeys(str(p) for p in periods))
    lookup = {label: i for i, label in enumerate(labels)}
    return np.array([lookup[str(p)] for p in periods]), labels


class DemandBands:
    """Mergeable counts of per-period vials thawed, cumulative vials and stock, plus sums.

    ``add`` only records a replicate's per-period values; they are counted for a whole block of
    replicates at once (``fold``), which costs a few microseconds per replicate instead of a dozen
    numpy calls each."""

    def __init__(self, start: dt.date, n_weeks: int):
        self.start = start
        self.n_weeks = n_weeks
        self.replicates = 0
        self.last_week = 0
        self.index = {kind: period_index(start, n_weeks, kind) for kind in KINDS}
        self.period_end = {  # the last week of each period (weeks are in period order)
            kind: np.searchsorted(idx, np.arange(len(labels)), side="right") - 1
            for kind, (idx, labels) in self.index.items()
        }
        self.period_start = {kind: np.r_[0, end[:-1] + 1] for kind, end in self.period_end.items()}
        self.counts = {(kind, m): PeriodCounts() for kind in KINDS for m in MEASURES}
        self.vials_sum = {kind: np.zeros(len(self.index[kind][1]), dtype=np.int64) for kind in KINDS}
        self.cells_sum = {kind: np.zeros(len(self.index[kind][1]), dtype=np.int64) for kind in KINDS}
        self._pending: dict[tuple[PeriodKind, str], list[np.ndarray]] = {key: [] for key in self.counts}

    def add(self, series: dict[str, np.ndarray], end_day: float) -> None:
        """Take in one replicate's weekly series (length ``n_weeks``)."""
        self.replicates += 1
        self.last_week = max(self.last_week, min(int(end_day // 7), self.n_weeks - 1))
        thawed = np.rint(series["vials_thawed"]).astype(np.int64)
        cells = np.rint(series["cells_infused"]).astype(np.int64)
        cumulative = np.cumsum(thawed)
        stock = np.rint(series["vials_in_stock"]).astype(np.int64)
        for kind in KINDS:
            end, start = self.period_end[kind], self.period_start[kind]
            per_period = np.add.reduceat(thawed, start)  # weeks of a period are consecutive: exact integer sums
            self.vials_sum[kind] += per_period
            self.cells_sum[kind] += np.add.reduceat(cells, start)
            pending = self._pending
            pending[(kind, "vials_thawed")].append(per_period)
            pending[(kind, "cumulative_vials_thawed")].append(cumulative[end])
            pending[(kind, "vials_in_stock")].append(stock[end])

    def fold(self) -> None:
        """Count the values ``add`` took in (``merge`` and ``table`` do this themselves; a chunk
        calls it before its bands are sent back, to send counts only)."""
        for key, pending in self._pending.items():
            if not pending:
                continue
            values = np.stack(pending)  # replicates x periods
            pending.clear()
            if values.min() < 0:
                raise ValueError(f"{key[1]} went negative: vial accounting is broken")
            self.counts[key].add(values)

    def merge(self, other: DemandBands) -> None:
        """Add another accumulator over the same weeks (from another chunk of replicates)."""
        self.fold()
        other.fold()
        self.replicates += other.replicates
        self.last_week = max(self.last_week, other.last_week)
        for key, theirs in other.counts.items():
            self.counts[key].merge(theirs)
        for kind in KINDS:
            self.vials_sum[kind] += other.vials_sum[kind]
            self.cells_sum[kind] += other.cells_sum[kind]

    def table(self, kind: PeriodKind) -> pd.DataFrame:
        """Mean and P10/P50/P90 per period, up to the period of the last week any replicate reached."""
        self.fold()
        idx, labels = self.index[kind]
        n = int(idx[self.last_week]) + 1
        out = pd.DataFrame({"period": labels[:n]})
        if kind == "week":
            out["period"] = np.arange(n)
            out["start_date"] = [self.start + dt.timedelta(days=7 * w) for w in range(n)]
        for m in MEASURES:
            for q in QUANTILES:
                out[f"{m}_p{int(q * 100)}"] = self.counts[(kind, m)].quantile(q, n)
        reps = max(self.replicates, 1)
        out["mean_vials_thawed"] = self.vials_sum[kind][:n] / reps
        out["mean_cells_infused"] = self.cells_sum[kind][:n] / reps
        return out


PROGRESS_MEASURES = {
    "referred": "candidates referred",
    "enrolled": "subjects enrolled",
    "infused": "infusions given",
}
"""What ``ProgressBands`` counts (cumulative, by the end of each week), and the events counted."""


class ProgressBands:
    """Mergeable counts of each replicate's cumulative referrals, enrolments and infusions at the
    end of every week: the fan of a trial's progress over all replicates (not only those whose
    event logs a run keeps). A restarted replicate's counts include its observed history."""

    def __init__(self, start: dt.date, n_weeks: int):
        self.start = start
        self.n_weeks = n_weeks
        self.replicates = 0
        self.week_ends = 7.0 * np.arange(1, n_weeks + 1)
        self.counts = {m: PeriodCounts() for m in PROGRESS_MEASURES}
        self.sums = {m: np.zeros(n_weeks, dtype=np.int64) for m in PROGRESS_MEASURES}
        self._pending: dict[str, list[np.ndarray]] = {m: [] for m in PROGRESS_MEASURES}

    def add(self, days: dict[str, np.ndarray]) -> None:
        """Take in one replicate's event days per measure (any order)."""
        self.replicates += 1
        for m in PROGRESS_MEASURES:
            cumulative = np.searchsorted(np.sort(days[m]), self.week_ends, side="left").astype(np.int64)
            self.sums[m] += cumulative
            self._pending[m].append(cumulative)

    def fold(self) -> None:
        for m, pending in self._pending.items():
            if pending:
                self.counts[m].add(np.stack(pending))
                pending.clear()

    def merge(self, other: ProgressBands) -> None:
        self.fold()
        other.fold()
        self.replicates += other.replicates
        for m in PROGRESS_MEASURES:
            self.counts[m].merge(other.counts[m])
            self.sums[m] += other.sums[m]

    def table(self) -> pd.DataFrame:
        """Per week: the day and date it ends, and each measure's mean and P10/P50/P90 by then."""
        self.fold()
        out = pd.DataFrame({"week": np.arange(self.n_weeks), "end_day": self.week_ends})
        out["end_date"] = [self.start + dt.timedelta(days=float(d)) for d in self.week_ends]
        reps = max(self.replicates, 1)
        for m in PROGRESS_MEASURES:
            for q in QUANTILES:
                out[f"{m}_p{int(q * 100)}"] = self.counts[m].quantile(q, self.n_weeks)
            out[f"mean_{m}"] = self.sums[m] / reps
        return out
