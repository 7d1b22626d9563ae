"""Are a forecast's intervals calibrated? Simulation-based calibration.

Draw a "true" trial from the prior (every learned assumption drawn from its prior, then one
replicate simulated with them), cut it at an as-of date, write its records as of that date,
forecast from them, and see where the truth falls in the forecast: its rank, the share of
forecast replicates below it (ties broken at random; a trial that never finishes counts as later
than any date). If the forecast is calibrated the ranks are uniform, so its central 50% and 80%
intervals hold the truth in 50% and 80% of trials. Done with learning and without it (the
scenario's assumptions as written), it shows what learning buys.

A forecast is checked where its model is wrong too: the true trials' referral rates may drift
(``drift``, a ``ReferralTrend`` the truths are simulated under and the forecast is not told), and
each forecast is made under each enrolment model asked for (``models``: homogeneous, piecewise,
ramp_decay, or auto, the forecast's own choice), on the same records and seeds.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.synthetic import actuals_from_replicate
from ctdild_sim.analysis.metrics import replicate_metrics
from ctdild_sim.analysis.scores import randomised_pit
from ctdild_sim.learning.posterior import learn
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.runs.runner import simulate_metrics
from ctdild_sim.scenario.trial import ReferralTrend, Scenario

TRUTH_STREAM = 0xCA1B
"""Spawn key of the streams the true trials' parameters are drawn from."""
TRUTH_SEED_OFFSET = 5_000_011
"""Added to the seed for the true trials' own replicate streams (apart from the forecasts')."""
MEASURES = {"lplv_day": "last patient last visit (day)", "lots_consumed": "lots used"}
PLAIN_MEASURES = {"lpi_day": "last patient in (day)", "lplv_day": "last patient last visit (day)"}
"""What a trial without a cell product is checked on: when the last patient comes in, and goes out."""


DRIFT_MONTHS = 120
"""Months a drift is written out for (monthly pieces; the last holds on)."""


def _monthly(factor: Callable[[float], float]) -> ReferralTrend:
    """A drift as monthly pieces, each the factor at its month's middle."""
    return ReferralTrend(
        start_months=[float(m) for m in range(DRIFT_MONTHS)], factors=[factor(m + 0.5) for m in range(DRIFT_MONTHS)]
    )


DRIFTS: dict[str, tuple[str, ReferralTrend]] = {
    "halving": ("referral rates halving over two years", _monthly(lambda m: 0.5 ** (m / 24))),
    "stop": ("a six-month stop (months 9 to 15)", ReferralTrend(start_months=[0, 9, 15], factors=[1.0, 0.0, 1.0])),
    "ramp": ("a ramp-up (time constant 6 months)", _monthly(lambda m: -math.expm1(-m / 6))),
}
"""The drifts the calibration study draws true trials under (``benchmarks/calibration.py --drift``)."""


def measures_of(scenario: Scenario) -> dict[str, str]:
    return MEASURES if scenario.product is not None else PLAIN_MEASURES


rank = randomised_pit
"""The share of a forecast below the truth, ties broken at random (``analysis.scores``)."""


def _width(low: float, high: float) -> float:
    """An interval's width; one that ends at "never" is unbounded (inf), even if it starts there."""
    return math.inf if math.isinf(high) else high - low


def calibration(
    scenario: Scenario,
    trials: int,
    cut_days: list[float],
    replicates: int,
    seed: int,
    *,
    learning: bool = True,
    drift: ReferralTrend | None = None,
    models: tuple[str | None, ...] = (None,),
    on_trial: Callable[[int], None] | None = None,
    **options,
) -> pd.DataFrame:
    """One row per (true trial, cut day, enrolment model) that was still under way at the cut: the
    truth, its rank in the forecast, whether the 50% and 80% intervals hold it, and their widths,
    per measure. ``drift``: the truths' referral trend; ``models``: the enrolment models forecast
    under (None: the scenario's own, ``learning.enrolment_model``)."""
    prior = learn(scenario)
    truth_scenario = scenario.model_copy(update={"referral_trend": drift}) if drift is not None else scenario
    measures = measures_of(scenario)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ctdild-calibration-") as scratch:
        for i in range(trials):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TRUTH_STREAM, i)))
            drawn, share = prior.draw(truth_scenario, rng)
            truth = run_replicate(drawn, seed + TRUTH_SEED_OFFSET, i, eligible_share=share)
            true_metrics = replicate_metrics(truth, scenario)
            for cut in cut_days:
                if truth.outcome != "horizon" and truth.end_day <= cut:
                    continue  # completed or stopped by then: nothing left to forecast
                as_of = scenario.start_date + dt.timedelta(days=int(cut))
                folder = Path(scratch) / f"{i}-{int(cut)}"
                folder.mkdir()
                for name, frame in actuals_from_replicate(truth, scenario, as_of).items():
                    frame.to_csv(folder / name, index=False)
                records = read_records(folder, scenario, as_of)
                for model in models:
                    posterior = learn(scenario, records.trace, records.observed, model) if learning else None
                    forecast = simulate_metrics(
                        scenario, replicates, seed + i, trace=records.trace, posterior=posterior, **options
                    )
                    chosen = posterior.enrolment.model if posterior is not None and posterior.enrolment else ""
                    row = {"trial": i, "cut_day": cut, "model": model or "scenario's", "chosen": chosen}
                    row.update(_scored(forecast, true_metrics, measures, rng))
                    rows.append(row)
            if on_trial is not None:
                on_trial(1)
    return pd.DataFrame(rows)


def _scored(forecast: pd.DataFrame, true_metrics: dict, measures: dict[str, str], rng) -> dict:
    """Where the truth falls in one forecast, per measure."""
    row = {}
    for column in measures:
        # the records hold days, not times of day: truth and forecast are compared by day
        values = np.floor(forecast[column].to_numpy(dtype=float))
        truth = float(true_metrics[column])
        r = rank(values, math.floor(truth) if math.isfinite(truth) else math.nan, rng)
        finite = np.nan_to_num(values, nan=np.inf)
        q = {p: float(np.quantile(finite, p / 100, method="inverted_cdf")) for p in (10, 25, 75, 90)}
        row.update(
            {
                f"{column}_truth": truth,
                f"{column}_rank": r,
                f"{column}_in50": 0.25 <= r <= 0.75,
                f"{column}_in80": 0.10 <= r <= 0.90,
                f"{column}_width50": _width(q[25], q[75]),
                f"{column}_width80": _width(q[10], q[90]),
            }
        )
    return row


def coverage_table(results: pd.DataFrame, by: tuple[str, ...] = ("cut_day",)) -> pd.DataFrame:
    """Per cut day (or each of ``by``) and measure: trials, the share of truths in the 50% and 80%
    intervals with their binomial standard errors, and the median interval widths (inf: over half
    unbounded)."""
    rows = []
    measures = {c: label for c, label in {**MEASURES, **PLAIN_MEASURES}.items() if f"{c}_in50" in results}
    for key, group in results.groupby(list(by)):
        n = len(group)
        for column, label in measures.items():
            row = {**dict(zip(by, key, strict=True)), "measure": label, "trials": n}
            for level in (50, 80):
                p = level / 100
                row[f"in{level}"] = float(group[f"{column}_in{level}"].mean())
                row[f"in{level}_se"] = math.sqrt(p * (1 - p) / n) if n else math.nan
                # an interval whose end is "never" is unbounded: it counts as wider than any other
                row[f"median_width{level}"] = float(np.median(group[f"{column}_width{level}"].to_numpy(dtype=float)))
            rows.append(row)
    return pd.DataFrame(rows)
