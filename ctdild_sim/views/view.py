"""The view model every study returns: what the terminal, the dashboard and the packs render.

A ``View`` is plain data (answers, sentences, plotly figures and DataFrames), so a number or a
title is made once, by the study's view function, and every renderer shows the same one. A
figure is drawn when a renderer first asks for it: the terminal, which shows none, draws none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from ctdild_sim.analysis.summary import run_warnings
from ctdild_sim.runs.record import RunRecord

if TYPE_CHECKING:
    import plotly.graph_objects as go


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
    tables a terminal prints (None: all of them), ``long`` tables it leaves out whatever ``brief``
    says (a search's every evaluation), the rest are in the dashboard and the packs, and
    ``narrow`` the columns of a table (as people read them) a terminal leaves out, said elsewhere;
    ``exports`` are the study's tables as a program reads them (``--out``: CSV and Parquet)."""

    title: str
    answers: list[Answer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)
    brief: list[str] | None = None
    long: set[str] = field(default_factory=set)
    narrow: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exports: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    folded: bool = False  # tables shown folded under their titles (a scenario's sections)
    drawings: list[tuple[str, Callable[[], go.Figure]]] = field(default_factory=list)

    def answer(self, question: str, text: str) -> None:
        self.answers.append(Answer(question, text))

    def table(self, title: str, frame: pd.DataFrame, caption: str | None = None) -> None:
        self.tables.append((title, frame))
        if caption:
            self.captions[title] = caption

    def figure(self, key: str, draw: Callable[..., go.Figure], *args: object, caption: str | None = None) -> None:
        """A figure ``draw(*args)``, drawn when a renderer first asks for it."""
        self.drawings.append((key, functools.cache(functools.partial(draw, *args))))
        if caption:
            self.captions[key] = caption

    @property
    def figures(self) -> list[tuple[str, go.Figure]]:
        """The figures, drawn (once each)."""
        return [(key, draw()) for key, draw in self.drawings]

    @property
    def figure_keys(self) -> list[str]:
        return [key for key, _ in self.drawings]

    def extend(self, other: View) -> None:
        """``other``'s content after this view's (a study made of parts)."""
        if self.brief is not None or other.brief is not None:
            self.brief = [t for t, _ in self.terminal_tables] + [t for t, _ in other.terminal_tables]
        self.answers += other.answers
        self.notes += other.notes
        self.drawings += other.drawings
        self.tables += other.tables
        self.captions.update(other.captions)
        self.narrow.update(other.narrow)
        self.long |= other.long
        self.exports += other.exports

    @property
    def terminal_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return [(t, f) for t, f in self.tables if (self.brief is None or t in self.brief) and t not in self.long]


def display_names(runs: list[RunRecord]) -> dict[str, RunRecord]:
    """Display names: each run's name (a forecast's says its date, a labelled run its label), with
    the start of its id when two runs share one."""
    names = [r.name for r in runs]
    return {(r.name if names.count(r.name) == 1 else f"{r.name} [{r.run_id[:15]}]"): r for r in runs}


def kind_view(runs: list[RunRecord], kind: str, what: str, title: str, pick: str) -> tuple[View, dict[str, RunRecord]]:
    """The view of the ``kind`` runs among ``runs`` (forecasts, backtests), titled by their names
    (``title`` when there is none), and their display names; its first note says how many other
    runs were picked and are not shown (``what`` they are not), or, with none, how to make one."""
    chosen = [r for r in runs if r.kind == kind]
    named = display_names(chosen)
    view = View("; ".join(named) if named else title)
    if not chosen:
        view.notes.append(pick)
    elif len(chosen) < len(runs):
        view.notes.append(f"{len(runs) - len(chosen)} of the picked runs are not {what}; not shown here.")
    return view, named


def warnings(named: dict[str, RunRecord]) -> list[str]:
    """Each run's warnings (nobody enrolled, nothing completed, ...), for a view's first notes."""
    return [f"Warning: {name}: {w}" for name, run in named.items() for w in run_warnings(run.tables["metrics"])]


def runs_title(what: str, named: dict[str, RunRecord]) -> str:
    """A view's title: what it shows, of which runs, with their replicates and seed when shared."""
    runs = list(named.values())
    same = len({(r.replicates, r.seed) for r in runs}) == 1
    over = f" ({runs[0].replicates} replicates, seed {runs[0].seed})" if runs and same else ""
    return f"{what}: {', '.join(named)}{over}" if named else what
