"""How every column is labelled and formatted for people: the one place that says it.

The library's tables keep stable machine names (``p50_date``, ``p_stockout``) and raw values
(days as floats, probabilities as fractions, NaN for "not reached"): they are the contract of
the Parquet files and of ``results.load``. Everything a person reads (the terminal, the
dashboard's tables and their CSV downloads, the HTML, PDF and Excel reports) goes through
``present``, which gives each column its label (with its unit) and each cell its format:

- dates as ISO dates; a quantile date that over a share of replicates never reach is "not
  reached (x% never reach it)", never a blank, ``None`` or ``inf``;
- probabilities as percentages, with the 95% Monte Carlo error of the estimate where the table
  says over how many replicates it was made; shares as plain percentages;
- durations in whole days (one decimal under ten days); counts as integers, means of counts to one
  decimal; cells as ``1.92 × 10⁹``; a percentile as ``P54``; money with its currency;
- machine keys (``milestone``, ``measure``) and simulation days that have a date beside them are
  left out: the label and the date say it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ctdild_sim.analysis.compare import wilson_interval
from ctdild_sim.scenario.notation import fmt_cells, fmt_name, fmt_quantity, fmt_share, missing

Kind = Literal[
    "text",
    "key",
    "date",
    "day",
    "days",
    "probability",
    "share",
    "percentile",
    "count",
    "mean",
    "number",
    "cells",
    "vials",
    "money",
    "bool",
    "name",
]
NOT_SHOWN: tuple[Kind, ...] = ("key",)


@dataclass(frozen=True)
class Column:
    """A column as people see it. ``reached_by``: the column holding the share of replicates that
    reach this (quantile) date, for the "not reached" text."""

    label: str
    kind: Kind = "text"
    reached_by: str | None = None
    help: str = ""


def _quantiles(prefix: str, label: str, kind: Kind, reached_by: str | None = None, suffix: str = "") -> dict:
    return {f"{prefix}p{q}{suffix}": Column(f"{label}P{q}", kind, reached_by) for q in (10, 50, 90)}


COLUMNS: dict[str, Column] = {
    # milestones and phases
    "milestone": Column("Milestone key", "key"),
    "label": Column("Milestone"),
    "reached": Column("Reached in", "share", help="Share of replicates that reach it"),
    **_quantiles("", "", "day", suffix="_day"),
    **_quantiles("", "", "date", "reached", suffix="_date"),
    "status": Column("Status"),
    "observed_date": Column("Observed on", "date"),
    "phase": Column("Phase"),
    "replicates": Column("Replicates", "count"),
    **_quantiles("", "", "days", suffix="_days"),
    # cohorts
    "cohort": Column("Cohort", "count"),
    "name": Column("Name"),
    "size": Column("Subjects", "count"),
    "infusions": Column("Infusions each", "count"),
    "p_gate_passed": Column("P(gate passed)", "probability"),
    **_quantiles("", "Gate ", "date", "p_gate_passed", suffix="_gate_date"),
    # screening
    "criterion": Column("Criterion", "name"),
    "text": Column("What it requires"),
    "mean_per_replicate": Column("Failing it per replicate (mean)", "mean"),
    "share_of_screened": Column("Share of screened", "share"),
    # lots
    "lot": Column("Lot (k-th ordered)", "count"),
    "needed_in": Column("Needed in", "share", help="Share of replicates that order a k-th lot"),
    "failed": Column("Failed QC", "share"),
    "lot_id": Column("Lot", "count"),
    "vials": Column("Vials", "vials"),
    "used": Column("Used", "vials"),
    "wasted": Column("Thawed, not infused", "vials"),
    "expired": Column("Expired", "vials"),
    "on_hand": Column("On hand", "vials"),
    "released_date": Column("Released", "date"),
    "expiry_date": Column("Expires", "date"),
    "days_to_expiry": Column("Days to expiry", "days"),
    # demand by period
    "period": Column("Period"),
    "start_date": Column("Starting", "date"),
    **_quantiles("vials_thawed_", "Vials thawed ", "vials"),
    **_quantiles("cumulative_vials_thawed_", "Cumulative vials thawed ", "vials"),
    **_quantiles("vials_in_stock_", "Vials in stock ", "vials"),
    "mean_vials_thawed": Column("Vials thawed (mean)", "mean"),
    "mean_cells_infused": Column("Cells infused (mean)", "cells"),
    # supply overview
    "p_stockout": Column("P(a subject waits for product)", "probability"),
    "p_stockout_se": Column("Standard error", "key"),  # shown as the ± of p_stockout
    "mean_stockout_events": Column("Stock-outs per replicate (mean)", "mean"),
    "mean_patient_days_waiting": Column("Subject-days waiting for product (mean)", "mean"),
    "p90_patient_days_waiting": Column("Subject-days waiting for product (P90)", "days"),
    "mean_lost_waiting": Column("Subjects lost waiting (mean)", "mean"),
    "mean_vials_used": Column("Vials infused (mean)", "mean"),
    "mean_vials_expired": Column("Vials expired (mean)", "mean"),
    "mean_vials_wasted": Column("Vials thawed, not infused (mean)", "mean"),
    "mean_vials_destroyed": Column("Vials destroyed with failed lots (mean)", "mean"),
    "mean_lots_failed": Column("Lots failing QC (mean)", "mean"),
    **_quantiles("lots_consumed_", "Lots used ", "count"),
    **_quantiles("lots_started_", "Lots started ", "count"),
    **_quantiles("vials_used_", "Vials infused ", "vials"),
    **_quantiles("cells_infused_", "Cells infused ", "cells"),
    # waste and costs
    "cause": Column("Cause"),
    "mean_vials": Column("Vials per replicate (mean)", "mean"),
    "p50_vials": Column("Vials P50", "vials"),
    "p90_vials": Column("Vials P90", "vials"),
    "share_with_any": Column("Replicates with any", "share"),
    "cost_mean": Column("Per replicate (mean)", "money"),
    **_quantiles("cost_", "", "money"),
    "currency": Column("Currency"),
    "cost_total_mean": Column("Total per replicate (mean)", "money"),
    "cost_per_dose": Column("Product cost per infused dose", "money"),
    "cost_waste_mean": Column("Wasted product per replicate (mean)", "money"),
    "cost_difference": Column("Total: difference (mean of pairs)", "money"),
    "cost_difference_low": Column("95% interval from", "money"),
    "cost_difference_high": Column("95% interval to", "money"),
    "reference_value": Column("In the first scenario"),
    "reference_share": Column("Share of screened, first scenario", "share"),
    # sensitivity: the moved assumptions (the tornado has its own presenter)
    "how": Column("Range"),
    "base_value": Column("Base value", "number"),
    "low_value": Column("Low value", "number"),
    "high_value": Column("High value", "number"),
    # the screen of a default sensitivity run
    "score": Column("Largest swing (share of the outcome's largest)", "share"),
    "moves_most": Column("Moves most"),
    "moved": Column("Moved on every replicate", "bool"),
    # uncertainty ranking
    "outcome": Column("Outcome key", "key"),
    "outcome_label": Column("Outcome"),
    "input": Column("Drawn input", "name"),
    "index": Column("Share of variance explained", "share"),
    "index_low": Column("95% from", "share"),
    "index_high": Column("95% to", "share"),
    "bins": Column("Bins", "count"),
    # what would it take
    "lever_value": Column("Lever value", "number"),
    "probability": Column("P(target event)", "probability"),
    "low": Column("95% from", "share"),
    "high": Column("95% to", "share"),
    # lot plan search
    "seeds": Column("Seeds"),
    "lookahead_days": Column("Look-ahead (days)", "days"),
    "reorder_point": Column("Reorder point (vials)", "vials"),
    "stockout_risk": Column("P(a subject waits for product)", "probability"),
    "upper_95": Column("Upper 95% bound", "share"),
    "mean_lots_started": Column("Lots started (mean)", "mean"),
    "fill_vials": Column("Lot size (vials filled)", "vials"),
    "mean_cost": Column("Expected cost per replicate", "money"),
    "mean_waste_cost": Column("of which wasted product", "money"),
    "mean_delay_cost": Column("of which delay", "money"),
    "mean_vials_not_filled": Column("Vials' worth not filled (mean)", "mean"),
    "cost_per_point": Column("Cost of 1 point less risk (against the next riskier)", "money"),
    "meets_target": Column("Meets the target", "bool"),
    # compare
    "scenario": Column("Scenario"),
    "reference": Column("Against"),
    "p_done_by_registered_date": Column("P(LPLV by the registered date)", "probability"),
    "p_lplv_reached": Column("P(LPLV reached)", "probability"),
    "lplv_p50_day": Column("LPLV P50 (day)", "day"),
    "lplv_p50_date": Column("LPLV P50", "date", "p_lplv_reached"),
    "p_stopped_early": Column("P(stopped early)", "probability"),
    "p_product_wait": Column("P(a subject waits for product)", "probability"),
    "mean_pause_days": Column("Paused days (mean)", "mean"),
    "measure": Column("Measure key", "key"),
    "statistic": Column("Statistic"),
    "unit": Column("Unit"),
    "estimate": Column("Difference", "number"),
    "ci_low": Column("95% interval from", "number"),
    "ci_high": Column("95% interval to", "number"),
    "unpaired_ci_low": Column("Unpaired 95% from", "number"),
    "unpaired_ci_high": Column("Unpaired 95% to", "number"),
    "pairs": Column("Pairs", "count"),
    "pairs_both_reached": Column("Pairs both reached", "count"),
    # forecast
    "kind": Column("Kind"),
    "actual_day": Column("Actual (day)", "day"),
    "actual_date": Column("Actual", "date"),
    "actual_count": Column("Actual count", "count"),
    **_quantiles("plan_", "Plan ", "number"),
    **_quantiles("plan_", "Plan ", "date", suffix="_date"),
    "percentile": Column("Percentile of the plan", "percentile"),
    "plan_p_reached_by_as_of": Column("Planned trials past it by now", "share"),
    "assumption": Column("Assumption key", "key"),
    "planned": Column("Planned"),
    "prior_mean": Column("Prior mean", "number"),
    "prior_low": Column("Prior 5%", "number"),
    "prior_high": Column("Prior 95%", "number"),
    "data": Column("What the records say"),
    "posterior_mean": Column("Posterior mean", "number"),
    "posterior_low": Column("Posterior 5%", "number"),
    "posterior_high": Column("Posterior 95%", "number"),
    "p_wait_for_product": Column("P(a subject waits for product)", "probability"),
    "vials_needed_p50": Column("Vials still needed P50", "vials"),
    "vials_needed_p90": Column("Vials still needed P90", "vials"),
    "stock_expiring_unused_mean": Column("Stock expiring unused (mean vials)", "mean"),
    "stock_expiring_unused_p50": Column("Stock expiring unused P50", "vials"),
    "stock_expiring_unused_p90": Column("Stock expiring unused P90", "vials"),
    # backtest: the forecast's track record
    "as_of_date": Column("As of", "date"),
    "enrolled_then": Column("Enrolled by then", "count"),
    "lpi_day_forecast": Column("Last patient in: forecast P50 (P10 to P90)"),
    "lpi_day_actual": Column("Last patient in: actual"),
    "lplv_day_forecast": Column("Last visit: forecast P50 (P10 to P90)"),
    "lplv_day_actual": Column("Last visit: actual"),
    "model": Column("Enrolment model"),
    "forecasts": Column("Forecasts scored", "count"),
    "in_50": Column("Inside the 50% interval", "share"),
    "in_50_expected": Column("Calibrated: within"),
    "in_80": Column("Inside the 80% interval", "share"),
    "in_80_expected": Column("Calibrated: within "),
    "interval_score_80": Column("Interval score, 80% (mean)", "number"),
    "crps": Column("CRPS (mean)", "number"),
    "inside_50": Column("Inside P25-P75", "bool"),
    "inside_80": Column("Inside P10-P90", "bool"),
    "interval_score_days": Column("Interval score, 80% (days)", "days"),
    "crps_days": Column("CRPS (days)", "days"),
    "count_name": Column("Count"),
    **_quantiles("count_", "", "count"),
    "count_interval_score": Column("Interval score, 80%", "number"),
    "count_crps": Column("CRPS", "number"),
    # scenario parameters and documented assumptions
    "parameter": Column("Parameter"),
    "source": Column("Source (the scenario file's comment)"),
    "weak": Column("WEAK guess", "bool"),
    # manifests
    "item": Column("Item"),
    "value": Column("Value"),
    "range": Column("Checked range"),
    "description": Column("Description"),
}


# -- cell formats ------------------------------------------------------------------------------


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: "1 row", "2 rows", "1,024 rows"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def fmt_date(value: object) -> str:
    """An ISO date ("" when there is none)."""
    if missing(value):
        return ""
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def not_reached(share_reaching: float | None) -> str:
    """What a quantile date that is never reached says: how many replicates never reach it."""
    if share_reaching is None or missing(share_reaching):
        return "not reached"
    return f"not reached ({fmt_share(1 - float(share_reaching))} never reach it)"


def mc_error(p: float, n: int) -> float:
    """The 95% Monte Carlo error (1.96 binomial standard errors) of a probability from n replicates."""
    return 1.96 * math.sqrt(max(p * (1 - p), 0.0) / n) if n > 0 else math.nan


def fmt_probability(p: object, replicates: int | None = None) -> str:
    """A probability estimated over ``replicates``: "12.3% ± 2.9%"; at 0 or 1, the one-sided 95%
    bound (rule of three): "0% (≤ 0.6%)"; near 0 or 1, where "± e" would pass below 0 or above 1,
    its Wilson 95% interval: "4.0% (95% 1.6% to 9.8%)"."""
    text = fmt_share(p)
    if not text or not replicates:
        return text
    p = float(p)
    if p == 0.0:
        return f"0% (≤ {fmt_share(3 / replicates)})"
    if p == 1.0:
        return f"100% (≥ {fmt_share(1 - 3 / replicates)})"
    error = mc_error(p, replicates)
    if p - error < 0 or p + error > 1:
        low, high = wilson_interval(round(p * replicates), replicates)
        return f"{text} (95% {fmt_share(low)} to {fmt_share(high)})"
    return f"{text} ± {fmt_share(error)}"


def _unbounded(x: object) -> str | None:
    """The text of a missing ("") or infinite ("never") value; None for a finite number."""
    if missing(x):
        return ""
    if math.isinf(float(x)):
        return "never" if float(x) > 0 else "-never"
    return None


def fmt_days(x: object) -> str:
    """A duration in days: whole days, or one decimal under ten ("never" for an endless one)."""
    if (text := _unbounded(x)) is not None:
        return text
    x = float(x)
    return f"{x:,.1f}" if abs(x) < 10 and x != round(x) else f"{x:,.0f}"


def fmt_count(x: object) -> str:
    return text if (text := _unbounded(x)) is not None else f"{float(x):,.0f}"


def fmt_mean(x: object) -> str:
    """A mean of counts: one decimal, two under one."""
    if missing(x):
        return ""
    x = float(x)
    return f"{x:,.2f}" if abs(x) < 1 else f"{x:,.1f}"


def fmt_number(x: object) -> str:
    """A number to three significant figures ("never" for an unbounded one)."""
    if (text := _unbounded(x)) is not None:
        return text
    x = float(x)
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        return fmt_cells(x)
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


DISTRIBUTION_KEYS = {"mean", "median", "p90", "value", "sd", "low", "high", "mean_value", "cv", "shape", "share"}
"""Last steps of a path that name a distribution's parameter, not the assumption itself."""


def fmt_path(path: object) -> str:
    """A scenario field's dotted path as people read it: "population.family_support" -> "Family
    support (population)", "sites.0.referral_rate_per_month" -> "Referral rate per month (site 1)",
    "screening.duration_days.median" -> "Duration days: median (screening)". (Ranges files and
    the Scenario page's parameter table keep the path: it is what the file writes.)"""
    if missing(path):
        return ""
    parts = str(path).split(".")
    stat = parts.pop() if len(parts) > 1 and parts[-1] in DISTRIBUTION_KEYS else None
    name = fmt_name(parts.pop()) if parts else ""
    where: list[str] = []
    for part in parts:
        if part.isdigit() and where:
            where[-1] = f"{where[-1].removesuffix('s')} {int(part) + 1}"
        else:
            where.append(fmt_name(part))
    text = (name[:1].upper() + name[1:]) + (f": {fmt_name(stat)}" if stat else "")
    return text + (f" ({', '.join(where)})" if where else "")


def fmt_percentile(x: object) -> str:
    return "" if missing(x) else f"P{float(x):.0f}"


def fmt_money(x: object, currency: str = "", signed: bool = False) -> str:
    if missing(x):
        return ""
    text = f"{float(x):{'+' if signed else ''},.0f}"
    return f"{currency} {text}".strip()


def fmt_bool(x: object) -> str:
    return "" if missing(x) else ("yes" if bool(x) else "no")


def fmt_text(x: object) -> str:
    if missing(x):
        return ""
    if isinstance(x, dt.date):
        return fmt_date(x)
    if isinstance(x, float):
        return fmt_number(x)
    return str(x)


# fmt: off
FORMATS: dict[Kind, Callable[[object], str]] = {
    "text": fmt_text, "key": fmt_text, "date": fmt_date, "day": fmt_days, "days": fmt_days,
    "probability": fmt_share, "share": fmt_share, "percentile": fmt_percentile, "count": fmt_count,
    "mean": fmt_mean, "number": fmt_number, "cells": fmt_cells, "vials": fmt_count, "money": fmt_money,
    "bool": fmt_bool, "name": fmt_name,
}
# fmt: on


# -- tables --------------------------------------------------------------------------------------


def numeric(name: str) -> bool:
    """Whether a column holds numbers (right-aligned in a table) rather than text or dates."""
    return column(name).kind not in ("text", "key", "date", "bool", "name")


def column(name: str) -> Column:
    """The column's label and format (``KeyError`` for a column no one has described: add it above)."""
    return COLUMNS[name]


def label(name: str) -> str:
    return column(name).label


def shown_columns(frame: pd.DataFrame) -> list[str]:
    """The columns a person sees: not machine keys, not simulation days with a date beside them."""
    names = list(frame.columns)
    shown = []
    for name in names:
        spec = column(name)
        if spec.kind in NOT_SHOWN:
            continue
        if spec.kind == "day" and name.removesuffix("_day") + "_date" in names:
            continue
        if spec.kind == "day" and name.replace("_day", "_date") in names:
            continue
        shown.append(name)
    return shown


def format_cell(name: str, value: object, row: pd.Series | None = None, replicates: int | None = None) -> str:
    """One cell as people read it (``row``: the rest of its row, for "not reached (x% never)")."""
    spec = column(name)
    if spec.kind == "date" and missing(value) and spec.reached_by and row is not None and spec.reached_by in row:
        return not_reached(row[spec.reached_by])
    if spec.kind == "probability":
        return fmt_probability(value, replicates)
    return FORMATS[spec.kind](value)


def present(
    frame: pd.DataFrame,
    table: str | None = None,
    *,
    replicates: int | None = None,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """``frame`` as people read it: the shown columns, labelled, every cell formatted as text.

    ``table`` names a table whose rows mix units (``PRESENTERS``); ``replicates`` (or a
    ``replicates`` column) gives probabilities their Monte Carlo error; ``labels`` overrides a
    column's label for this table (``label`` is a milestone in one table, an assumption in another)."""
    table = table or mixed_table(frame)
    if table in PRESENTERS:
        return PRESENTERS[table](frame)
    shown = shown_columns(frame)
    names = {name: (labels or {}).get(name, label(name)) for name in shown}
    if len(set(names.values())) < len(names):
        raise ValueError(f"two shown columns share a label: {list(names.values())}")
    out = {}
    for name in shown:
        cells = []
        for _, row in frame.iterrows():
            n = replicates
            if n is None and "replicates" in frame.columns and not missing(row["replicates"]):
                n = int(row["replicates"])
            cells.append(format_cell(name, row[name], row, n))
        out[names[name]] = cells
    return pd.DataFrame(out, columns=list(names.values()))


# -- tables whose rows mix units ---------------------------------------------------------------


def fmt_belief(mean: float, low: float, high: float, unit: str) -> str:
    """A belief's mean and 90% interval in its unit: "1.0 [0.72, 1.33]/month", "26.9% [16.8%, 38.2%]"."""
    if unit in ("share", "probability"):
        return f"{fmt_share(mean)} [{fmt_share(low)}, {fmt_share(high)}]"
    if unit == "cells":
        return f"{fmt_cells(mean)} [{fmt_cells(low)}, {fmt_cells(high)}]"
    text = f"{mean:.3g} [{low:.3g}, {high:.3g}]"
    return text if unit == "factor" else text + (unit if unit.startswith("/") else f" {unit}")


def _assumptions(frame: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "Assumption": r.label,
            "Planned": r.planned,
            "Prior (mean [90%])": fmt_belief(r.prior_mean, r.prior_low, r.prior_high, r.unit),
            "What the records say": r.data,
            "Posterior (mean [90%])": fmt_belief(r.posterior_mean, r.posterior_low, r.posterior_high, r.unit),
        }
        for r in frame.itertuples()
    ]
    return pd.DataFrame(
        rows, columns=["Assumption", "Planned", "Prior (mean [90%])", "What the records say", "Posterior (mean [90%])"]
    )


def fmt_signed(value: float, unit: str) -> str:
    """A difference in its unit: "+47 days", "-1.2%", "+never" (one side never reaches it)."""
    if missing(value):
        return "not reached in either"
    if math.isinf(value):
        return f"{'+' if value > 0 else '-'}never"
    if unit == "probability":
        return f"{value:+.1%}"
    if unit == "days":
        if value == 0:
            return "0 days"
        return f"{value:+,.0f} days" if abs(value) >= 10 or value == round(value) else f"{value:+.1f} days"
    return f"{fmt_quantity(value, signed=True)} {unit}".strip()


def fmt_span(low: float, high: float, unit: str) -> str:
    if missing(low) or missing(high):
        return ""
    if math.isinf(low) and math.isinf(high):
        return "unbounded"
    return f"{fmt_signed(low, unit)} to {fmt_signed(high, unit)}"


def _differences(frame: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "Scenario": r.scenario,
            "Against": r.reference,
            "Measure": r.label,
            "Statistic": r.statistic,
            "Difference": fmt_signed(r.estimate, r.unit),
            "95% interval (paired)": fmt_span(r.ci_low, r.ci_high, r.unit),
            "95% interval (unpaired)": fmt_span(r.unpaired_ci_low, r.unpaired_ci_high, r.unit),
            "Both reached / pairs": f"{r.pairs_both_reached} / {r.pairs}",
        }
        for r in frame.itertuples()
    ]
    columns = [
        "Scenario",
        "Against",
        "Measure",
        "Statistic",
        "Difference",
        "95% interval (paired)",
        "95% interval (unpaired)",
        "Both reached / pairs",
    ]
    return pd.DataFrame(rows, columns=columns)


def _plan_vs_actual(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in frame.itertuples():
        if r.kind == "milestone":
            actual = fmt_date(r.actual_date) if not missing(r.actual_date) else "not yet"
            plan = [
                fmt_date(d) if not missing(d) else "not reached"
                for d in (r.plan_p10_date, r.plan_p50_date, r.plan_p90_date)
            ]
        else:
            actual = fmt_count(r.actual_count)
            plan = [fmt_count(v) for v in (r.plan_p10, r.plan_p50, r.plan_p90)]
        if not missing(r.percentile):
            where = f"P{r.percentile:.0f}"
        elif not missing(r.plan_p_reached_by_as_of):
            where = f"{fmt_share(r.plan_p_reached_by_as_of)} of planned trials were past it"
        else:
            where = ""
        rows.append(
            {
                "Measure": r.label,
                "Actual": actual,
                "Plan P10": plan[0],
                "Plan P50": plan[1],
                "Plan P90": plan[2],
                "Percentile of the plan": where,
            }
        )
    return pd.DataFrame(
        rows, columns=["Measure", "Actual", "Plan P10", "Plan P50", "Plan P90", "Percentile of the plan"]
    )


def fmt_change(value: float, low: float, high: float, unit: str) -> str:
    """A change with its interval in one cell: "+1,115 days [+865, +1,266]"."""
    text = fmt_signed(value, unit)
    if missing(low) or missing(high):
        return text
    if math.isinf(low) and math.isinf(high):
        return f"{text} [unbounded]"
    ends = [fmt_signed(x, unit).removesuffix(f" {unit}").removesuffix(" days") for x in (low, high)]
    return f"{text} [{ends[0]}, {ends[1]}]"


def _tornado(frame: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "Outcome": r.outcome_label,
            "Assumption": fmt_path(r.parameter),
            "Base": fmt_quantity(r.base_value),
            "Outcome at base": r.base_outcome_text,
            "Low": fmt_quantity(r.low_value),
            "Change at low [95%]": fmt_change(r.low_change, r.low_ci_low, r.low_ci_high, r.unit),
            "High": fmt_quantity(r.high_value),
            "Change at high [95%]": fmt_change(r.high_change, r.high_ci_low, r.high_ci_high, r.unit),
            "Pairs": str(r.pairs),
        }
        for r in frame.itertuples()
    ]
    columns = [
        "Outcome",
        "Assumption",
        "Base",
        "Outcome at base",
        "Low",
        "Change at low [95%]",
        "High",
        "Change at high [95%]",
        "Pairs",
    ]
    return pd.DataFrame(rows, columns=columns)


def fmt_in_unit(value: float, unit: str, currency: str = "", signed: bool = False) -> str:
    """A value of a savings row in its unit: money with its currency, vials and lots to a decimal
    (they are means), a probability as a percentage."""
    if missing(value):
        return ""
    sign = "+" if signed else ""
    if unit == "money":
        return fmt_money(value, currency, signed)
    if unit == "probability":  # a difference of probabilities is in percentage points
        return f"{value * 100:+.1f} points" if signed else f"{value:.1%}"
    return f"{value:{sign},.1f}"


def _savings(frame: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "Measure": r.measure,
            "Scenario's decisions (mean)": fmt_in_unit(r.scenario_mean, r.unit, r.currency),
            "The plan (mean)": fmt_in_unit(r.plan_mean, r.unit, r.currency),
            "Plan minus scenario (paired)": fmt_in_unit(r.saving_difference, r.unit, r.currency, signed=True),
            "95% interval": (
                f"{fmt_in_unit(r.saving_low, r.unit, r.currency, signed=True)} to "
                f"{fmt_in_unit(r.saving_high, r.unit, r.currency, signed=True)}"
            ),
        }
        for r in frame.itertuples()
    ]
    columns = [
        "Measure",
        "Scenario's decisions (mean)",
        "The plan (mean)",
        "Plan minus scenario (paired)",
        "95% interval",
    ]
    return pd.DataFrame(rows, columns=columns)


def mixed_table(frame: pd.DataFrame) -> str | None:
    """Which table of mixed units ``frame`` is, by the columns only it has (None: none of them)."""
    names = set(frame.columns)
    for table, signature in SIGNATURES.items():
        if signature <= names:
            return table
    return None


SIGNATURES = {
    "assumptions": {"prior_mean", "posterior_mean", "unit"},
    "paired_differences": {"statistic", "estimate", "ci_low", "unit"},
    "plan_vs_actual": {"plan_p_reached_by_as_of", "actual_count", "plan_p50"},
    "tornado": {"outcome_label", "low_change", "high_change", "swing"},
    "savings": {"scenario_mean", "plan_mean", "saving_difference", "unit"},
}

PRESENTERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "assumptions": _assumptions,
    "paired_differences": _differences,
    "plan_vs_actual": _plan_vs_actual,
    "tornado": _tornado,
    "savings": _savings,
}
"""Tables whose rows mix units: each has its own presenter (the same formats, row by row)."""
