"""What a run costs, from its lot table and metrics and the scenario's ``product.costs``.

Pure functions. Per replicate: manufacturing (every lot in the table, the initial stock included:
``lot_fixed + per_vial x vials``), storage (released vials x days in stock, from the metric
``vial_days_in_stock``), delay (days the last patient's last visit falls after the registered
completion date; a replicate that never got there is charged up to the day it ended, which makes
its delay cost a lower bound, and is counted as such), and the cost of waste (each expired, thaw-
wasted or QC-destroyed vial carries its lot's cost per vial; a lot that failed before it was
filled is waste whole).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctdild_sim.analysis.compare import mean_difference
from ctdild_sim.analysis.supply_summary import stocked_out
from ctdild_sim.scenario.product import Costs
from ctdild_sim.scenario.trial import Scenario

DAYS_PER_MONTH = 365.25 / 12
COST_ITEMS = {
    "manufacturing": "Lots made (fixed and per vial)",
    "storage": "Storage of released vials",
    "delay": "Delay after the registered completion date",
    "total": "Total",
    "waste": "of which wasted product (expired, thaw window missed, failed QC)",
}
"""The cost block's rows, in order, and how they are labelled."""


def lot_costs(lots: pd.DataFrame, costs: Costs) -> pd.DataFrame:
    """Per lot: its cost and the cost of its wasted vials (replicate, lot_id, cost, waste_cost)."""
    vials = lots["vials"].fillna(0).to_numpy(dtype=float)
    cost = costs.lot_fixed + costs.per_vial * vials
    wasted = lots[LOST].fillna(0).sum(axis=1).to_numpy(dtype=float)
    per_vial = np.divide(cost, vials, out=np.zeros_like(cost), where=vials > 0)
    failed_unfilled = lots["failed_day"].notna().to_numpy() & (vials == 0)
    waste = np.where(failed_unfilled, cost, wasted * per_vial)
    return pd.DataFrame(
        {
            "replicate": lots["replicate"].to_numpy(),
            "lot_id": lots["lot_id"].to_numpy(),
            "cost": cost,
            "waste_cost": waste,
        }
    )


LOT_TOTALS = ("lots_made", "vials_made", "lot_shares_wasted")
"""The supply metrics a replicate's manufacturing and waste costs are priced from."""
LOST = ["vials_expired", "vials_wasted", "vials_destroyed"]
"""Vials wasted, whatever the cause: what the cost of waste counts."""


def lot_totals(lots: pd.DataFrame) -> pd.DataFrame:
    """Per replicate (indexed by it), from a lot table: ``LOT_TOTALS`` and ``vials_lost`` (expired,
    thaw-wasted or destroyed), for runs stored before the supply metrics held them."""
    vials = lots["vials"].fillna(0).to_numpy(dtype=float)
    lost = lots[LOST].fillna(0).sum(axis=1).to_numpy(dtype=float)
    failed_unfilled = lots["failed_day"].notna().to_numpy() & (vials == 0)
    share = np.where(failed_unfilled, 1.0, np.divide(lost, vials, out=np.zeros_like(vials), where=vials > 0))
    frame = pd.DataFrame(
        {"replicate": lots["replicate"].to_numpy(), "vials_made": vials, "lot_shares_wasted": share, "vials_lost": lost}
    )
    grouped = frame.groupby("replicate")
    return grouped[["vials_made", "lot_shares_wasted", "vials_lost"]].sum().assign(lots_made=grouped.size())


def _priced_totals(metrics: pd.DataFrame, lots: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Per replicate in the metrics' order: what the lots are priced from (``lot_totals``)."""
    if all(c in metrics.columns for c in (*LOT_TOTALS, *LOST)):
        totals = {c: metrics[c].to_numpy(dtype=float) for c in LOT_TOTALS}
        return totals | {"vials_lost": metrics[LOST].sum(axis=1).to_numpy(dtype=float)}
    if lots is None:
        raise ValueError("the run's metrics do not count its lots, and no lot table was given")
    by_replicate = lot_totals(lots).reindex(metrics["replicate"].to_numpy(), fill_value=0.0)
    return {c: by_replicate[c].to_numpy(dtype=float) for c in (*LOT_TOTALS, "vials_lost")}


def replicate_costs(metrics: pd.DataFrame, lots: pd.DataFrame | None, scenario: Scenario) -> pd.DataFrame:
    """Per replicate: manufacturing, storage, delay, total and waste cost, infusions given, and
    ``delay_censored`` (never reached last patient last visit: the delay cost is a lower bound).
    Lots are priced from the metrics' ``LOT_TOTALS`` (from ``lots``, the lot table, for a run stored
    before the metrics held them): manufacturing is ``lot_fixed x lots + per_vial x vials``, waste
    ``lot_fixed x lots' worth wasted + per_vial x vials wasted`` (each wasted vial carries its
    lot's cost per vial)."""
    costs = scenario.product.costs if scenario.product is not None else None
    if costs is None:
        raise ValueError(f"scenario {scenario.name!r} declares no product.costs")
    out = pd.DataFrame({"replicate": metrics["replicate"].to_numpy()})
    totals = _priced_totals(metrics, lots)
    out["manufacturing"] = costs.lot_fixed * totals["lots_made"] + costs.per_vial * totals["vials_made"]
    stock_days = metrics.get("vial_days_in_stock", np.nan)
    out["storage"] = costs.storage_per_vial_month * np.asarray(stock_days, dtype=float) / DAYS_PER_MONTH
    lplv = metrics["lplv_day"].to_numpy(dtype=float)
    reached = ~np.isnan(lplv)
    registered = scenario.registered_completion_date
    if registered is None:
        late = np.zeros(len(out))
    else:
        last = np.where(reached, lplv, metrics["end_day"].to_numpy(dtype=float))
        late = np.maximum(0.0, np.floor(last) - scenario.day_of(registered))
    out["delay"] = costs.delay_per_day * late
    out["total"] = out["manufacturing"] + out["storage"] + out["delay"]
    out["waste"] = costs.lot_fixed * totals["lot_shares_wasted"] + costs.per_vial * totals["vials_lost"]
    out["infusions"] = metrics["n_infusions"].to_numpy()
    stopped = metrics["stopped_early"].to_numpy(dtype=bool)
    out["delay_censored"] = ~reached & ~stopped & (registered is not None)
    return out


def cost_summary(per_replicate: pd.DataFrame) -> pd.DataFrame:
    """The cost block: for each item (``COST_ITEMS``) its mean, P10, P50 and P90 per replicate."""
    rows = []
    for item, label in COST_ITEMS.items():
        values = per_replicate[item].to_numpy(dtype=float)
        p10, p50, p90 = np.quantile(values, [0.1, 0.5, 0.9], method="inverted_cdf")
        rows.append({"item": label, "cost_mean": values.mean(), "cost_p10": p10, "cost_p50": p50, "cost_p90": p90})
    return pd.DataFrame(rows)


def cost_per_dose(per_replicate: pd.DataFrame) -> float:
    """Product cost (lots and storage) per infusion given, over all replicates (a ratio of sums,
    so replicates with few infusions weigh as little as they should); NaN if none was given."""
    doses = per_replicate["infusions"].sum()
    product = (per_replicate["manufacturing"] + per_replicate["storage"]).sum()
    return float(product / doses) if doses else float("nan")


SAVINGS = {
    "total": ("Expected cost: total", "money"),
    "manufacturing": ("of which lots made", "money"),
    "storage": ("of which storage", "money"),
    "delay": ("of which delay", "money"),
    "waste": ("Cost of wasted product", "money"),
    "vials_expired": ("Vials expired", "vials"),
    "vials_not_filled": ("Vials' worth not filled (past the lot size)", "vials"),
    "lots_started": ("Lots started", "lots"),
    "stockout": ("P(a subject waits for product)", "probability"),
}
"""The rows of a plan's savings against the scenario's own decisions: label and unit."""


def plan_savings(plan: pd.DataFrame, reference: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Per measure (``SAVINGS``), the mean under the scenario's own decisions (``reference``'s
    metrics) and under the plan (``plan``'s, the same replicates), and the paired difference (plan
    minus scenario) with its 95% interval. Cost rows only where the scenario prices the product."""
    plan = plan.sort_values("replicate", ignore_index=True)
    reference = reference.sort_values("replicate", ignore_index=True)
    if not np.array_equal(plan["replicate"].to_numpy(), reference["replicate"].to_numpy()):
        raise ValueError("a plan's savings pair the same replicates: the two runs' replicates differ")
    values: dict[str, tuple[pd.Series, pd.Series]] = {}
    priced = scenario.product is not None and scenario.product.costs is not None
    if priced:
        a, b = replicate_costs(reference, None, scenario), replicate_costs(plan, None, scenario)
        values |= {k: (a[k], b[k]) for k in ("total", "manufacturing", "storage", "delay", "waste")}
    for key in ("vials_expired", "vials_not_filled", "lots_started"):
        if key in plan.columns and key in reference.columns:
            values[key] = (reference[key].astype(float), plan[key].astype(float))
    values["stockout"] = (stocked_out(reference).astype(float), stocked_out(plan).astype(float))
    rows = []
    for key, (before, after) in values.items():
        label, unit = SAVINGS[key]
        d = mean_difference(before, after)
        rows.append(
            {
                "measure": label,
                "unit": unit,
                "currency": scenario.product.costs.currency if priced else "",  # type: ignore[union-attr]
                "scenario_mean": float(before.mean()),
                "plan_mean": float(after.mean()),
                "saving_difference": d.estimate,
                "saving_low": d.low,
                "saving_high": d.high,
                "pairs": d.pairs,
            }
        )
    return pd.DataFrame(rows)
