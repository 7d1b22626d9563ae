"""A backtest, the forecast's track record (``ctdild-sim backtest``, the Track record page): what
the forecast said as of each past date against what then happened, how often the truth fell in
its 50% and 80% intervals, its scores, and each milestone's slip."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ctdild_sim.analysis.summary import milestone_labels
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.backtest import coverage_summary
from ctdild_sim.views.columns import fmt_date, fmt_share
from ctdild_sim.views.figures import slip_figure
from ctdild_sim.views.view import View, kind_view

BACKTEST_TABLES = ("backtest_scores", "backtest_points")
HEADLINE = ("lpi_day", "lplv_day")
"""The milestones the track record's summary table shows, as of each date."""


def backtest_view(runs: list[RunRecord]) -> View:
    """Each backtest among ``runs`` (the others are named as not shown)."""
    view, named = kind_view(
        runs,
        "backtest",
        "backtests",
        "Track record",
        "Pick a backtest run above (ctdild-sim backtest SCENARIO --actuals RECORDS makes one): the "
        "forecast as of each past date against what then happened.",
    )
    for name, run in named.items():
        _backtest_parts(view, name, run)
    return view


def _backtest_parts(view: View, name: str, run: RunRecord) -> None:
    scenario, manifest, tables = run.scenario, run.manifest, run.tables
    scores, points = tables["backtest_scores"], tables["backtest_points"]
    view.notes += [f"Warning: {name}: {w}" for w in manifest.get("warnings", [])]
    dates = manifest.get("as_of_dates", [])
    learned = "assumptions learned from the records cut at each date" if manifest.get("learning") else "as written"
    view.notes.append(
        f"{name}: forecasts as of {len(dates)} dates from {dates[0] if dates else '?'}, every "
        f"{manifest.get('every')}, from the records cut at each (nothing later read), {learned}; "
        f"scored against the records to {manifest.get('records_end')}; "
        f"{run.replicates} replicates each, seed {run.seed}."
    )
    summary = coverage_summary(scores)
    for row in summary.sort_values("kind", key=lambda k: k.map({"milestone": 0, "count": 1, "all": 2})).itertuples():
        if row.kind == "all":
            continue
        what = "milestones reached after the forecast" if row.kind == "milestone" else "counts on the next date"
        view.answer(
            f"{name}: how often the truth fell in the forecast's intervals ({what}, {row.forecasts} forecasts)",
            f"50% interval: {fmt_share(row.in_50)} (calibrated: 50% ± {2 * row.in_50_se:.0%}); "
            f"80% interval: {fmt_share(row.in_80)} (80% ± {2 * row.in_80_se:.0%})",
        )
    truths = manifest.get("truths", {})
    view.table(
        f"{name}: the track record, as of each date",
        track_record(scores, points, scenario, truths, str(manifest.get("records_end", ""))),
    )
    view.table(f"{name}: coverage and scores", _summary_table(summary))
    milestones = scores[scores["kind"] == "milestone"]
    for target in dict.fromkeys(milestones["target"]):
        label = milestone_labels(scenario).get(target, target)
        view.figure(
            f"slip-{target}",
            slip_figure,
            milestones[milestones["target"] == target],
            scenario.start_date,
            label,
            caption=f"{label}: the forecast's P10 to P90 and P50 as of each date; the line is the actual date.",
        )
    milestone_table = f"{name}: every milestone scored"
    view.table(milestone_table, _milestone_scores(milestones, scenario))
    counts_table = f"{name}: every count scored (on the next backtest date)"
    view.table(counts_table, _count_scores(scores[scores["kind"] == "count"]))
    view.long |= {milestone_table, counts_table}


def _date(start: dt.date, day: float) -> str:
    return fmt_date(start + dt.timedelta(days=float(day)))


def _band(start: dt.date, row) -> str:
    return f"{_date(start, row.p50)} ({_date(start, row.p10)} to {_date(start, row.p90)})"


def track_record(
    scores: pd.DataFrame, points: pd.DataFrame, scenario: Scenario, truths: dict, records_end: str
) -> pd.DataFrame:
    """One row per as-of date: the enrolment by then, the forecast of last patient in and of the
    last visit (P50, P10 to P90) against the actual dates, and the enrolment model used. A
    milestone not scored was reached before that date, or not by the records' end."""
    start = scenario.start_date
    rows = []
    for point in points.itertuples():
        row = {"as_of_date": point.as_of, "enrolled_then": point.enrolled}
        for target in HEADLINE:
            scored = scores[(scores["as_of"] == point.as_of) & (scores["target"] == target)]
            if scored.empty:
                reached = truths.get(target) is not None
                row[f"{target}_forecast"] = "reached before" if reached else "not scored"
                row[f"{target}_actual"] = "" if reached else f"not reached by {records_end}"
                continue
            s = next(scored.itertuples())
            row[f"{target}_forecast"] = _band(start, s)
            row[f"{target}_actual"] = _date(start, s.actual) + ("" if s.in_80 else " (outside P10-P90)")
        row["model"] = point.model
        rows.append(row)
    return pd.DataFrame(rows)


def _summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    out = summary.copy()
    out["in_50_expected"] = [f"50% ± {2 * se:.0%}" for se in out["in_50_se"]]
    out["in_80_expected"] = [f"80% ± {2 * se:.0%}" for se in out["in_80_se"]]
    out["kind"] = out["kind"].map({"milestone": "Milestones", "count": "Counts", "all": "All"})
    return out[["kind", "forecasts", "in_50", "in_50_expected", "in_80", "in_80_expected", "interval_score_80", "crps"]]


def _milestone_scores(milestones: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    start, labels = scenario.start_date, milestone_labels(scenario)
    out = pd.DataFrame(
        {
            "as_of_date": milestones["as_of"],
            "label": milestones["target"].map(lambda t: labels.get(t, t)),
            **{
                f"{q}_date": [start + dt.timedelta(days=float(d)) for d in milestones[q]] for q in ("p10", "p50", "p90")
            },
            "actual_date": [start + dt.timedelta(days=float(d)) for d in milestones["actual"]],
            "inside_50": milestones["in_50"],
            "inside_80": milestones["in_80"],
            "interval_score_days": milestones["interval_score_80"],
            "crps_days": milestones["crps"],
            "reached": milestones["reached_share"],
        }
    )
    return out.reset_index(drop=True)


def _count_scores(counts: pd.DataFrame) -> pd.DataFrame:
    what = counts["target"].str.split(":", n=1)
    out = pd.DataFrame(
        {
            "as_of_date": counts["as_of"],
            "count_name": [f"{name.removesuffix('_by').capitalize()} by {day}" for name, day in what],
            "count_p10": counts["p10"],
            "count_p50": counts["p50"],
            "count_p90": counts["p90"],
            "actual_count": counts["actual"],
            "inside_50": counts["in_50"],
            "inside_80": counts["in_80"],
            "count_interval_score": counts["interval_score_80"],
            "count_crps": counts["crps"],
        }
    )
    return out.reset_index(drop=True)
