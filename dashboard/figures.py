"""Figure builders: pure functions of a run's tables (and its scenario), no Dash, no I/O. Those
the reports also draw live in ``ctdild_sim.reports.figures`` and are re-exported here.

Each builder takes the tables a stored run holds (``metrics``, ``events``, ``patients``,
``screenings``, ``lots``, ``demand_weekly``) keyed by a display name, and returns a plotly figure.
The numeric work behind a figure is a separate function returning a DataFrame, so the tests
check the numbers, not the drawing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ctdild_sim.analysis.metrics import milestone_columns
from ctdild_sim.analysis.summary import QUANTILES, milestone_labels
from ctdild_sim.analysis.tables import day_to_date
from ctdild_sim.reports.figures import (
    COLOURS,
    band,
    differences_figure,
    forecast_milestone_figure,
    mark_registered_completion,
    milestone_ecdf_figure,
    progress_figure,
    rgba,
)
from ctdild_sim.scenario.trial import Scenario

__all__ = [
    "cells_figure",
    "cohort_completion_figure",
    "demand_figure",
    "differences_figure",
    "enrolment_fan_figure",
    "enrolment_quantiles",
    "forecast_milestone_figure",
    "gantt_figure",
    "gantt_segments",
    "lot_release_rate",
    "milestone_box_figure",
    "milestone_dates",
    "milestone_ecdf_figure",
    "progress_figure",
    "screen_failure_figure",
    "stock_figure",
]


# -- timeline ------------------------------------------------------------------------------
def enrolment_quantiles(patients: pd.DataFrame, replicates: list[int], step_days: float = 7.0) -> pd.DataFrame:
    """Cumulative subjects enrolled by day, P10/P50/P90 across ``replicates`` (those without any
    enrolment count as zero), on a grid of ``step_days`` from day 0 past the last enrolment."""
    by_rep = {r: np.sort(g["enrolled_day"].to_numpy(dtype=float)) for r, g in patients.groupby("replicate")}
    last = max((d[-1] for d in by_rep.values() if len(d)), default=0.0)
    grid = np.arange(0.0, last + 2 * step_days, step_days)
    empty = np.array([], dtype=float)
    counts = np.stack([np.searchsorted(by_rep.get(r, empty), grid, side="right") for r in replicates])
    out = pd.DataFrame({"day": grid})
    for q in QUANTILES:
        out[f"p{int(q * 100)}"] = np.quantile(counts, q, axis=0, method="inverted_cdf")
    return out


def enrolment_fan_figure(fans: dict[str, tuple[pd.DataFrame, Scenario]]) -> go.Figure:
    """Cumulative enrolment fan (P10-P90 band and P50 line) per run; target enrolment dotted."""
    fig = go.Figure()
    for i, (name, (quantiles, scenario)) in enumerate(fans.items()):
        x = day_to_date(scenario.start_date, quantiles["day"])
        band(fig, x, quantiles["p10"], quantiles["p90"], quantiles["p50"], name, COLOURS[i % len(COLOURS)])
    targets = {s.target_enrolment for _, s in fans.values()}
    for target in targets:
        fig.add_hline(y=target, line_dash="dot", annotation_text=f"design: {target} subjects")
    fig.update_layout(title="Cumulative enrolment", xaxis_title="date", yaxis_title="subjects enrolled")
    return fig


def milestone_dates(metrics: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Long table of every milestone date a replicate reached: milestone (label), replicate, date."""
    labels = milestone_labels(scenario)
    frames = []
    for column in milestone_columns(len(scenario.cohorts)):
        days = metrics[["replicate", column]].dropna()
        dates = pd.to_datetime(day_to_date(scenario.start_date, days[column]))
        frames.append(pd.DataFrame({"milestone": labels[column], "replicate": days["replicate"], "date": dates}))
    return pd.concat(frames, ignore_index=True)


def milestone_box_figure(dates: dict[str, pd.DataFrame], registered: dt.date | None) -> go.Figure:
    """Distribution of each milestone's date, one box per run and milestone (replicates that never
    reached a milestone are left out: see the milestone table for the share that did)."""
    fig = go.Figure()
    for i, (name, frame) in enumerate(dates.items()):
        fig.add_trace(go.Box(x=frame["date"], y=frame["milestone"], name=name, orientation="h", boxpoints=False,
                             marker_color=COLOURS[i % len(COLOURS)]))  # fmt: skip
    if registered is not None:
        mark_registered_completion(fig, registered)
    fig.update_layout(title="Milestone dates (replicates that reached them)", boxmode="group", xaxis_title="date",
                      yaxis={"autorange": "reversed"}, height=520)  # fmt: skip
    return fig


PHASE_COLOURS = {
    "screening": "#9ecae1",
    "waiting for dosing": "#d9d9d9",
    "infusion stay": "#e6550d",
    "safety hold": "#fdae6b",
    "follow-up": "#74c476",
}


def gantt_segments(events: pd.DataFrame, screenings: pd.DataFrame, replicate: int) -> pd.DataFrame:
    """One replicate's subjects as phases: subject, phase, start_day, end_day (screening of the
    passed screen that led to enrolment, waiting, each infusion stay, the hold, follow-up)."""
    ev = events[events["replicate"] == replicate]
    end_of_run = float(ev["day"].max()) if len(ev) else 0.0
    passed = screenings[(screenings["replicate"] == replicate) & screenings["eligible"]]
    rows = []
    for pid, g in ev[ev["patient_id"].notna()].groupby("patient_id", sort=True):
        days = {name: list(grp["day"]) for name, grp in g.groupby("event")}
        if "enrolled" not in days:
            continue
        label = f"subject {int(pid)} (cohort {int(g['cohort'].dropna().iloc[0])})"
        enrolled = days["enrolled"][0]
        finished = days.get("follow_up_completed", []) + days.get("died", []) + days.get("withdrawn", [])
        finished += days.get("lost", [])
        end = finished[0] if finished else end_of_run
        screen = passed[(passed["candidate_id"] == pid) & (passed["decision_day"] <= enrolled)]
        if len(screen):
            last = screen.iloc[-1]
            rows.append((label, "screening", float(last["screening_started_day"]), float(last["decision_day"])))
        admitted, discharged = days.get("admitted", []), days.get("discharged", [])
        first_admission = admitted[0] if admitted else end
        rows.append((label, "waiting for dosing", enrolled, first_admission))
        for k, a in enumerate(admitted):
            rows.append((label, "infusion stay", a, discharged[k] if k < len(discharged) else end))
        if "hold_completed" in days and admitted:
            hold_done = days["hold_completed"][0]
            rows.append((label, "safety hold", days["infused"][-1], hold_done))
            rows.append((label, "follow-up", hold_done, end))
    return pd.DataFrame(rows, columns=["subject", "phase", "start_day", "end_day"])


def pauses(events: pd.DataFrame, replicate: int) -> list[tuple[float, float]]:
    """Safety pauses of one replicate as (start_day, end_day); an open pause ends with the run."""
    ev = events[events["replicate"] == replicate]
    end_of_run = float(ev["day"].max()) if len(ev) else 0.0
    starts = list(ev.loc[ev["event"] == "pause_started", "day"])
    ends = list(ev.loc[ev["event"] == "pause_ended", "day"])
    return [(s, ends[k] if k < len(ends) else end_of_run) for k, s in enumerate(starts)]


def gantt_figure(segments: pd.DataFrame, paused: list[tuple[float, float]], scenario: Scenario, replicate: int):
    """The subjects of one replicate, phase by phase, with safety pauses shaded."""
    if segments.empty:
        fig = go.Figure()
        fig.update_layout(title=f"Replicate {replicate}: no subject was enrolled")
        return fig
    frame = segments.copy()
    frame["start"] = pd.to_datetime(day_to_date(scenario.start_date, frame["start_day"]))
    frame["finish"] = pd.to_datetime(day_to_date(scenario.start_date, frame["end_day"]))
    fig = px.timeline(frame, x_start="start", x_end="finish", y="subject", color="phase",
                      color_discrete_map=PHASE_COLOURS, category_orders={"phase": list(PHASE_COLOURS)})  # fmt: skip
    for a, b in paused:
        fig.add_vrect(x0=scenario.start_date + dt.timedelta(days=a), x1=scenario.start_date + dt.timedelta(days=b),
                      fillcolor="red", opacity=0.12, line_width=0)  # fmt: skip
    fig.update_yaxes(autorange="reversed", title=None)
    title = f"Replicate {replicate}: subjects by phase" + (" (safety pauses shaded)" if paused else "")
    fig.update_layout(title=title, xaxis_title="date", legend_title_text="phase")
    return fig


# -- cell product --------------------------------------------------------------------------
def demand_figure(demand: dict[str, pd.DataFrame]) -> go.Figure:
    """Vials thawed per week (P10-P90 band, P50, dashed mean) per run."""
    fig = go.Figure()
    for i, (name, weekly) in enumerate(demand.items()):
        colour = COLOURS[i % len(COLOURS)]
        x = weekly["start_date"]
        band(fig, x, weekly["vials_thawed_p10"], weekly["vials_thawed_p90"], weekly["vials_thawed_p50"], name, colour)
        fig.add_trace(go.Scatter(x=x, y=weekly["mean_vials_thawed"], mode="lines", name=f"{name} mean",
                                 line={"color": colour, "dash": "dash"}, legendgroup=name))  # fmt: skip
    fig.update_layout(title="Vials thawed per week", xaxis_title="week starting", yaxis_title="vials")
    return fig


def cells_figure(demand: dict[str, tuple[pd.DataFrame, float]]) -> go.Figure:
    """Cells thawed per week (vials thawed x cells per vial: P10-P90 band, P50) and the mean cells
    infused (dotted; less than thawed, since a dose is rounded up to whole vials)."""
    fig = go.Figure()
    for i, (name, (weekly, vial_cells)) in enumerate(demand.items()):
        colour = COLOURS[i % len(COLOURS)]
        x = weekly["start_date"]
        band(fig, x, weekly["vials_thawed_p10"] * vial_cells, weekly["vials_thawed_p90"] * vial_cells,
              weekly["vials_thawed_p50"] * vial_cells, name, colour)  # fmt: skip
        fig.add_trace(go.Scatter(x=x, y=weekly["mean_cells_infused"], mode="lines", name=f"{name} mean infused",
                                 line={"color": colour, "dash": "dot"}, legendgroup=name))  # fmt: skip
    fig.update_layout(title="Cells per week", xaxis_title="week starting", yaxis_title="cells",
                      yaxis_exponentformat="e")  # fmt: skip
    return fig


def lot_release_rate(lots: pd.DataFrame, replicates: int, start: dt.date) -> pd.DataFrame:
    """Mean lots released (and failed) per week across replicates, initial stock excluded."""
    made = lots[~lots["initial_stock"]]
    rows = {}
    for column, label in (("released_day", "released"), ("failed_day", "failed")):
        weeks = (made[column].dropna() // 7).astype(int)
        rows[label] = weeks.value_counts() / max(replicates, 1)
    frame = pd.DataFrame(rows).fillna(0.0).sort_index()
    frame.index.name = "week"
    frame = frame.reset_index()
    frame["start_date"] = [start + dt.timedelta(days=7 * int(w)) for w in frame["week"]]
    return frame.reindex(columns=["week", "start_date", "released", "failed"], fill_value=0.0)


def stock_figure(stock: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> go.Figure:
    """Vials in stock at the end of each week (P10-P90, P50) and the lots released per week (bars)."""
    fig = go.Figure()
    for i, (name, (weekly, releases)) in enumerate(stock.items()):
        colour = COLOURS[i % len(COLOURS)]
        x = weekly["start_date"]
        band(fig, x, weekly["vials_in_stock_p10"], weekly["vials_in_stock_p90"], weekly["vials_in_stock_p50"],
              name, colour)  # fmt: skip
        fig.add_trace(go.Bar(x=releases["start_date"], y=releases["released"], name=f"{name} lots released / week",
                             marker_color=rgba(colour, 0.6), yaxis="y2", legendgroup=name))  # fmt: skip
    fig.update_layout(title="Stock and lot releases", xaxis_title="week starting", yaxis_title="vials in stock",
                      yaxis2={"title": "lots released per week (mean)", "overlaying": "y", "side": "right"},
                      barmode="overlay")  # fmt: skip
    return fig


# -- cohorts and screening -----------------------------------------------------------------
def cohort_completion_figure(metrics: pd.DataFrame, scenario: Scenario, name: str) -> go.Figure:
    """P(cohort k has passed its gate by date), one step curve per cohort (stopped trials never do)."""
    curves = {
        f"cohort {k} ({c.name})": (metrics[f"cohort{k}_gate_day"], scenario.start_date)
        for k, c in enumerate(scenario.cohorts, start=1)
    }
    return milestone_ecdf_figure(curves, f"{name}: P(cohort has passed its gate by date)")


def screen_failure_figure(failures: dict[str, pd.DataFrame]) -> go.Figure:
    """Share of screened candidates each criterion rules out, per run (``screen_failure_summary``)."""
    fig = go.Figure()
    for name, table in failures.items():
        fig.add_trace(go.Bar(y=table["criterion"], x=table["share_of_screened"], orientation="h", name=name,
                             hovertext=table["text"]))  # fmt: skip
    fig.update_layout(title="Screen failures by criterion (share of screened candidates)", xaxis_tickformat=".0%",
                      yaxis={"autorange": "reversed"}, barmode="group")  # fmt: skip
    return fig
