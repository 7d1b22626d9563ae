"""What matters most: the tornado of a sensitivity run (``ctdild-sim sensitivity``), the variance
ranking of what a run's replicates drew once (``ctdild-sim rank``), both on the Sensitivity page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctdild_sim.analysis.ranking import drawn_inputs, ranking
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.runs.results import scenario_comments
from ctdild_sim.scenario.comments import weak_assumptions
from ctdild_sim.views.columns import fmt_signed, label
from ctdild_sim.views.figures import ranking_figure, tornado_figure
from ctdild_sim.views.view import View, display_names, runs_title, warnings

RANK_RESAMPLES = 100
"""Bootstrap resamples of the ranking drawn on the page (the CLI's ``rank`` takes more)."""


def tornado_notes(tornado: pd.DataFrame, replicates: int) -> list[str]:
    """What a tornado says in sentences: how it was made, and what matters most for each outcome."""
    notes = [
        f"Each of {tornado['parameter'].nunique()} assumptions moved alone to its low and its high value, every "
        f"arm on the same {replicates} replicates as the base (common random numbers); changes are paired, with "
        "95% intervals (bootstrap for quantiles)."
    ]
    for _, rows in tornado.groupby("outcome", sort=False):
        top = rows.dropna(subset=["swing"])
        top = top[top["swing"] > 0].head(3)
        label = rows["outcome_label"].iloc[0]
        if top.empty:
            never = not np.isfinite(rows["base_outcome"].iloc[0])
            notes.append(
                f"{label}: never reached at the base, nor at either end of any range (too many replicates "
                "never finish)."
                if never
                else f"{label}: no assumption moved it."
            )
            continue
        parts = [
            f"{r.parameter} ({fmt_signed(r.low_change, r.unit)} / {fmt_signed(r.high_change, r.unit)})"
            for r in top.itertuples()
        ]
        notes.append(f"{label} (base {rows['base_outcome_text'].iloc[0]}): moved most by " + ", ".join(parts) + ".")
    return notes


def tornado_parts(view: View, name: str, tornado: pd.DataFrame, replicates: int) -> None:
    """A sensitivity run's sentences, one tornado figure and table per outcome it moved."""
    view.notes += [f"{name}: {note}" for note in tornado_notes(tornado, replicates)]
    for key, rows in tornado.groupby("outcome", sort=False):
        if rows["swing"].isna().all():  # never reached at the base and at every end: said in the notes
            continue
        view.figure(f"tornado-{len(view.drawings)}", tornado_figure, tornado, key)
        title = f"{name}: {rows['outcome_label'].iloc[0]} (base {rows['base_outcome_text'].iloc[0]})"
        silent = rows["swing"].isna()  # not reached at the base nor at either end: it says nothing
        view.table(
            title,
            rows[~silent],
            f"{int(silent.sum())} more: not reached in either, at both ends." if silent.any() else None,
        )
        view.narrow[title] = ("Outcome", "Outcome at base", "Pairs")  # the title says them


def ranking_parts(view: View, name: str, run: RunRecord, resamples: int) -> None:
    """The share of each outcome's variance explained by each quantity the replicates drew once."""
    metrics = run.tables["metrics"]
    if not drawn_inputs(metrics):
        view.notes.append(
            f"{name}: its replicates recorded no drawn quantity that varies (a run made before they were "
            "recorded, or fixed rates): no ranking."
        )
        return
    table = ranking(metrics, run.scenario, run.seed, resamples=resamples)
    view.exports.append(("ranking", table))
    bins = int(table["bins"].iloc[0]) if len(table) else 0
    caption = (
        f"First-order indices over {run.replicates} replicates in {bins} equal-count bins, 95% Bayesian "
        f"bootstrap intervals ({resamples} resamples); near zero: it does not matter."
    )
    for key, rows in table.groupby("outcome", sort=False):
        title = f"{name}: share of the variance of {rows['outcome_label'].iloc[0]}"
        view.table(title, rows, caption)
        view.narrow[title] = (label("outcome"), label("outcome_label"))  # the title says it
        if key in ("lplv_day", "product_wait"):
            view.figure(f"ranking-{len(view.drawings)}", ranking_figure, table, key)


def _arms_parts(view: View, name: str, run: RunRecord) -> None:
    """The assumptions a sensitivity run moved; for the default ones, how they were chosen."""
    arms = run.tables["sensitivity_arms"]
    view.table(f"{name}: assumptions moved", arms)
    if not arms["how"].astype(str).str.startswith(("WEAK", "drawn")).any():
        return
    weak = len(weak_assumptions(scenario_comments(run.manifest)))
    if "sensitivity_screen" not in run.tables:
        view.notes.append(
            f"{name}: the file marks {weak} assumptions WEAK; {arms['parameter'].nunique()} were moved: the numbers "
            "and distributions among them, and each site's referral rate and activation delay."
        )
        return
    screen = run.tables["sensitivity_screen"]
    view.notes.append(
        f"{name}: which assumptions matter: all {len(screen)} candidates (the numbers and distributions of the "
        f"file's {weak} WEAK assumptions, and each site's referral rate and activation delay) were moved on "
        f"{int(screen['replicates'].iloc[0])} replicates; the {int(screen['moved'].sum())} that move an outcome "
        f"most were moved on all {run.replicates}."
    )
    view.table(f"{name}: the screen (each candidate's largest swing)", screen)


def sensitivity_view(runs: list[RunRecord], resamples: int = RANK_RESAMPLES) -> View:
    """For each run: its tornado if it is a sensitivity run, and the ranking of what its replicates
    drew once (none when ``resamples`` is 0)."""
    named = display_names(runs)
    view = View(runs_title("Sensitivity", named))
    view.notes += warnings(named)
    for name, run in named.items():
        if "tornado" in run.tables:
            tornado_parts(view, name, run.tables["tornado"], run.replicates)
            view.exports += [(t, run.tables[t]) for t in ("tornado", "sensitivity_arms") if t in run.tables]
        elif resamples:
            view.notes.append(f"{name}: not a sensitivity run (no tornado); its ranking is below.")
        if "sensitivity_arms" in run.tables:
            _arms_parts(view, name, run)
        if resamples:
            ranking_parts(view, name, run, resamples)
    return view


def rank_view(run: RunRecord, resamples: int) -> View:
    """What to learn first, from one run: the variance ranking alone."""
    view = View(f"What to learn first: {run.name} ({run.replicates} replicates, seed {run.seed})")
    ranking_parts(view, run.name, run, resamples)
    return view
