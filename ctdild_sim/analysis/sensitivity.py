"""One-at-a-time sensitivity on common random numbers: how far each outcome moves when one
assumption is moved to its low or its high value, paired replicate by replicate with the base.

Pure functions of metrics tables. Every arm is simulated on the base's seed, so replicate k of an
arm meets the same referrals, draws and events as replicate k of the base until the moved
assumption changes its course; the paired differences are far tighter than independent runs'.
A milestone never reached counts as later than any date (its quantile may be unbounded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdild_sim.analysis.compare import Difference, mean_difference, quantile_differences
from ctdild_sim.analysis.summary import done_by
from ctdild_sim.analysis.supply_summary import stocked_out
from ctdild_sim.scenario.trial import Scenario


@dataclass(frozen=True)
class Outcome:
    """What a sponsor reads off a run, and how its change is estimated."""

    key: str
    label: str
    unit: str
    kind: str  # "quantile" (of a day column, NaN = never) or "mean" (of a per-replicate value)
    column: str = ""
    q: float = 0.5
    value: Callable[[pd.DataFrame, Scenario], pd.Series] | None = None


def _lplv_by_registered(metrics: pd.DataFrame, scenario: Scenario) -> pd.Series:
    registered = scenario.registered_completion_date
    if registered is None:
        return pd.Series(np.nan, index=metrics.index)
    return done_by(metrics, scenario, registered)


def _product_wait(metrics: pd.DataFrame, _: Scenario) -> pd.Series:
    return stocked_out(metrics).astype(float)


def _column(name: str) -> Callable[[pd.DataFrame, Scenario], pd.Series]:
    return lambda metrics, _: metrics[name].astype(float)


OUTCOMES = [
    Outcome("lplv_p50", "Last patient last visit P50", "days", "quantile", "lplv_day", 0.5),
    Outcome("lplv_p90", "Last patient last visit P90", "days", "quantile", "lplv_day", 0.9),
    Outcome("p_lplv_by_registered", "P(LPLV by the registered date)", "probability", "mean", value=_lplv_by_registered),
    Outcome("p_product_wait", "P(a subject waits for product)", "probability", "mean", value=_product_wait),
    Outcome("lots_started", "Lots started (mean)", "lots", "mean", value=_column("lots_started")),
    Outcome("vials_expired", "Vials expired (mean)", "vials", "mean", value=_column("vials_expired")),
]
"""The tornado's outcomes, in the order they are reported."""


def outcome_value(metrics: pd.DataFrame, scenario: Scenario, outcome: Outcome) -> float:
    """An outcome over all replicates (a quantile of a day column: never reached is +inf)."""
    if outcome.kind == "quantile":
        days = metrics[outcome.column].to_numpy(dtype=float)
        return float(np.quantile(np.nan_to_num(days, nan=np.inf), outcome.q, method="inverted_cdf"))
    return float(outcome.value(metrics, scenario).mean())


def paired_change(
    base: pd.DataFrame, arm: pd.DataFrame, scenario: Scenario, outcome: Outcome, rng: np.random.Generator
) -> Difference:
    """The arm's outcome minus the base's, paired by replicate, with its 95% interval (a paired
    bootstrap for quantiles, the normal interval of the paired mean otherwise)."""
    a = base.sort_values("replicate").reset_index(drop=True)
    b = arm.sort_values("replicate").reset_index(drop=True)
    if not np.array_equal(a["replicate"].to_numpy(), b["replicate"].to_numpy()):
        raise ValueError("an arm must hold the same replicates as the base (it is paired with it)")
    if outcome.kind == "quantile":
        return quantile_differences(a, b, [outcome.column], outcome.q, rng)[outcome.column]
    va, vb = outcome.value(a, scenario), outcome.value(b, scenario)
    if va.isna().any():
        return Difference(*(np.nan,) * 5, len(a), len(a))
    return mean_difference(va, vb)


# fmt: off
TORNADO_COLUMNS = [
    "parameter", "outcome", "outcome_label", "unit", "base_value", "low_value", "high_value", "base_outcome",
    "base_outcome_text", "low_change", "low_ci_low", "low_ci_high", "high_change", "high_ci_low", "high_ci_high",
    "swing", "pairs",
]
# fmt: on


def outcome_text(value: float, outcome: Outcome, scenario: Scenario) -> str:
    """An outcome's value as people read it: a date, a percentage or a mean."""
    if outcome.kind == "quantile":
        if not np.isfinite(value):
            return "never reached"
        return (scenario.start_date + dt.timedelta(days=int(value))).isoformat()
    if np.isnan(value):
        return "n/a"
    return f"{value:.1%}" if outcome.unit == "probability" else f"{value:.2f}"


def tornado(
    base: pd.DataFrame,
    arms: dict[tuple[str, str], tuple[float, pd.DataFrame]],
    scenario: Scenario,
    base_values: dict[str, float],
    seed: int,
) -> pd.DataFrame:
    """One row per assumption and outcome: the change at the low and at the high value with their
    paired 95% intervals, and the swing (the larger of the two changes' sizes), sorted within each
    outcome by swing, largest first. ``arms``: (assumption, "low"/"high") -> (value, metrics)."""
    rows = []
    assumptions = list(dict.fromkeys(path for path, _ in arms))
    for k, outcome in enumerate(OUTCOMES):
        rng = np.random.default_rng([seed, 7919, k])  # the bootstrap's own stream, apart from the replicates'
        reference = outcome_value(base, scenario, outcome)
        for path in assumptions:
            row = {
                "parameter": path,
                "outcome": outcome.key,
                "outcome_label": outcome.label,
                "unit": outcome.unit,
                "base_value": base_values[path],
                "base_outcome": reference,
                "base_outcome_text": outcome_text(reference, outcome, scenario),
            }
            for end in ("low", "high"):
                value, metrics = arms[(path, end)]
                d = paired_change(base, metrics, scenario, outcome, rng)
                row.update(
                    {
                        f"{end}_value": value,
                        f"{end}_change": d.estimate,
                        f"{end}_ci_low": d.low,
                        f"{end}_ci_high": d.high,
                        "pairs": d.pairs,
                    }
                )
            changes = np.array([row["low_change"], row["high_change"]], dtype=float)
            row["swing"] = float(np.nanmax(np.abs(changes))) if not np.isnan(changes).all() else np.nan
            rows.append(row)
    frame = pd.DataFrame(rows, columns=TORNADO_COLUMNS)
    order = {o.key: i for i, o in enumerate(OUTCOMES)}
    frame["_o"] = frame["outcome"].map(order)
    frame["_s"] = frame["swing"].fillna(-1.0)
    return frame.sort_values(["_o", "_s"], ascending=[True, False]).drop(columns=["_o", "_s"]).reset_index(drop=True)
