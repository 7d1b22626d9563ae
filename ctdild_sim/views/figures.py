"""Figures for people: pure functions of a run's tables, shared by the dashboard and the reports
(HTML, PDF), so a figure on the screen and in the steering pack are the same figure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ctdild_sim.analysis.bands import PROGRESS_MEASURES
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.views.columns import fmt_path

COLOURS = px.colors.qualitative.Plotly


def rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def band(fig: go.Figure, x, low, high, mid, name: str, colour: str) -> None:
    """A P10-P90 band with its P50 line, drawn as one legend group."""
    fig.add_trace(
        go.Scatter(x=x, y=high, mode="lines", line={"width": 0}, legendgroup=name, showlegend=False, hoverinfo="skip")
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=rgba(colour, 0.2),
            legendgroup=name,
            name=f"{name} P10-P90",
        )
    )
    fig.add_trace(go.Scatter(x=x, y=mid, mode="lines", line={"color": colour}, legendgroup=name, name=f"{name} P50"))


def legend_below(fig: go.Figure, rows: int = 1) -> go.Figure:
    """The legend in rows along the figure's bottom edge, under the x axis's ticks and title, where
    it cannot cover the title, the axes or the data (``rows``: legend rows to leave room for)."""
    fig.update_layout(
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.01, "xanchor": "left", "x": 0},
        margin={"b": 75 + 22 * rows},
    )
    return fig


def mark_registered_completion(fig: go.Figure, registered: dt.date) -> None:
    """A dashed vertical line at the registered completion date, on a date axis."""
    fig.add_vline(
        x=pd.Timestamp(registered).timestamp() * 1000,
        line_dash="dash",
        annotation_text=f"registered completion {registered}",
    )


def milestone_ecdf_figure(
    curves: dict[str, tuple[pd.Series, dt.date]], title: str, registered: dt.date | None = None
) -> go.Figure:
    """Probability that a milestone has happened by each date, one step curve per name.

    ``curves`` maps a name to the milestone's day in every replicate (NaN: never reached) and the
    start date those days count from; replicates that never reach it keep the curve below 1.
    """
    fig = go.Figure()
    for name, (days, start) in curves.items():
        reached = np.sort(days.dropna().to_numpy())
        share = np.arange(1, len(reached) + 1) / max(len(days), 1)
        dates = [start + dt.timedelta(days=float(d)) for d in reached]
        fig.add_trace(go.Scatter(x=dates, y=share, mode="lines", line_shape="hv", name=name))
    if registered is not None:
        mark_registered_completion(fig, registered)
    fig.update_layout(title=title, xaxis_title="date", yaxis_title="share of replicates", yaxis_range=[0, 1.02])
    return fig


CHART_QUANTILE = 0.9
"""Timeline charts end at this quantile of last patient last visit among the replicates that get
there (the latest among the runs drawn), plus ``CHART_MARGIN_DAYS``: the few replicates that drag
on for years would stretch every chart flat (the tables give every quantile, and the share that
never gets there)."""
CHART_MARGIN_DAYS = 120


def chart_end(runs: Iterable[tuple[pd.DataFrame, Scenario]]) -> dt.date | None:
    """The last date a timeline chart shows: ``CHART_QUANTILE`` of last patient last visit among
    the replicates that reach it, plus the margin (None: no replicate reaches it)."""
    ends = []
    for metrics, scenario in runs:
        if "lplv_day" not in metrics:
            continue
        days = metrics["lplv_day"].to_numpy(dtype=float)
        reached = days[~np.isnan(days)]
        if len(reached):
            at = float(np.quantile(reached, CHART_QUANTILE, method="inverted_cdf"))
            ends.append(scenario.start_date + dt.timedelta(days=at + CHART_MARGIN_DAYS))
    return max(ends) if ends else None


def end_chart(fig: go.Figure, start: dt.date, end: dt.date | None) -> go.Figure:
    """The figure's date axis from ``start`` to ``end`` (both given: the dashboard's plotly.js takes
    a range with one end left open as no range at all)."""
    if end is not None:
        fig.update_xaxes(range=[pd.Timestamp(start).timestamp() * 1000, pd.Timestamp(end).timestamp() * 1000])
    return fig


def earliest_registered_completion(scenarios: Iterable[Scenario]) -> dt.date | None:
    """The earliest registered completion date among the scenarios (the one figures mark), if any."""
    registered = {s.registered_completion_date for s in scenarios} - {None}
    return min(registered) if registered else None


def lplv_ecdf_figure(metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> go.Figure:
    """Probability that the last patient's last visit has happened, by date, per scenario."""
    curves = {name: (frame["lplv_day"], scenarios[name].start_date) for name, frame in metrics.items()}
    fig = milestone_ecdf_figure(
        curves, "Last patient last visit: P(done by date)", earliest_registered_completion(scenarios.values())
    )
    start = min(scenarios[name].start_date for name in metrics)
    return end_chart(fig, start, chart_end((frame, scenarios[name]) for name, frame in metrics.items()))


def differences_figure(differences: pd.DataFrame) -> go.Figure:
    """Paired differences of milestone P50s in days with 95% intervals, one marker series per
    compared scenario; differences that are not finite (a P50 never reached) are left out, and an
    interval end that is unbounded is drawn to the edge of the others."""
    fig = go.Figure()
    days = differences[(differences["statistic"] == "P50 difference") & np.isfinite(differences["estimate"])]
    finite_ends = days[["ci_low", "ci_high"]].to_numpy()
    finite_ends = finite_ends[np.isfinite(finite_ends)]
    edge = float(np.abs(finite_ends).max()) * 1.1 if finite_ends.size else 1.0
    for name, group in days.groupby("scenario", sort=False):
        low = group["ci_low"].clip(-edge, edge)
        high = group["ci_high"].clip(-edge, edge)
        fig.add_trace(
            go.Scatter(
                x=group["estimate"],
                y=group["label"],
                mode="markers",
                name=f"{name} - {group['reference'].iloc[0]}",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": high - group["estimate"],
                    "arrayminus": group["estimate"] - low,
                },
            )
        )
    fig.add_vline(x=0, line_color="grey")
    fig.update_layout(
        title="Paired difference in milestone P50 (days, 95% bootstrap interval)",
        xaxis_title="days",
        yaxis={"autorange": "reversed"},
    )
    return fig


# -- forecast ------------------------------------------------------------------------------
PLAN_GREY = "#9e9e9e"
OBSERVED_COLOUR = "#222222"


def forecast_progress(bands: pd.DataFrame, restart_day: float) -> pd.DataFrame:
    """The weekly bands from the last week end before the restart on (the forecast's part), up to
    the last week any measure still moves in any replicate."""
    start = bands.index[bands["end_day"] < restart_day]
    first = int(start[-1]) if len(start) else 0
    moving = [bands[f"{m}_p90"].diff().fillna(0).to_numpy().nonzero()[0] for m in PROGRESS_MEASURES]
    last = max((int(m[-1]) for m in moving if len(m)), default=first) + 2
    return bands.loc[first:last]


def progress_figure(
    observed: pd.DataFrame, forecast: pd.DataFrame, plan: pd.DataFrame, as_of: dt.date, restart_day: float
) -> go.Figure:
    """Cumulative referrals, enrolments and infusions: the records as a step line up to the as-of
    date, the forecast's P10-P90 fan and P50 after it, and the plan made at the start (the same
    scenario from day 0) faded behind."""
    shown = forecast_progress(forecast, restart_day)
    end_day = float(shown["end_day"].max()) if len(shown) else float(plan["end_day"].max())
    plan = plan[plan["end_day"] <= end_day]
    fig = make_subplots(
        rows=len(PROGRESS_MEASURES),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[label.capitalize() for label in PROGRESS_MEASURES.values()],
    )
    for row, measure in enumerate(PROGRESS_MEASURES, start=1):
        legend = row == 1
        x = pd.to_datetime(plan["end_date"])
        fig.add_trace(
            go.Scatter(
                x=x,
                y=plan[f"{measure}_p90"],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                legendgroup="plan",
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=plan[f"{measure}_p10"],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=rgba(PLAN_GREY, 0.18),
                name="plan from the start P10-P90",
                legendgroup="plan",
                showlegend=legend,
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=plan[f"{measure}_p50"],
                mode="lines",
                name="plan from the start P50",
                line={"color": PLAN_GREY, "dash": "dot"},
                legendgroup="plan",
                showlegend=legend,
            ),
            row=row,
            col=1,
        )
        x = pd.to_datetime(shown["end_date"])
        colour = COLOURS[0]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=shown[f"{measure}_p90"],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                legendgroup="forecast",
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=shown[f"{measure}_p10"],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=rgba(colour, 0.25),
                name="forecast P10-P90",
                legendgroup="forecast",
                showlegend=legend,
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=shown[f"{measure}_p50"],
                mode="lines",
                name="forecast P50",
                line={"color": colour},
                legendgroup="forecast",
                showlegend=legend,
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(observed["date"]),
                y=observed[measure],
                mode="lines",
                line={"color": OBSERVED_COLOUR, "width": 2.5, "shape": "hv"},
                name="the records",
                legendgroup="observed",
                showlegend=legend,
            ),
            row=row,
            col=1,
        )
    fig.add_vline(
        x=pd.Timestamp(as_of).timestamp() * 1000,
        line_dash="dash",
        line_color=OBSERVED_COLOUR,
        annotation_text=f"as of {as_of}",
        annotation_position="top left",
    )
    fig.update_layout(
        title="Progress: the records, then the forecast (the plan from the start faded behind)", height=760
    )
    legend_below(fig)
    return fig


def forecast_milestone_figure(
    milestones: pd.DataFrame, as_of: dt.date, registered: dt.date | None, horizon: dt.date
) -> go.Figure:
    """Each milestone: the records' date if it was reached (a filled diamond), else the forecast's
    P50 with a P10-P90 bar; a P90 (or P50) that over 10% (50%) of replicates never reach is drawn
    at the horizon (a P50 as an arrow)."""
    fig = go.Figure()
    frame = milestones.iloc[::-1]
    observed = frame[frame["status"] == "observed"]
    fig.add_trace(
        go.Scatter(
            x=pd.to_datetime(observed["observed_date"]),
            y=observed["label"],
            mode="markers",
            marker={"symbol": "diamond", "size": 12, "color": OBSERVED_COLOUR},
            name="observed (the records)",
        )
    )
    coming = frame[frame["status"] != "observed"]
    end = pd.Timestamp(horizon)
    p10, p50, p90 = (pd.to_datetime(coming[f"p{q}_date"]).fillna(end) for q in (10, 50, 90))
    never = coming["p90_date"].isna()
    xs, ys = [], []  # P10-P90 bars as line segments (plotly draws no error bars on a date axis)
    for label, a, b in zip(coming["label"], p10, p90, strict=True):
        xs += [a, b, None]
        ys += [label, label, None]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": rgba(COLOURS[0], 0.5), "width": 6},
            name="forecast P10-P90",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=p50,
            y=coming["label"],
            mode="markers",
            name="forecast P50",
            marker={
                "size": 11,
                "color": COLOURS[0],
                "symbol": np.where(coming["p50_date"].isna(), "triangle-right", "circle"),
            },
            customdata=np.column_stack(
                [
                    coming["p10_date"].astype(str),
                    np.where(never, "never reached", coming["p90_date"].astype(str)),
                    (100 * coming["reached"]).round(1).astype(str),
                ]
            ),
            hovertemplate="%{y}: P50 %{x|%Y-%m-%d}, P10 %{customdata[0]}, P90 %{customdata[1]}; reached in "
            "%{customdata[2]}% of replicates<extra></extra>",
        )
    )
    fig.add_vline(
        x=pd.Timestamp(as_of).timestamp() * 1000,
        line_dash="dash",
        line_color=OBSERVED_COLOUR,
        annotation_text=f"as of {as_of}",
        annotation_position="bottom right",
    )
    if registered is not None:
        mark_registered_completion(fig, registered)
    fig.update_yaxes(categoryorder="array", categoryarray=list(frame["label"]))  # the protocol's order, top down
    fig.update_layout(
        title="Milestones: observed, and forecast from the records", xaxis_title="date", height=160 + 36 * len(frame)
    )
    legend_below(fig)
    return fig


def tornado_figure(tornado: pd.DataFrame, outcome: str) -> go.Figure:
    """One outcome's tornado: for each assumption (largest swing on top) the change at its low and
    at its high value, as bars from zero with their paired 95% intervals."""
    rows = tornado[tornado["outcome"] == outcome]
    fig = go.Figure()
    if rows.empty:
        return fig
    unit = str(rows["unit"].iloc[0])
    scale = 100.0 if unit == "probability" else 1.0
    for end, colour in (("low", COLOURS[0]), ("high", COLOURS[1])):
        change = rows[f"{end}_change"].to_numpy(dtype=float) * scale
        finite = np.where(np.isfinite(change), change, np.nan)
        fig.add_trace(
            go.Bar(
                y=rows["parameter"].map(fmt_path),
                x=finite,
                orientation="h",
                name=f"at the {end} value",
                marker_color=colour,
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": np.nan_to_num(rows[f"{end}_ci_high"].to_numpy(dtype=float) * scale - finite, posinf=0),
                    "arrayminus": np.nan_to_num(finite - rows[f"{end}_ci_low"].to_numpy(dtype=float) * scale, posinf=0),
                },
                customdata=np.column_stack([rows[f"{end}_value"].to_numpy(dtype=float)]),
                hovertemplate="%{y} = %{customdata[0]:.3~g}: %{x:+.3~g}<extra></extra>",
            )
        )
    label = str(rows["outcome_label"].iloc[0])
    axis = {"probability": "change (percentage points)", "days": "change (days)"}.get(unit, f"change ({unit})")
    fig.update_layout(
        title=f"{label}: change when one assumption moves (base: {rows['base_outcome_text'].iloc[0]})",
        barmode="group",
        xaxis_title=axis,
        yaxis={"autorange": "reversed"},
        height=200 + 44 * len(rows),
    )
    return legend_below(fig)


def ranking_figure(table: pd.DataFrame, outcome: str) -> go.Figure:
    """One outcome's uncertainty ranking: the share of its variance each drawn input explains,
    largest on top, with 95% intervals."""
    rows = table[table["outcome"] == outcome]
    fig = go.Figure()
    if rows.empty:
        return fig
    index = rows["index"].to_numpy(dtype=float) * 100
    fig.add_trace(
        go.Bar(
            y=rows["input"],
            x=index,
            orientation="h",
            marker_color=COLOURS[2],
            name="share of variance explained",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": rows["index_high"].to_numpy(dtype=float) * 100 - index,
                "arrayminus": index - rows["index_low"].to_numpy(dtype=float) * 100,
            },
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"What explains it: {rows['outcome_label'].iloc[0]}",
        xaxis_title="share of variance (%)",
        yaxis={"autorange": "reversed"},
        height=200 + 30 * len(rows),
        showlegend=False,
    )
    return fig


def frontier_figure(frontier: pd.DataFrame, chosen: tuple | None, target: float | None, currency: str) -> go.Figure:
    """The lot plan's cost-risk frontier: expected cost (or lots started, where nothing is priced)
    against P(a subject waits for product), one point per validated candidate on it, the plan
    ringed and the target drawn."""
    fig = go.Figure()
    if frontier.empty:
        return fig
    priced = frontier["mean_cost"].notna().all()
    cost = frontier["mean_cost"] if priced else frontier["mean_lots_started"]
    size = frontier["fill_vials"].map(lambda v: "as the yield gives" if pd.isna(v) else f"{v:.0f} vials")
    text = [
        f"lot size {s}, reorder point {p:.0f}, look-ahead {a:.0f} days"
        for s, p, a in zip(size, frontier["reorder_point"], frontier["lookahead_days"], strict=True)
    ]
    meets = frontier["meets_target"].fillna(True).astype(bool) if "meets_target" in frontier else True
    fig.add_trace(
        go.Scatter(
            x=frontier["stockout_risk"] * 100,
            y=cost,
            mode="lines+markers",
            line_shape="hv",
            marker={"size": 9, "symbol": np.where(meets, "circle", "circle-open")},
            name="validated candidates on the frontier (hollow: 95% upper bound above the target)",
            text=text,
            hovertemplate="%{text}<br>P(wait) %{x:.1f}%<br>%{y:,.0f}<extra></extra>",
        )
    )
    if chosen is not None:
        key = frontier[["fill_vials", "reorder_point", "lookahead_days"]].apply(tuple, axis=1)
        mine = frontier[key.map(lambda k: _same_decisions(k, chosen))]
        if len(mine):
            fig.add_trace(
                go.Scatter(
                    x=mine["stockout_risk"] * 100,
                    y=(mine["mean_cost"] if priced else mine["mean_lots_started"]),
                    mode="markers",
                    marker={"size": 16, "symbol": "circle-open", "line": {"width": 3}, "color": COLOURS[1]},
                    name="the plan",
                )
            )
    if target is not None:
        fig.add_vline(x=target * 100, line_dash="dash", annotation_text=f"target {target:.1%}")
    fig.update_layout(
        title="The price of risk: expected cost against P(a subject waits), validation seeds",
        xaxis_title="P(a subject waits for product), %",
        yaxis_title=f"expected cost per replicate ({currency})" if priced else "lots started (mean)",
    )
    return legend_below(fig)


def _same_decisions(a: tuple, b: tuple) -> bool:
    """Whether two (lot size, reorder point, look-ahead) decisions are one (NaN lot sizes equal)."""
    return all((pd.isna(x) and pd.isna(y)) or x == y for x, y in zip(a, b, strict=True))


def slip_figure(scores: pd.DataFrame, start: dt.date, label: str) -> go.Figure:
    """How a milestone's forecast moved: as of each backtest date (x), the forecast's P10 to P90
    band and P50 (y), against the date it actually came (a dashed line) and the as-of date itself
    (a forecast below that line would have been in the past)."""

    def dates(days: pd.Series) -> list[dt.date]:
        return [start + dt.timedelta(days=float(d)) for d in days]

    as_of = list(pd.to_datetime(scores["as_of"]).dt.date)
    fig = go.Figure()
    band(fig, as_of, dates(scores["p10"]), dates(scores["p90"]), dates(scores["p50"]), "Forecast", COLOURS[0])
    fig.data[-1].update(mode="lines+markers")
    actual = dates(scores["actual"].iloc[:1])[0] if len(scores) else None
    if actual is not None:
        fig.add_trace(
            go.Scatter(
                x=[as_of[0], as_of[-1]],
                y=[actual, actual],
                mode="lines",
                line={"color": "black", "dash": "dash"},
                name=f"Actual: {actual}",
            )
        )
    fig.add_trace(
        go.Scatter(x=as_of, y=as_of, mode="lines", line={"color": "grey", "dash": "dot", "width": 1}, name="As-of date")
    )
    fig.update_layout(title=f"{label}: the forecast as of each date", xaxis_title="forecast as of", yaxis_title="date")
    return legend_below(fig)
