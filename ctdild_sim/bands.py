"""Demand bands that stream: per-period quantiles across replicates without keeping replicates.

Each replicate's weekly supply series is folded into integer histograms (one row per period,
one column per vial count) and integer sums, for calendar weeks, months and quarters at once.
Quantiles read off a histogram are exactly the empirical inverse-CDF quantiles of the values
(``numpy.quantile(..., method="inverted_cdf")``), and because everything is an integer count,
merging accumulators in any order gives the same bytes: results do not depend on how replicates
were split across workers.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from ctdild_sim.summary import QUANTILES

PeriodKind = Literal["week", "month", "quarter"]
KINDS: tuple[PeriodKind, ...] = ("week", "month", "quarter")
MEASURES = ("vials_thawed", "cumulative_vials_thawed", "vials_in_stock")


def histogram_quantile(counts: np.ndarray, q: float) -> np.ndarray:
    """Per row of a (periods x values) count matrix: the smallest value whose ECDF reaches ``q``."""
    total = counts.sum(axis=1, keepdims=True)
    reached = counts.cumsum(axis=1) >= np.ceil(q * total - 1e-9)
    return reached.argmax(axis=1)


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
    """Mergeable histograms of per-period vials thawed, cumulative vials and stock, plus sums.

    ``add`` only records a replicate's per-period values; they are folded into the histograms
    for a whole block of replicates at once (one ``bincount`` per measure), which costs a few
    microseconds per replicate instead of a dozen numpy calls each."""

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
        self.counts = {
            (kind, m): np.zeros((len(self.index[kind][1]), 1), dtype=np.int64) for kind in KINDS for m in MEASURES
        }
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
        """Count the values ``add`` took in into the histograms (``merge`` and ``table`` do this
        themselves; a chunk calls it before its bands are sent back, to send counts only)."""
        for key, pending in self._pending.items():
            if not pending:
                continue
            values = np.stack(pending)  # replicates x periods
            pending.clear()
            if values.min() < 0:
                raise ValueError(f"{key[1]} went negative: vial accounting is broken")
            counts = self.counts[key]
            periods, width = counts.shape
            top = int(values.max())
            if top >= width:
                width = top + 1
                counts = np.pad(counts, ((0, 0), (0, width - counts.shape[1])))
            flat = (np.arange(periods) * width + values).ravel()
            self.counts[key] = counts + np.bincount(flat, minlength=periods * width).reshape(periods, width)

    def merge(self, other: DemandBands) -> None:
        """Add another accumulator over the same weeks (from another chunk of replicates)."""
        self.fold()
        other.fold()
        self.replicates += other.replicates
        self.last_week = max(self.last_week, other.last_week)
        for key, theirs in other.counts.items():
            mine = self.counts[key]
            width = max(mine.shape[1], theirs.shape[1])
            self.counts[key] = np.pad(mine, ((0, 0), (0, width - mine.shape[1]))) + np.pad(
                theirs, ((0, 0), (0, width - theirs.shape[1]))
            )
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
            counts = self.counts[(kind, m)][:n]
            for q in QUANTILES:
                out[f"{m}_p{int(q * 100)}"] = histogram_quantile(counts, q)
        reps = max(self.replicates, 1)
        out["mean_vials_thawed"] = self.vials_sum[kind][:n] / reps
        out["mean_cells_infused"] = self.cells_sum[kind][:n] / reps
        return out
