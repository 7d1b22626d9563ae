"""What to learn first, from one run: the share of each outcome's variance that each quantity a
replicate draws once explains (first-order sensitivity indices), with bootstrap intervals.

A replicate records what it drew once (each site's referral rate and activation delay) in its
metrics columns ``drawn: ...``. The first-order index of an input X for an outcome Y is
Var(E[Y | X]) / Var(Y). It is estimated by binning: the replicates are cut into equal-count bins
of X, and the spread of the bins' means is the explained variance, less what the bins' own noise
would give if X did nothing (the between-bin sum of squares expects (bins - 1) x the within-bin
variance by chance), so an input that does not enter the outcome scores near zero (it may come
out slightly negative). Pure functions of a metrics table; no new simulation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdild_sim.analysis.summary import done_by
from ctdild_sim.analysis.supply_summary import stocked_out
from ctdild_sim.model.referrals import DRAWN
from ctdild_sim.scenario.trial import Scenario

RESAMPLES = 200
MIN_PER_BIN = 40
MAX_BINS = 30


@dataclass(frozen=True)
class RankedOutcome:
    key: str
    label: str
    value: Callable[[pd.DataFrame, Scenario], np.ndarray]


def _lplv(metrics: pd.DataFrame, _: Scenario) -> np.ndarray:
    """LPLV day; a replicate that never got there counts at the day it ended (a lower bound)."""
    return metrics["lplv_day"].fillna(metrics["end_day"]).to_numpy(dtype=float)


def _by_registered(metrics: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    registered = scenario.registered_completion_date
    if registered is None:
        return np.full(len(metrics), np.nan)
    return done_by(metrics, scenario, registered).to_numpy()


RANKED_OUTCOMES = [
    RankedOutcome("lplv_day", "Last patient last visit (day; never reached: the day the replicate ended)", _lplv),
    RankedOutcome("p_lplv_by_registered", "LPLV by the registered date (yes/no)", _by_registered),
    RankedOutcome(
        "product_wait",
        "A subject waits for product (yes/no)",
        lambda m, _: stocked_out(m).to_numpy(dtype=float),
    ),
    RankedOutcome("lots_started", "Lots started", lambda m, _: m["lots_started"].to_numpy(dtype=float)),
    RankedOutcome("vials_expired", "Vials expired", lambda m, _: m["vials_expired"].to_numpy(dtype=float)),
]


def drawn_inputs(metrics: pd.DataFrame) -> list[str]:
    """The metrics columns of what replicates drew once and that vary across them."""
    return [c for c in metrics.columns if str(c).startswith(DRAWN) and metrics[c].nunique(dropna=True) > 1]


def bins_for(n: int) -> int:
    """Equal-count bins: about ``MIN_PER_BIN`` replicates each, 2 to ``MAX_BINS`` of them."""
    return int(np.clip(n // MIN_PER_BIN, 2, MAX_BINS))


def first_order_index(x: np.ndarray, y: np.ndarray, bins: int, weights: np.ndarray | None = None) -> float:
    """Var(E[Y | X]) / Var(Y) by equal-count bins of X, less the between-bin variance the noise
    alone would give. ``weights`` (a Bayesian bootstrap's) weigh the replicates: the chance term
    is then sigma^2 x (sum over bins of sum(w^2)/sum(w) - sum(w^2)/sum(w) overall), which is
    sigma^2 x (bins - 1) with equal weights."""
    n = len(y)
    if n <= bins or np.var(y) == 0:
        return float("nan")
    w = np.ones(n) if weights is None else weights
    ranks = np.argsort(np.argsort(x, kind="stable"), kind="stable")
    which = ranks * bins // n
    bin_w = np.bincount(which, weights=w, minlength=bins)
    bin_wy = np.bincount(which, weights=w * y, minlength=bins)
    bin_w2 = np.bincount(which, weights=w * w, minlength=bins)
    total_w = float(w.sum())
    grand = float((w * y).sum()) / total_w
    total = float((w * (y - grand) ** 2).sum())
    keep = bin_w > 0
    between = float((bin_w[keep] * (bin_wy[keep] / bin_w[keep] - grand) ** 2).sum())
    spread = float((bin_w2[keep] / bin_w[keep]).sum())
    sigma2 = (total - between) / (total_w - spread)  # the noise variance, from within the bins
    chance = sigma2 * (spread - float((w * w).sum()) / total_w)
    return (between - chance) / total


def index_with_interval(x: np.ndarray, y: np.ndarray, bins: int, weights: np.ndarray) -> tuple[float, float, float]:
    """The first-order index and the 2.5% and 97.5% points of its Bayesian-bootstrap resamples
    (``weights``: one row of replicate weights per resample)."""
    index = first_order_index(x, y, bins)
    boot = np.array([first_order_index(x, y, bins, w) for w in weights])
    boot = boot[~np.isnan(boot)]
    low, high = np.quantile(boot, [0.025, 0.975]) if len(boot) else (np.nan, np.nan)
    return index, float(low), float(high)


def ranking(metrics: pd.DataFrame, scenario: Scenario, seed: int, resamples: int = RESAMPLES) -> pd.DataFrame:
    """For each outcome and drawn input: the first-order index and its 95% interval (percentiles
    of a Bayesian bootstrap), sorted by index within each outcome."""
    inputs = drawn_inputs(metrics)
    n = len(metrics)
    bins = bins_for(n)
    rng = np.random.default_rng([seed, 104729])  # the bootstrap's own stream
    # a Bayesian bootstrap (Rubin 1981): each resample weighs the replicates by Dirichlet(1, ..., 1)
    # draws instead of repeating some, which would tie values of X and bias a binning estimator
    weights = rng.dirichlet(np.ones(n), resamples) * n if n else np.empty((0, 0))
    rows = []
    for outcome in RANKED_OUTCOMES:
        y = outcome.value(metrics, scenario)
        if np.isnan(y).any():
            continue
        for name in inputs:
            x = metrics[name].to_numpy(dtype=float)
            index, low, high = index_with_interval(x, y, bins, weights)
            rows.append(
                {
                    "outcome": outcome.key,
                    "outcome_label": outcome.label,
                    "input": name.removeprefix(DRAWN),
                    "index": index,
                    "index_low": float(low),
                    "index_high": float(high),
                    "replicates": n,
                    "bins": bins,
                }
            )
    frame = pd.DataFrame(
        rows, columns=["outcome", "outcome_label", "input", "index", "index_low", "index_high", "replicates", "bins"]
    )
    order = {o.key: i for i, o in enumerate(RANKED_OUTCOMES)}
    frame["_o"] = frame["outcome"].map(order)
    return frame.sort_values(["_o", "index"], ascending=[True, False]).drop(columns="_o").reset_index(drop=True)
