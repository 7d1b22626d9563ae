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
    ordered = lots[~lots["initial_stock"]].copy()
    ordered["k"] = ordered.groupby("replicate")["ordered_day"].rank(method="first").astype(int)
    rows = []
    for k, group in ordered.groupby("k"):
        days = group["ordered_day"].to_numpy()
        p10, p50, p90 = (float(np.quantile(days, q, method="inverted_cdf")) for q in QUANTILES)
        rows.append({
            "lot": int(k), "needed_in": len(group) / replicates,
            "p10_day": p10, "p50_day": p50, "p90_day": p90,
            "p10_date": to_date(start, p10), "p50_date": to_date(start, p50), "p90_date": to_date(start, p90),
            "failed": float(group["failed_day"].notna().mean()),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["lot", "needed_in", "p10_day", "p50_day", "p90_day", "p10_date",
                                       "p50_date", "p90_date", "failed"])  # fmt: skip


def stockout_risk(metrics: pd.DataFrame) -> float:
    """Share of replicates in which at least one subject waited for product."""
    return float((metrics["stockout_events"] > 0).mean())


def supply_overview(metrics: pd.DataFrame) -> dict[str, float]:
    """Headline supply figures across replicates."""
    q = {f"p{int(x * 100)}": x for x in QUANTILES}

    def quantiles(column: str) -> dict[str, float]:
        return {f"{column}_{name}": float(np.quantile(metrics[column], x, method="inverted_cdf"))
                for name, x in q.items()}  # fmt: skip

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
