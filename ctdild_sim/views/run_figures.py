"""Figures of one run's tables, page by page: the timeline (enrolment fan, milestone boxes, Gantt
chart), the product (supply, demand, stock, waste, cost), the cohorts and the screening. Figures
shared by several studies are in ``figures``.

Each builder takes the tables a run holds (``metrics``, ``events``, ``patients``, ``screenings``,
``lots``, ``demand_monthly``) keyed by a display name, and returns a plotly figure. The numeric work
behind a figure is a separate function returning a DataFrame, so the tests check the numbers, not
the drawing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ctdild_sim.analysis.metrics import milestone_columns
from ctdild_sim.analysis.summary import QUANTILES, milestone_labels
from ctdild_sim.analysis.tables import day_to_date
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.views.columns import fmt_name
from ctdild_sim.views.figures import (
    COLOURS,
    band,
    chart_end,
    end_chart,
    legend_below,
    mark_registered_completion,
    milestone_ecdf_figure,
)


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
        fig.add_trace(
            go.Box(
                x=frame["date"],
                y=frame["milestone"],
                name=name,
                orientation="h",
                boxpoints=False,
                marker_color=COLOURS[i % len(COLOURS)],
            )
        )
    if registered is not None:
        mark_registered_completion(fig, registered)
    fig.update_layout(
        title="Milestone dates (replicates that reached them)",
        boxmode="group",
        xaxis_title="date",
        yaxis={"autorange": "reversed"},
        height=520,
    )
    return fig


PHASE_COLOURS = {
    "screening": "#9ecae1",
    "waiting for a cohort slot": "#bcbddc",
    "waiting for dosing": "#d9d9d9",
    "between doses": "#f0f0f0",
    "waiting for product": "#984ea3",
    "waiting for a bed": "#8c6d31",
    "infusion stay": "#e6550d",
    "safety hold": "#fdae6b",
    "follow-up": "#74c476",
}
"""Phases in drawing order: a wait for product or a bed is drawn over the wait it interrupts."""

EXIT_MARKS = {
    "died": ("died", "x", "#000000"),
    "withdrawn": ("withdrew", "triangle-left", "#444444"),
    "lost": ("lost (screen expired waiting for product)", "square", "#984ea3"),
    "replacement_added": ("a replacement enrolled for them", "star", "#1f77b4"),
}


def _subject_label(pid: object, cohort: object) -> str:
    return f"subject {int(pid)} (cohort {int(cohort)})"


def gantt_segments(
    events: pd.DataFrame, screenings: pd.DataFrame, replicate: int, patients: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One replicate's subjects as phases: subject, phase, start_day, end_day: the screen that led
    to enrolment, the wait for a cohort slot (``patients``' ``waited_for_slot_days``), the wait
    from enrolment to the first admission, each infusion stay and the time between doses, the
    waits for product and for a bed drawn as such, the hold and follow-up."""
    ev = events[events["replicate"] == replicate]
    end_of_run = float(ev["day"].max()) if len(ev) else 0.0
    passed = screenings[(screenings["replicate"] == replicate) & screenings["eligible"]]
    slot_waits = {}
    if patients is not None and "waited_for_slot_days" in patients:
        mine = patients[patients["replicate"] == replicate]
        slot_waits = dict(zip(mine["patient_id"], mine["waited_for_slot_days"], strict=True))
    rows = []
    for pid, g in ev[ev["patient_id"].notna()].groupby("patient_id", sort=True):
        days = {name: list(grp["day"]) for name, grp in g.groupby("event")}
        if "enrolled" not in days:
            continue
        label = _subject_label(pid, g["cohort"].dropna().iloc[0])
        enrolled = days["enrolled"][0]
        finished = days.get("follow_up_completed", []) + days.get("died", []) + days.get("withdrawn", [])
        finished += days.get("lost", [])
        end = min(finished) if finished else end_of_run
        screen = passed[(passed["candidate_id"] == pid) & (passed["decision_day"] <= enrolled)]
        if len(screen):
            last = screen.iloc[-1]
            rows.append((label, "screening", float(last["screening_started_day"]), float(last["decision_day"])))
        slot_wait = float(slot_waits.get(pid, 0.0) or 0.0)
        if slot_wait > 0:
            rows.append((label, "waiting for a cohort slot", enrolled - slot_wait, enrolled))
        admitted, discharged = days.get("admitted", []), days.get("discharged", [])
        rows.append((label, "waiting for dosing", enrolled, admitted[0] if admitted else end))
        for k, a in enumerate(admitted):
            out = discharged[k] if k < len(discharged) else end
            rows.append((label, "infusion stay", a, out))
            if k + 1 < len(admitted):
                rows.append((label, "between doses", out, admitted[k + 1]))
        starts, ends = days.get("product_wait_started", []), days.get("product_wait_ended", [])
        for k, started in enumerate(starts):
            rows.append((label, "waiting for product", started, ends[k] if k < len(ends) else end))
        if "bed_wait_ended" in days:
            bed = g[g["event"] == "bed_wait_ended"]
            rows += [
                (label, "waiting for a bed", float(day) - float(waited), float(day))
                for day, waited in zip(bed["day"], bed["value"], strict=True)
            ]
        if "hold_completed" in days and admitted:
            hold_done = days["hold_completed"][0]
            rows.append((label, "safety hold", days["infused"][-1], hold_done))
            rows.append((label, "follow-up", hold_done, end))
    return pd.DataFrame(rows, columns=["subject", "phase", "start_day", "end_day"])


def gantt_exits(events: pd.DataFrame, replicate: int) -> pd.DataFrame:
    """Deaths, withdrawals, subjects lost, and the subjects a replacement was enrolled for: subject,
    kind (an ``EXIT_MARKS`` key), day."""
    ev = events[
        (events["replicate"] == replicate) & events["event"].isin(list(EXIT_MARKS)) & events["patient_id"].notna()
    ]
    subjects = [_subject_label(p, c) for p, c in zip(ev["patient_id"], ev["cohort"], strict=True)]
    return pd.DataFrame(
        {"subject": subjects, "kind": ev["event"].astype(str).to_numpy(), "day": ev["day"].to_numpy(dtype=float)}
    )


def pauses(events: pd.DataFrame, replicate: int) -> list[tuple[float, float]]:
    """Safety pauses of one replicate as (start_day, end_day); an open pause ends with the run."""
    ev = events[events["replicate"] == replicate]
    end_of_run = float(ev["day"].max()) if len(ev) else 0.0
    starts = list(ev.loc[ev["event"] == "pause_started", "day"])
    ends = list(ev.loc[ev["event"] == "pause_ended", "day"])
    return [(s, ends[k] if k < len(ends) else end_of_run) for k, s in enumerate(starts)]


def gantt_figure(
    segments: pd.DataFrame,
    paused: list[tuple[float, float]],
    scenario: Scenario,
    replicate: int,
    exits: pd.DataFrame | None = None,
    name: str = "",
) -> go.Figure:
    """The subjects of one replicate, phase by phase, with its exits marked and safety pauses
    shaded; ``name`` says which run it is when several are drawn."""
    prefix = f"{name}: replicate {replicate}" if name else f"Replicate {replicate}"
    if segments.empty:
        fig = go.Figure()
        fig.update_layout(title=f"{prefix}: no subject was enrolled")
        return fig
    frame = segments.copy()
    frame["start"] = pd.to_datetime(day_to_date(scenario.start_date, frame["start_day"]))
    frame["finish"] = pd.to_datetime(day_to_date(scenario.start_date, frame["end_day"]))
    shown = [p for p in PHASE_COLOURS if p in set(frame["phase"])]
    fig = px.timeline(
        frame,
        x_start="start",
        x_end="finish",
        y="subject",
        color="phase",
        color_discrete_map=PHASE_COLOURS,
        category_orders={"phase": shown},
    )
    fig.update_traces(marker_line_width=0)
    for kind, group in (exits if exits is not None else pd.DataFrame(columns=["kind"])).groupby("kind", sort=False):
        what, symbol, colour = EXIT_MARKS[kind]
        x = pd.to_datetime(day_to_date(scenario.start_date, group["day"]))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=group["subject"],
                mode="markers",
                name=what,
                marker={"symbol": symbol, "size": 12, "color": colour, "line": {"width": 2, "color": colour}},
            )
        )
    for a, b in paused:
        fig.add_vrect(
            x0=scenario.start_date + dt.timedelta(days=a),
            x1=scenario.start_date + dt.timedelta(days=b),
            fillcolor="red",
            opacity=0.12,
            line_width=0,
        )
    fig.update_yaxes(autorange="reversed", title=None)
    title = f"{prefix}: subjects by phase" + (" (safety pauses shaded)" if paused else "")
    fig.update_layout(
        title=title,
        xaxis_title="date",
        legend_title_text="phase",
        height=max(320, 140 + 26 * frame["subject"].nunique()),
    )
    return fig


# -- cell product --------------------------------------------------------------------------
def supply_cumulative_figure(supply: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> go.Figure:
    """Cumulative vials needed (thawed) against cumulative vials released, by the end of each month
    (P10-P90 bands and P50 lines, from ``demand_monthly`` and ``cumulative_released``): where the
    released line runs close to the needed one, subjects wait."""
    fig = go.Figure()
    for i, (name, (monthly, released)) in enumerate(supply.items()):
        colour = COLOURS[i % len(COLOURS)]
        x = released["end_date"]
        band(
            fig,
            x,
            monthly["cumulative_vials_thawed_p10"],
            monthly["cumulative_vials_thawed_p90"],
            monthly["cumulative_vials_thawed_p50"],
            f"{name} vials needed",
            colour,
        )
        band(
            fig,
            x,
            released["vials_released_p10"],
            released["vials_released_p90"],
            released["vials_released_p50"],
            f"{name} vials released",
            COLOURS[(i + 3) % len(COLOURS)],
        )
    fig.update_layout(
        title="Vials needed against vials released (cumulative, by month end)", xaxis_title="month", yaxis_title="vials"
    )
    return legend_below(fig, rows=len(supply))


def monthly_demand_figure(demand: dict[str, pd.DataFrame]) -> go.Figure:
    """Vials thawed per month: the mean per replicate (bars) and the P90 (markers: nine replicates
    in ten thaw no more that month). A trial of ten subjects thaws a few vials in a few months, so
    a weekly P50 would be a row of zeros."""
    fig = go.Figure()
    for i, (name, monthly) in enumerate(demand.items()):
        colour = COLOURS[i % len(COLOURS)]
        x = monthly["period"].astype(str)
        fig.add_trace(
            go.Bar(x=x, y=monthly["mean_vials_thawed"], name=f"{name} mean", marker_color=colour, legendgroup=name)
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=monthly["vials_thawed_p90"],
                mode="markers",
                name=f"{name} P90",
                marker={"color": colour, "symbol": "line-ew-open", "size": 14, "line": {"width": 2}},
                legendgroup=name,
            )
        )
    fig.update_layout(title="Vials thawed per month", xaxis_title="month", yaxis_title="vials", barmode="group")
    return legend_below(fig)


# fmt: off
LOT_MARKS = {"lots_released": ("released", "#31a354"), "lots_failed": ("failed QC", "#de2d26"),
             "lots_expired": ("expired with vials unused", "#756bb1")}
# fmt: on


def stock_projection_figure(stock: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> go.Figure:
    """Vials in stock at each month's end (P10-P90, P50) above the lots released, failed and expired
    per month (mean per replicate), on their own axis so neither squeezes the other."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06)
    for i, (name, (monthly, events)) in enumerate(stock.items()):
        colour = COLOURS[i % len(COLOURS)]
        x = events["end_date"]
        band(
            fig,
            x,
            monthly["vials_in_stock_p10"],
            monthly["vials_in_stock_p90"],
            monthly["vials_in_stock_p50"],
            f"{name} vials in stock",
            colour,
        )
        for column, (what, mark) in LOT_MARKS.items():
            fig.add_trace(
                go.Bar(
                    x=x, y=events[column], name=f"{name} lots {what}", marker_color=mark, legendgroup=f"{name} {what}"
                ),
                row=2,
                col=1,
            )
    fig.update_yaxes(title_text="vials in stock", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="lots per month<br>(mean)", tickformat=".2~f", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="month end", row=2, col=1)
    fig.update_layout(title="Stock projection, with lot releases, failures and expiries", barmode="group", height=600)
    return legend_below(fig, rows=1 + len(stock))


def waste_figure(waste: dict[str, pd.DataFrame]) -> go.Figure:
    """Vials lost per replicate by cause (mean), one stacked bar per run (``waste_by_cause``)."""
    fig = go.Figure()
    causes = next(iter(waste.values()))["cause"] if waste else []
    for k, cause in enumerate(causes):
        fig.add_trace(
            go.Bar(
                y=list(waste),
                x=[float(t.loc[t["cause"] == cause, "mean_vials"].iloc[0]) for t in waste.values()],
                name=cause,
                orientation="h",
                marker_color=COLOURS[(k + 4) % len(COLOURS)],
            )
        )
    fig.update_layout(
        title="Vials lost per replicate, by cause (mean)",
        barmode="stack",
        xaxis_title="vials",
        height=180 + 50 * len(waste),
        yaxis={"autorange": "reversed"},
    )
    return legend_below(fig)


COST_PARTS = {"manufacturing": "lots made", "storage": "storage", "delay": "delay after registered completion"}


def cost_figure(costs: dict[str, tuple[pd.DataFrame, str]]) -> go.Figure:
    """Mean cost per replicate by part (stacked), one bar per run, with the cost of wasted product
    drawn over its manufacturing part (hatched: it is part of it, not extra)."""
    fig = go.Figure()
    names = list(costs)
    currencies = {currency for _, currency in costs.values()}
    for k, (part, label) in enumerate(COST_PARTS.items()):
        fig.add_trace(
            go.Bar(
                y=names,
                x=[float(c[part].mean()) for c, _ in costs.values()],
                name=label,
                orientation="h",
                marker_color=COLOURS[k % len(COLOURS)],
                offsetgroup="cost",
            )
        )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[float(c["waste"].mean()) for c, _ in costs.values()],
            orientation="h",
            name="of which wasted product",
            offsetgroup="waste",
            marker={
                "color": "rgba(0,0,0,0)",
                "line": {"color": "#333", "width": 1},
                "pattern": {"shape": "/", "fgcolor": "#333"},
            },
        )
    )
    unit = currencies.pop() if len(currencies) == 1 else "scenario currency"
    fig.update_layout(
        title="Cost per replicate (mean)",
        barmode="relative",
        xaxis_title=unit,
        xaxis_tickformat=",.0f",
        height=200 + 60 * len(names),
        yaxis={"autorange": "reversed"},
    )
    return legend_below(fig)


# -- cohorts and screening -----------------------------------------------------------------
def cohort_completion_figure(metrics: pd.DataFrame, scenario: Scenario, name: str) -> go.Figure:
    """P(cohort k has passed its gate by date), one step curve per cohort (stopped trials never do)."""
    curves = {
        f"cohort {k} ({c.name})": (metrics[f"cohort{k}_gate_day"], scenario.start_date)
        for k, c in enumerate(scenario.cohorts, start=1)
    }
    fig = milestone_ecdf_figure(curves, f"{name}: P(cohort has passed its gate by date)")
    return end_chart(fig, scenario.start_date, chart_end([(metrics, scenario)]))


def screen_failure_figure(failures: dict[str, pd.DataFrame]) -> go.Figure:
    """Share of screened candidates each criterion rules out, per run (``screen_failure_summary``)."""
    fig = go.Figure()
    for name, table in failures.items():
        fig.add_trace(
            go.Bar(
                y=table["criterion"].map(fmt_name),
                x=table["share_of_screened"],
                orientation="h",
                name=name,
                hovertext=table["text"],
            )
        )
    fig.update_layout(
        title="Screen failures by criterion (share of screened candidates)",
        xaxis_tickformat=".0%",
        yaxis={"autorange": "reversed"},
        barmode="group",
    )
    return fig
