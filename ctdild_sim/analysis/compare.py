"""Comparing scenarios on common random numbers.

Every scenario is run with the same seed, so replicate ``r`` of each draws its sites, candidates,
AEs, lots and so on from the same streams: where two scenarios agree, replicate ``r`` is the same
trial in both, and the difference between them in replicate ``r`` is the effect of what the files
change, not of luck.

Every comparison is of something defined in every replicate, so no replicate drops out:

- a milestone is compared by its P50 (the same quantile as the milestone table: a replicate that
  never reaches the milestone counts as later than any date); its 95% interval is a bootstrap
  over the paired replicates, beside the interval an unpaired comparison would give. Resamples in
  which neither scenario reaches the milestone's P50 make the difference undefined; they count as
  unbounded either way, which widens the interval rather than hide them. How many pairs reached
  the milestone in both scenarios is reported with it;
- a probability (finishing by the registered date, the trial completing) and a per-replicate
  total (paused days, subject-days waiting for product, vials expired, lots started) are compared
  by their mean paired difference with a normal 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdild_sim.analysis.metrics import milestone_columns, screen_failure_column
from ctdild_sim.analysis.summary import censored_quantiles, done_by, milestone_labels, to_date
from ctdild_sim.analysis.supply_summary import stockout_risk
from ctdild_sim.model.eligibility import CRITERION_NAMES
from ctdild_sim.scenario.trial import Scenario

Z95 = 1.959963984540054
"""The standard normal's 97.5% quantile: the half-width of every 95% interval, in standard errors."""
BOOTSTRAP_RESAMPLES = 2000
"""Bootstrap resamples behind a quantile difference's interval."""
BOOTSTRAP_STREAM = 0xB007
"""Spawn key of the bootstrap's random streams (apart from every replicate's streams)."""
_BLOCK_VALUES = 2_000_000
"""Resampled values held at once while bootstrapping (bounds memory for long runs)."""
Z_ONE_SIDED_95 = 1.6448536269514722
"""The standard normal's 95% quantile: a one-sided 95% bound, in standard errors."""


def wilson_upper(successes: int, n: int, z: float = Z_ONE_SIDED_95) -> float:
    """One-sided Wilson score upper bound of a binomial proportion."""
    return wilson_interval(successes, n, z)[1]


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% two-sided by default)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


MEASURES = {
    "pause_days": ("Days paused for safety reviews", "days"),
    "patient_days_waiting_for_product": ("Subject-days waiting for product", "subject-days"),
    "vials_expired": ("Vials expired", "vials"),
    "lots_started": ("Lots started", "lots"),
}
"""Per-replicate totals compared by their mean paired difference."""

# fmt: off
DIFFERENCE_COLUMNS = [
    "scenario", "reference", "measure", "label", "statistic", "unit", "estimate", "ci_low", "ci_high",
    "unpaired_ci_low", "unpaired_ci_high", "pairs", "pairs_both_reached",
]
# fmt: on


@dataclass(frozen=True)
class Difference:
    """Scenario minus reference, paired by replicate, with 95% intervals."""

    estimate: float
    low: float
    high: float
    unpaired_low: float
    unpaired_high: float
    pairs: int
    both_reached: int


def mean_difference(reference: pd.Series, other: pd.Series) -> Difference:
    """Mean of ``other - reference`` over every replicate (both must be defined in all of them)."""
    a, b = reference.to_numpy(dtype=float), other.to_numpy(dtype=float)
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("a mean difference needs a value in every replicate")
    n = len(a)
    if n == 0:
        return Difference(*(math.nan,) * 5, 0, 0)
    d = b - a
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    unpaired = Z95 * math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n) if n > 1 else math.nan
    return Difference(mean, mean - Z95 * se, mean + Z95 * se, mean - unpaired, mean + unpaired, n, n)


def _interval(differences: np.ndarray) -> tuple[float, float]:
    """2.5% and 97.5% points of bootstrap differences; undefined ones (NaN) count as unbounded."""
    low = np.quantile(np.where(np.isnan(differences), -np.inf, differences), 0.025, method="inverted_cdf")
    high = np.quantile(np.where(np.isnan(differences), np.inf, differences), 0.975, method="inverted_cdf")
    return float(low), float(high)


class _Ranked:
    """A replicate column (NaN = never = +inf) ready for fast resampled quantiles: the
    inverted-CDF q-quantile of a resample is its k-th smallest value, found by partitioning ranks."""

    def __init__(self, values: pd.Series):
        self.values = np.nan_to_num(values.to_numpy(dtype=float), nan=np.inf)
        self.order = np.argsort(self.values, kind="stable")
        self.ranks = np.empty(len(self.values), dtype=np.int32)
        self.ranks[self.order] = np.arange(len(self.values), dtype=np.int32)

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.values, q, method="inverted_cdf"))

    def resampled(self, index: np.ndarray, q: float) -> np.ndarray:
        k = max(0, math.ceil(q * index.shape[1] - 1e-9) - 1)
        smallest = np.partition(self.ranks[index], k, axis=1)[:, k]
        return self.values[self.order[smallest]]


def quantile_differences(
    reference: pd.DataFrame,
    other: pd.DataFrame,
    columns: list[str],
    q: float,
    rng: np.random.Generator,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, Difference]:
    """Per column (a milestone day, NaN = never reached = +inf): the difference of the ``q``
    quantiles, with paired and unpaired percentile-bootstrap 95% intervals. The columns share the
    resamples (each interval is still a bootstrap of its own column)."""
    n = len(reference)
    if n == 0:
        return {c: Difference(*(math.nan,) * 5, 0, 0) for c in columns}
    ranked = {c: (_Ranked(reference[c]), _Ranked(other[c])) for c in columns}
    paired: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    unpaired: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    block = max(1, _BLOCK_VALUES // n)
    with np.errstate(invalid="ignore"):  # inf - inf: the difference is undefined (NaN)
        for start in range(0, resamples, block):
            size = min(block, resamples - start)
            first = rng.integers(0, n, (size, n), dtype=np.int32)
            second = rng.integers(0, n, (size, n), dtype=np.int32)
            for c, (a, b) in ranked.items():
                qa = a.resampled(first, q)
                paired[c].append(b.resampled(first, q) - qa)
                unpaired[c].append(b.resampled(second, q) - qa)
        out = {}
        for c, (a, b) in ranked.items():
            estimate = b.quantile(q) - a.quantile(q)
            both = int((np.isfinite(a.values) & np.isfinite(b.values)).sum())
            low, high = _interval(np.concatenate(paired[c]))
            unpaired_low, unpaired_high = _interval(np.concatenate(unpaired[c]))
            out[c] = Difference(estimate, low, high, unpaired_low, unpaired_high, n, both)
    return out


def milestone_quantiles(metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Long table: scenario, milestone, reached, P10/P50/P90 day and date."""
    rows = []
    for name, frame in metrics.items():
        scenario = scenarios[name]
        labels = milestone_labels(scenario)
        for column in milestone_columns(len(scenario.cohorts)):
            p10, p50, p90 = censored_quantiles(frame[column])
            rows.append(
                {
                    "scenario": name,
                    "milestone": column,
                    "label": labels[column],
                    "reached": float(frame[column].notna().mean()),
                    "p10_day": p10,
                    "p50_day": p50,
                    "p90_day": p90,
                    "p10_date": to_date(scenario.start_date, p10),
                    "p50_date": to_date(scenario.start_date, p50),
                    "p90_date": to_date(scenario.start_date, p90),
                }
            )
    return pd.DataFrame(rows)


def _rng(seed: int, scenario_index: int) -> np.random.Generator:
    """The bootstrap stream of one compared scenario (apart from every replicate's streams)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(BOOTSTRAP_STREAM, scenario_index)))


def milestone_differences(
    metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario], seed: int = 0
) -> pd.DataFrame:
    """Each scenario against the first, paired by replicate: milestone P50s, the chance of
    finishing, and per-replicate totals (see the module docstring). ``seed`` seeds the bootstrap."""
    names = list(metrics)
    reference = names[0]
    ref_frame = metrics[reference].set_index("replicate")
    rows = []
    for i, name in enumerate(names[1:], start=1):
        frame = metrics[name].set_index("replicate")
        if not frame.index.equals(ref_frame.index):
            raise ValueError(f"{name} and {reference} were not run on the same replicates")
        scenario = scenarios[name]
        labels = milestone_labels(scenario)

        def add(measure: str, label: str, statistic: str, unit: str, diff: Difference, name: str = name) -> None:
            rows.append(
                {
                    "scenario": name,
                    "reference": reference,
                    "measure": measure,
                    "label": label,
                    "statistic": statistic,
                    "unit": unit,
                    "estimate": diff.estimate,
                    "ci_low": diff.low,
                    "ci_high": diff.high,
                    "unpaired_ci_low": diff.unpaired_low,
                    "unpaired_ci_high": diff.unpaired_high,
                    "pairs": diff.pairs,
                    "pairs_both_reached": diff.both_reached,
                }
            )

        shared = [c for c in milestone_columns(len(scenario.cohorts)) if c in ref_frame.columns]
        for column, diff in quantile_differences(ref_frame, frame, shared, 0.5, _rng(seed, i)).items():
            add(column, labels.get(column, column), "P50 difference", "days", diff)
        ref_reached, reached = (f["lplv_day"].notna().astype(float) for f in (ref_frame, frame))
        add(
            "lplv_reached",
            "P(last patient last visit reached)",
            "difference in probability",
            "probability",
            mean_difference(ref_reached, reached),
        )
        done = _done_by_registered(ref_frame, scenarios[reference]), _done_by_registered(frame, scenario)
        if done[0] is not None and done[1] is not None:
            add(
                "p_done_by_registered_date",
                "P(LPLV by registered completion)",
                "difference in probability",
                "probability",
                mean_difference(done[0], done[1]),
            )
        for column, (label, unit) in MEASURES.items():
            add(column, label, "mean difference", unit, mean_difference(ref_frame[column], frame[column]))
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def _done_by_registered(frame: pd.DataFrame, scenario: Scenario) -> pd.Series | None:
    if scenario.registered_completion_date is None:
        return None
    return done_by(frame, scenario, scenario.registered_completion_date)


def headline(metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Per scenario: P(LPLV by the registered date), the LPLV P50 (as in the milestone table: over
    all replicates, never reached counting as later than any date), P(stopped early), P(any wait
    for product) and paused days."""
    rows = []
    for name, frame in metrics.items():
        scenario = scenarios[name]
        done = _done_by_registered(frame, scenario)
        lplv_p50 = censored_quantiles(frame["lplv_day"], (0.5,))[0]
        rows.append(
            {
                "scenario": name,
                "replicates": len(frame),
                "p_done_by_registered_date": float(done.mean()) if done is not None else math.nan,
                "p_lplv_reached": float(frame["lplv_day"].notna().mean()),
                "lplv_p50_day": lplv_p50,
                "lplv_p50_date": to_date(scenario.start_date, lplv_p50),
                "p_stopped_early": float(frame["stopped_early"].mean()),
                "p_product_wait": stockout_risk(frame),
                "mean_pause_days": float(frame["pause_days"].mean()),
            }
        )
    return pd.DataFrame(rows)


# fmt: off
SCREENING_COLUMNS = ["scenario", "reference", "criterion", "reference_share", "share_of_screened", "estimate",
                     "ci_low", "ci_high", "pairs"]
# fmt: on


def screen_failure_differences(metrics: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each scenario against the first, criterion by criterion (what a protocol amendment moves):
    the share of screened candidates each screens out in both, and the paired difference in the
    candidates it screens out per replicate, with its 95% interval (common random numbers: the same
    candidates are referred in both until the amendment changes who enrols)."""
    names = list(metrics)
    reference = metrics[names[0]].sort_values("replicate").reset_index(drop=True)
    rows = []
    for name in names[1:]:
        other = metrics[name].sort_values("replicate").reset_index(drop=True)
        screened = [frame["n_screened"].sum() for frame in (reference, other)]
        for criterion in CRITERION_NAMES:
            column = screen_failure_column(criterion)
            d = mean_difference(reference[column].astype(float), other[column].astype(float))
            rows.append(
                {
                    "scenario": name,
                    "reference": names[0],
                    "criterion": criterion,
                    "reference_share": reference[column].sum() / screened[0] if screened[0] else math.nan,
                    "share_of_screened": other[column].sum() / screened[1] if screened[1] else math.nan,
                    "estimate": d.estimate,
                    "ci_low": d.low,
                    "ci_high": d.high,
                    "pairs": d.pairs,
                }
            )
    return pd.DataFrame(rows, columns=SCREENING_COLUMNS)
