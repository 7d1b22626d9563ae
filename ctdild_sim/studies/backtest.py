"""A backtest: the forecast's track record on a trial's own records.

As of each past date (from ``start``, every ``period``), the records are cut at that date
(``actuals.cut``: nothing later is read), the assumptions learned from the cut records, and the
trial forecast as ``studies.forecast`` does. Each forecast is then scored against what the full
records show later (``analysis.scores``): every milestone reached after its date, and the counts
(referred, screened, enrolled) on the next backtest date. The table of scores is the study's one
output; the view reads coverage, scores and the slip of each milestone off it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ctdild_sim.actuals.cut import records_as_of
from ctdild_sim.actuals.reader import RecordFiles, sdtm_source
from ctdild_sim.actuals.records import TrialRecords, read_records
from ctdild_sim.analysis.forecast import observed_milestones
from ctdild_sim.analysis.metrics import counts_by, milestone_columns
from ctdild_sim.analysis.scores import crps, inside, interval_score, quantile_band, randomised_pit
from ctdild_sim.learning.posterior import learn
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.trial import Scenario

COUNTS = ("referred", "screened", "enrolled")
"""The counts scored on the next backtest date (``analysis.metrics.COUNTED_BY``)."""
MAX_POINTS = 60
"""A backtest forecasts as of at most this many dates."""
PIT_STREAM = 0xB7
"""Spawn key of the streams that share ties in the scores' randomised PITs."""


class BacktestError(ValueError):
    """Backtest dates that cannot be used: the message says which option and why."""


_PERIOD = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A step between backtest dates: some days, weeks, months or years (``3M``)."""

    count: int
    unit: str  # D, W, M or Y

    @classmethod
    def parse(cls, text: str) -> Period:
        """``3M``, ``6W``, ``90D`` or ``1Y``; ``ValueError`` saying what is accepted otherwise."""
        match = _PERIOD.match(text or "")
        if not match or int(match[1]) == 0:
            raise ValueError(f"{text!r} is not a period: a whole number and D, W, M or Y (3M, 6W, 90D, 1Y)")
        return cls(int(match[1]), match[2].upper())

    def after(self, day: dt.date) -> dt.date:
        """The date one period after ``day`` (a month's end where the day does not exist: 31 Jan + 1M = 28 Feb)."""
        if self.unit == "D":
            return day + dt.timedelta(days=self.count)
        if self.unit == "W":
            return day + dt.timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "Y" else 1)
        year, month = divmod(day.month - 1 + months, 12)
        year += day.year
        return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


FIRST_AFTER = Period(6, "M")
"""A backtest's first forecast, unless told: six months after the first enrolment (fewer records
tell little, and a sponsor asks for a forecast once enrolment is under way)."""

Progress = Callable[[str, int | None, int], None]


@dataclass
class Backtest:
    """The scores of every backtest forecast, and what they were made from."""

    scenario: Scenario
    dates: list[dt.date]
    end: dt.date  # the date the full records run to: the truth
    period: Period
    scores: pd.DataFrame  # one row per (as-of date, milestone or count)
    points: pd.DataFrame  # one row per as-of date: what the forecast was made from
    seed: int
    replicates: int
    learning: bool
    origin: str
    warnings: list[str] = field(default_factory=list)
    truths: dict[str, float | None] = field(default_factory=dict)  # each milestone's day in the full records

    def manifest(self) -> dict:
        return {
            "kind": "backtest",
            "truths": self.truths,
            "actuals_folder": self.origin,
            "as_of_dates": [d.isoformat() for d in self.dates],
            "records_end": self.end.isoformat(),
            "every": str(self.period),
            "learning": self.learning,
            "warnings": list(self.warnings),
        }

    def output_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return [("backtest_scores", self.scores), ("backtest_points", self.points)]


def backtest_dates(first: dt.date, end: dt.date, period: Period) -> list[dt.date]:
    """The as-of dates from ``first``, every ``period``, before ``end`` (at most ``MAX_POINTS``)."""
    dates, day = [], first
    while day < end and len(dates) < MAX_POINTS:
        dates.append(day)
        day = period.after(day)
    return dates


def first_enrolment(records: TrialRecords, scenario: Scenario) -> dt.date | None:
    """The day the records' first subject was enrolled."""
    days = [s.enrolled_day for s in records.trace.subjects.values()]
    return scenario.start_date + dt.timedelta(days=min(days)) if days else None


def backtest(
    scenario: Scenario,
    source: str | Path | RecordFiles,
    end: dt.date,
    replicates: int,
    seed: int,
    *,
    period: Period,
    start: dt.date | None = None,
    learning: bool = True,
    enrolment_model: str | None = None,
    progress: Progress | None = None,
    **options,
) -> Backtest:
    """Forecast as of each date from ``start`` (default: six months after the first enrolment)
    every ``period`` before ``end``, from the records cut at each, and score every forecast
    against the records to ``end`` (see the module)."""
    full = read_records(source, scenario, end)
    truth_milestones = observed_milestones(full.observed.history, len(scenario.cohorts))
    if start is None:
        first = first_enrolment(full, scenario)
        if first is None:
            raise BacktestError("--from: the records enrol nobody: give the first date to forecast as of")
        start = FIRST_AFTER.after(first)
    if start < scenario.start_date:
        raise BacktestError(f"--from: {start} is before the study's start {scenario.start_date}")
    if start >= end:
        raise BacktestError(f"--from: no date to forecast as of: {start} is not before the records' end {end}")
    dates = backtest_dates(start, end, period)
    if len(dates) == MAX_POINTS and period.after(dates[-1]) < end:
        raise BacktestError(
            f"--every: {period} from {start} to {end} gives more than {MAX_POINTS} dates; at most {MAX_POINTS} "
            "(a longer period, or a later --from)"
        )
    scores, points = [], []
    read_once = sdtm_source(source) or source  # SDTM read (and checked) once, cut at every date
    for k, as_of in enumerate(dates):
        records = read_records(records_as_of(read_once, scenario, as_of), scenario, as_of)
        following = dates[k + 1] if k + 1 < len(dates) else min(period.after(as_of), end)
        counts_day = scenario.day_of(following) + 1.0  # the counts by the end of the next date
        posterior = learn(scenario, records.trace, records.observed, enrolment_model) if learning else None
        choice = posterior.enrolment if posterior is not None else None
        tables = run_scenario(
            scenario,
            replicates,
            seed,
            on_replicate=(lambda n=1, d=as_of: progress(f"Forecast as of {d}", replicates, n)) if progress else None,
            trace=records.trace,
            posterior=posterior,
            counts_day=counts_day,
            metrics_only=True,
            keep_events=0,
            **options,
        )
        truth_counts = counts_by(full.observed.history, counts_day)
        now = counts_by(records.observed.history, records.restart_day)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PIT_STREAM, k)))
        scores += _scored(scenario, as_of, records, tables.metrics, truth_milestones, truth_counts, following, rng)
        points.append(
            {
                "as_of": as_of,
                "restart_day": records.restart_day,
                "referred": now["referred_by_day"],
                "enrolled": now["enrolled_by_day"],
                "counts_on": following,
                "model": choice.model if choice is not None else "homogeneous (as planned)",
                "model_reason": choice.reason if choice is not None else "learning off: the scenario as written",
                "model_parameters": choice.fit.parameters if choice is not None else "",
            }
        )
    return Backtest(
        scenario,
        dates,
        end,
        period,
        pd.DataFrame(scores, columns=SCORE_COLUMNS),
        pd.DataFrame(points),
        seed,
        replicates,
        learning,
        str(full.actuals.folder),
        full.warnings,
        {t: truth_milestones.get(t) for t in backtest_targets(len(scenario.cohorts))},
    )


SCORE_COLUMNS = [
    "as_of",
    "target",
    "kind",
    "replicates",
    "reached_share",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "actual",
    "pit",
    "in_50",
    "in_80",
    "interval_score_80",
    "crps",
]


def _scored(
    scenario: Scenario,
    as_of: dt.date,
    records: TrialRecords,
    metrics: pd.DataFrame,
    truth: dict[str, float],
    truth_counts: dict[str, int],
    counts_on: dt.date,
    rng: np.random.Generator,
) -> list[dict]:
    """The scores of one forecast: each milestone the full records reached after ``as_of`` (the
    same dates twice over, as a single cohort's enrolment and last patient in, scored once), and
    each count on the next date. Milestones are compared by day, as the records hold them."""
    rows: list[dict] = []
    restart, horizon = records.restart_day, scenario.horizon_days
    seen: list[tuple[float, bytes]] = []
    for column in backtest_targets(len(scenario.cohorts)):
        actual = truth.get(column)
        if actual is None or actual < restart or column not in metrics:
            continue
        raw = metrics[column].to_numpy(dtype=float)
        values = np.floor(np.where(np.isnan(raw), horizon, raw))  # by day; never reached: at the horizon
        key = (actual, values.tobytes())
        if key in seen:
            continue
        seen.append(key)
        reached = float(np.mean(~np.isnan(raw)))
        rows.append(_row(as_of, column, "milestone", values, float(math.floor(actual)), reached, rng))
    for name in COUNTS:
        column = f"{name}_by_day"
        if column in metrics and counts_on > as_of:
            values = metrics[column].to_numpy(dtype=float)
            actual = float(truth_counts[column])
            rows.append(_row(as_of, f"{name}_by:{counts_on}", "count", values, actual, 1.0, rng))
    return rows


def backtest_targets(n_cohorts: int) -> list[str]:
    """The milestones a backtest scores, the trial's own first (last patient in, last visit), so
    that a cohort milestone on the same day as one of them is the one left out."""
    first = ["lpi_day", "lplv_day", "first_infusion_day", "last_infusion_day"]
    return [*first, *(c for c in milestone_columns(n_cohorts) if c not in first)]


def _row(
    as_of: dt.date, target: str, kind: str, values: np.ndarray, actual: float, reached: float, rng: np.random.Generator
) -> dict:
    pit = randomised_pit(values, actual, rng)
    return {
        "as_of": as_of,
        "target": target,
        "kind": kind,
        "replicates": len(values),
        "reached_share": reached,
        **quantile_band(values),
        "actual": actual,
        "pit": pit,
        "in_50": inside(pit, 0.5),
        "in_80": inside(pit, 0.8),
        "interval_score_80": interval_score(values, actual, 0.8),
        "crps": crps(values, actual),
    }


def coverage_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the 50% and 80% intervals, the mean interval score and CRPS, by kind and in all,
    with each coverage's binomial standard error at its nominal share."""
    rows = []
    for kind, group in [*scores.groupby("kind", sort=True), ("all", scores)]:
        n = len(group)
        if n == 0:
            continue
        rows.append(
            {
                "kind": kind,
                "forecasts": n,
                "in_50": float(group["in_50"].mean()),
                "in_50_se": math.sqrt(0.25 / n),
                "in_80": float(group["in_80"].mean()),
                "in_80_se": math.sqrt(0.16 / n),
                "interval_score_80": float(group["interval_score_80"].mean()),
                "crps": float(group["crps"].mean()),
            }
        )
    return pd.DataFrame(rows)
