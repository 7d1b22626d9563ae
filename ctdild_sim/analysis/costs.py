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
    wasted = (lots[["vials_expired", "vials_wasted", "vials_destroyed"]].fillna(0).sum(axis=1)).to_numpy(dtype=float)
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


def replicate_costs(metrics: pd.DataFrame, lots: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Per replicate: manufacturing, storage, delay, total and waste cost, infusions given, and
    ``delay_censored`` (never reached last patient last visit: the delay cost is a lower bound)."""
    costs = scenario.product.costs if scenario.product is not None else None
    if costs is None:
        raise ValueError(f"scenario {scenario.name!r} declares no product.costs")
    per_lot = lot_costs(lots, costs).groupby("replicate")[["cost", "waste_cost"]].sum()
    out = pd.DataFrame({"replicate": metrics["replicate"].to_numpy()})
    out["manufacturing"] = per_lot["cost"].reindex(out["replicate"], fill_value=0.0).to_numpy()
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
    out["waste"] = per_lot["waste_cost"].reindex(out["replicate"], fill_value=0.0).to_numpy()
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
