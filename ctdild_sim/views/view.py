"""The view model every study returns: what the terminal, the dashboard and the packs render.

A ``View`` is plain data (answers, sentences, plotly figures and DataFrames), so a number or a
title is made once, by the study's view function, and every renderer shows the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from ctdild_sim.analysis.summary import run_warnings
from ctdild_sim.runs.record import RunRecord


@dataclass(frozen=True)
class Answer:
    """A headline answer: the question as people ask it and the answer as they read it."""

    question: str
    answer: str


@dataclass
class View:
    """A study's content in display order: headline answers, notes (plain sentences; warnings
    first), figures and titled tables.

    ``captions`` holds a line under a table or a figure (by its title or key); ``brief`` names the
    tables a terminal prints (None: all of them), the rest are in the dashboard and the packs, and
    ``narrow`` the columns of a table a terminal leaves out (they are said elsewhere in it);
    ``exports`` are the study's tables as a program reads them (``--out``: CSV and Parquet)."""

    title: str
    answers: list[Answer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)
    brief: list[str] | None = None
    narrow: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a table's columns a terminal leaves out
    exports: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # machine-readable, for --out
    folded: bool = False  # tables shown folded under their titles (a scenario's sections)

    def answer(self, question: str, text: str) -> None:
        self.answers.append(Answer(question, text))

    def table(self, title: str, frame: pd.DataFrame, caption: str | None = None) -> None:
        self.tables.append((title, frame))
        if caption:
            self.captions[title] = caption

    def figure(self, key: str, fig: go.Figure, caption: str | None = None) -> None:
        self.figures.append((key, fig))
        if caption:
            self.captions[key] = caption

    def extend(self, other: View) -> None:
        """``other``'s content after this view's (a study made of parts)."""
        self.answers += other.answers
        self.notes += other.notes
        self.figures += other.figures
        self.tables += other.tables
        self.captions.update(other.captions)

    @property
    def terminal_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return self.tables if self.brief is None else [(t, f) for t, f in self.tables if t in self.brief]


def display_names(runs: list[RunRecord]) -> dict[str, RunRecord]:
    """Display names: the run's name, with the start of its id when two runs share it."""
    names = [r.scenario.name for r in runs]
    return {(r.scenario.name if names.count(r.scenario.name) == 1 else r.label): r for r in runs}


def warnings(named: dict[str, RunRecord]) -> list[str]:
    """Each run's warnings (nobody enrolled, nothing completed, ...), for a view's first notes."""
    return [f"Warning: {name}: {w}" for name, run in named.items() for w in run_warnings(run.tables["metrics"])]


def runs_title(what: str, named: dict[str, RunRecord]) -> str:
    """A view's title: what it shows, of which runs, with their replicates and seed when shared."""
    runs = list(named.values())
    same = len({(r.replicates, r.seed) for r in runs}) == 1
    over = f" ({runs[0].replicates} replicates, seed {runs[0].seed})" if runs and same else ""
    return f"{what}: {', '.join(named)}{over}" if named else what
