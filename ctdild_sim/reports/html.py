"""A self-contained HTML report of a scenario comparison (plotly.js inlined once).

Figures are built by pure functions of the comparison tables, so the dashboard can reuse them.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ctdild_sim.reports.columns import present
from ctdild_sim.scenario.trial import Scenario


def mark_registered_completion(fig: go.Figure, registered: dt.date) -> None:
    """A dashed vertical line at the registered completion date, on a date axis."""
    fig.add_vline(x=pd.Timestamp(registered).timestamp() * 1000, line_dash="dash",
                  annotation_text=f"registered completion {registered}")  # fmt: skip


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


def earliest_registered_completion(scenarios: Iterable[Scenario]) -> dt.date | None:
    """The earliest registered completion date among the scenarios (the one figures mark), if any."""
    registered = {s.registered_completion_date for s in scenarios} - {None}
    return min(registered) if registered else None


def lplv_ecdf_figure(metrics: dict[str, pd.DataFrame], scenarios: dict[str, Scenario]) -> go.Figure:
    """Probability that the last patient's last visit has happened, by date, per scenario."""
    curves = {name: (frame["lplv_day"], scenarios[name].start_date) for name, frame in metrics.items()}
    return milestone_ecdf_figure(
        curves, "Last patient last visit: P(done by date)", earliest_registered_completion(scenarios.values())
    )


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
                x=group["estimate"], y=group["label"], mode="markers", name=f"{name} - {group['reference'].iloc[0]}",
                error_x={"type": "data", "symmetric": False, "array": high - group["estimate"],
                         "arrayminus": group["estimate"] - low},
            )
        )  # fmt: skip
    fig.add_vline(x=0, line_color="grey")
    fig.update_layout(title="Paired difference in milestone P50 (days, 95% bootstrap interval)", xaxis_title="days",
                      yaxis={"autorange": "reversed"})  # fmt: skip
    return fig


def report_html(title: str, figures: list[go.Figure], tables: list[tuple[str, pd.DataFrame]],
                notes: list[str] = ()) -> str:  # fmt: skip
    """A self-contained HTML page: plotly.js inlined in the first figure, tables as HTML."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>",
             f"<h1>{html.escape(title)}</h1>"]  # fmt: skip
    parts += [f"<p>{html.escape(note)}</p>" for note in notes]
    for i, fig in enumerate(figures):
        parts.append(pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False))
    for heading, frame in tables:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(present(frame).to_html(index=False, border=0))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(path: Path, title: str, figures: list[go.Figure], tables: list[tuple[str, pd.DataFrame]]) -> None:
    """Write the report atomically (see ``report_html``)."""
    text = report_html(title, figures, tables)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
