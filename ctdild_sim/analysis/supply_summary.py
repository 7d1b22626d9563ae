"""Supply summaries across replicates: lots needed, when lots are ordered, waste, stock-out risk.

Pure functions of the run's tables (``metrics``, ``lots``, and the demand bands' tables).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from ctdild_sim.analysis.summary import QUANTILES, to_date


def lot_starts(lots: pd.DataFrame, replicates: int, start: dt.date) -> pd.DataFrame:
    """For the k-th lot ordered during the trial: share of replicates that needed it and the
    P10/P50/P90 order dates among them (the dates to have a campaign slot ready)."""
    ordered = lots[~lots["initial_stock"]].copy() if len(lots) else lots
    if not len(ordered):  # no lot ordered (or no product at all: an empty lots table)
        return pd.DataFrame(columns=LOT_START_COLUMNS)
    rows = []
    ordered["k"] = ordered.groupby("replicate")["ordered_day"].rank(method="first").astype(int)
    for k, group in ordered.groupby("k"):
        days = group["ordered_day"].to_numpy()
        p10, p50, p90 = (float(np.quantile(days, q, method="inverted_cdf")) for q in QUANTILES)
        rows.append(
            {
                "lot": int(k),
                "needed_in": len(group) / replicates,
                "p10_day": p10,
                "p50_day": p50,
                "p90_day": p90,
                "p10_date": to_date(start, p10),
                "p50_date": to_date(start, p50),
                "p90_date": to_date(start, p90),
                "failed": float(group["failed_day"].notna().mean()),
            }
        )
    return pd.DataFrame(rows, columns=LOT_START_COLUMNS)


LOT_START_COLUMNS = ["lot", "needed_in", "p10_day", "p50_day", "p90_day", "p10_date", "p50_date", "p90_date", "failed"]


def stocked_out(metrics: pd.DataFrame) -> pd.Series:
    """Per replicate: whether at least one subject waited for product (a stock-out)."""
    return metrics["stockout_events"] > 0


def stockout_risk(metrics: pd.DataFrame) -> float:
    """Share of replicates in which at least one subject waited for product."""
    return float(stocked_out(metrics).mean())


def supply_overview(metrics: pd.DataFrame) -> dict[str, float]:
    """Headline supply figures across replicates."""
    q = {f"p{int(x * 100)}": x for x in QUANTILES}

    def quantiles(column: str) -> dict[str, float]:
        return {
            f"{column}_{name}": float(np.quantile(metrics[column], x, method="inverted_cdf")) for name, x in q.items()
        }

    risk = stockout_risk(metrics)
    out = {
        "replicates": float(len(metrics)),
        "p_stockout": risk,
        "p_stockout_se": math.sqrt(risk * (1 - risk) / len(metrics)),
        "mean_stockout_events": float(metrics["stockout_events"].mean()),
        "mean_patient_days_waiting": float(metrics["patient_days_waiting_for_product"].mean()),
        "p90_patient_days_waiting": float(
            np.quantile(metrics["patient_days_waiting_for_product"], 0.9, method="inverted_cdf")
        ),
        "mean_lost_waiting": float(metrics["n_lost_waiting_for_product"].mean()),
        "mean_vials_used": float(metrics["vials_used"].mean()),
        "mean_vials_expired": float(metrics["vials_expired"].mean()),
        "mean_vials_wasted": float(metrics["vials_wasted"].mean()),
        "mean_vials_destroyed": float(metrics["vials_destroyed"].mean()),
        "mean_lots_failed": float(metrics["lots_failed"].mean()),
    }
    for column in ("lots_consumed", "lots_started", "vials_used", "cells_infused"):
        out.update(quantiles(column))
    return out


def active_periods(bands: pd.DataFrame) -> pd.DataFrame:
    """The periods worth printing: from the first with any demand until the median replicate has
    thawed everything it will and nine in ten replicates thaw nothing in the period."""
    cumulative = bands["cumulative_vials_thawed_p50"]
    started = (bands["cumulative_vials_thawed_p90"] > 0).to_numpy()
    done = ((cumulative >= cumulative.iloc[-1]) & (bands["vials_thawed_p90"] == 0)).to_numpy()
    stop = int(done.argmax()) if done.any() else len(bands)
    return bands[started & (np.arange(len(bands)) < stop)]


def month_ends(start: dt.date, periods: pd.Series) -> pd.DataFrame:
    """For the demand bands' month labels (``2024-08``): the month's last date and the simulation
    day at its end (counts "by the end of the month" take events before that day)."""
    ends = pd.PeriodIndex(periods.astype(str), freq="M").end_time.normalize()
    dates = [d.date() for d in ends]
    return pd.DataFrame(
        {"period": periods.to_numpy(), "end_date": dates, "end_day": [float((d - start).days + 1) for d in dates]}
    )


def cumulative_released(lots: pd.DataFrame, replicates: int, start: dt.date, periods: pd.Series) -> pd.DataFrame:
    """Vials released by the end of each month (the initial stock on day 0 included), P10/P50/P90
    across all ``replicates`` (a replicate without a release counts zero): the supply side of the
    cumulative supply-against-demand fan."""
    ends = month_ends(start, periods)
    released = lots[lots["released_day"].notna()]
    months = np.searchsorted(ends["end_day"].to_numpy(), released["released_day"].to_numpy(), side="right")
    counts = np.zeros((max(replicates, 1), len(ends) + 1))
    rows = released["replicate"].to_numpy(dtype=int)
    keep = rows < counts.shape[0]
    np.add.at(counts, (rows[keep], months[keep]), released["vials"].to_numpy(dtype=float)[keep])
    cumulative = np.cumsum(counts[:, :-1], axis=1)
    out = ends.copy()
    for q in QUANTILES:
        out[f"vials_released_p{int(q * 100)}"] = np.quantile(cumulative, q, axis=0, method="inverted_cdf")
    return out


def monthly_lot_events(lots: pd.DataFrame, replicates: int, start: dt.date, periods: pd.Series) -> pd.DataFrame:
    """Lots released (the initial stock not counted), failed at QC and expired with vials unused,
    per month: the mean number per replicate (what the stock projection marks)."""
    ends = month_ends(start, periods)
    edges = np.r_[0.0, ends["end_day"].to_numpy()]
    made = lots[~lots["initial_stock"]]
    expired = lots[lots["vials_expired"].fillna(0) > 0]
    out = ends.copy()
    for name, days in (
        ("released", made["released_day"]),
        ("failed", made["failed_day"]),
        ("expired", expired["expiry_day"]),
    ):
        counts, _ = np.histogram(days.dropna().to_numpy(dtype=float), bins=edges)
        out[f"lots_{name}"] = counts / max(replicates, 1)
    return out


WASTE_CAUSES = {
    "vials_expired": "expired in stock",
    "vials_wasted": "thaw window missed",
    "vials_destroyed": "failed QC (lot destroyed)",
}


def waste_by_cause(metrics: pd.DataFrame) -> pd.DataFrame:
    """Vials lost per replicate by cause: mean, P50 and P90, and the share of replicates with any."""
    rows = []
    for column, cause in WASTE_CAUSES.items():
        values = metrics[column].to_numpy(dtype=float)
        p50, p90 = np.quantile(values, [0.5, 0.9], method="inverted_cdf")
        rows.append(
            {
                "cause": cause,
                "mean_vials": values.mean(),
                "p50_vials": p50,
                "p90_vials": p90,
                "share_with_any": float((values > 0).mean()),
            }
        )
    return pd.DataFrame(rows)
