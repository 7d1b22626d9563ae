"""A report as plain data, built once and written as HTML, PDF or Excel (``reports.writers``).

``view_pack`` is one study's view model (``ctdild_sim.views``), as the dashboard exports a page;
``steering_pack`` is what a sponsor puts on the screen in a steering meeting, from stored runs
(``views.steering``: the headline answers, the plans, the forecasts, the product, the assumptions
with the scenario files' sources and WEAK flags, and each run's manifest). Both only lay out view
models; the writers present them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from ctdild_sim.runs.record import RunRecord
from ctdild_sim.views.columns import counted
from ctdild_sim.views.steering import steering_views
from ctdild_sim.views.view import View, display_names


@dataclass
class Section:
    """A part of a report: sentences, figures and tables (raw: the writers present them)."""

    heading: str
    notes: list[str] = field(default_factory=list)
    figures: list[go.Figure] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)  # a table's heading -> a line under it


@dataclass
class Pack:
    title: str
    subtitle: str
    sections: list[Section]


def section(view: View, heading: str = "") -> Section:
    """A view model as a part of a report: its headline answers first, then its notes."""
    answers = [f"{a.question}: {a.answer}." for a in view.answers]
    return Section(heading, [*answers, *view.notes], [f for _, f in view.figures], view.tables, dict(view.captions))


def view_pack(view: View, subtitle: str = "") -> Pack:
    """A study's view model as a report of one section."""
    return Pack(view.title, subtitle or f"Made {dt.date.today()} by ctdild-sim", [section(view)])


def steering_pack(records: list[RunRecord]) -> Pack:
    """The steering-committee pack for stored runs (``views.steering``): a section per part."""
    title = "Steering pack: " + ", ".join(display_names(records))
    subtitle = f"Made {dt.date.today()} by ctdild-sim from {counted(len(records), 'stored run')}: " + ", ".join(
        r.run_id for r in records
    )
    return Pack(title, subtitle, [section(view, view.title) for view in steering_views(records)])
