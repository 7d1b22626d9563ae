"""How good a forecast was, once the truth is known: pure functions of a forecast's replicate
values and the value that came true.

- interval coverage: whether the truth fell inside the central 50% and 80% intervals, read off its
  randomised PIT (the share of replicates below it, ties shared at random), so that whole days and
  counts, and forecasts certain of the truth, are counted as a calibrated forecast's would be;
- the interval score of the central (1 - alpha) interval (Gneiting and Raftery 2007, eq. 43):
  its width, plus 2/alpha times how far the truth fell outside; lower is better, in days;
- the continuous ranked probability score from the replicates (eq. 21 of the same paper,
  E|X - y| - E|X - X'| / 2): the whole distribution's error, in the truth's unit; a point forecast's
  CRPS is its absolute error.

A replicate that never reached a milestone counts at the horizon (it is censored there): the
forecast said "not before the horizon", and the scores read it so.
"""

from __future__ import annotations

import math

import numpy as np

INTERVALS = (0.5, 0.8)
"""The central intervals whose coverage a backtest counts."""


def quantile_band(values: np.ndarray) -> dict[str, float]:
    """P10, P25, P50, P75 and P90 of the replicates (empirical, inverse CDF)."""
    qs = np.quantile(values, [0.1, 0.25, 0.5, 0.75, 0.9], method="inverted_cdf")
    return dict(zip(("p10", "p25", "p50", "p75", "p90"), (float(q) for q in qs), strict=True))


def central_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` interval of the replicates: their (1 - level)/2 and (1 + level)/2 quantiles."""
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return float(low), float(high)


def covered(values: np.ndarray, truth: float, level: float) -> bool:
    """Whether the truth fell inside the central ``level`` interval (its ends included)."""
    low, high = central_interval(values, level)
    return low <= truth <= high


def interval_score(values: np.ndarray, truth: float, level: float = 0.8) -> float:
    """The interval score of the central ``level`` interval (lower is better)."""
    alpha = 1.0 - level
    low, high = central_interval(values, level)
    return (high - low) + (2.0 / alpha) * max(0.0, low - truth) + (2.0 / alpha) * max(0.0, truth - high)


def crps(values: np.ndarray, truth: float) -> float:
    """The CRPS of the replicates' empirical distribution at the truth: E|X - y| - E|X - X'|/2,
    the second term from the sorted values in O(n log n)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return math.nan
    spread = 2.0 * float(np.sum((2 * np.arange(1, n + 1) - n - 1) * x)) / (n * n)
    return float(np.mean(np.abs(x - truth))) - spread / 2.0


def randomised_pit(values: np.ndarray, truth: float, rng: np.random.Generator) -> float:
    """The truth's place in the forecast: the share of replicates below it, ties shared at random
    (a randomised probability integral transform; NaN: never, later than any value). Uniform when
    the forecast is calibrated, discrete values (days, counts) and all: a forecast certain of the
    truth is not counted inside every interval."""
    x = np.nan_to_num(np.asarray(values, dtype=float), nan=np.inf)
    t = np.inf if math.isnan(truth) else truth
    below, ties = float((x < t).sum()), float((x == t).sum())
    return (below + rng.random() * ties) / len(x)


def inside(pit: float, level: float) -> bool:
    """Whether a randomised PIT falls in the central ``level`` interval."""
    return (1 - level) / 2 <= pit <= (1 + level) / 2


def binomial_se(share: float, n: int) -> float:
    """The standard error of a share of ``n`` independent trials at its nominal value."""
    return math.sqrt(share * (1 - share) / n) if n > 0 else math.nan
