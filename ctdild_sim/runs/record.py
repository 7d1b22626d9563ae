"""A run as the views read it: its manifest, its scenario and its tables, stored or just made.

A stored run's tables are read lazily (a report needs the metrics, not the event log of a thousand
replicates); a run the CLI has just simulated is wrapped the same way, so the terminal, the
dashboard and the packs render one view model from one kind of input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ctdild_sim.runs.results import LazyTables, manifest_of, scenario_of, scenario_sources
from ctdild_sim.scenario.loading import read_text
from ctdild_sim.scenario.trial import Scenario


@dataclass(frozen=True)
class RunRecord:
    """A run: its id (empty for one not stored), manifest, scenario and tables."""

    run_id: str
    manifest: dict
    scenario: Scenario
    tables: Mapping[str, pd.DataFrame]

    @classmethod
    def open(cls, run_id: str, root: str | Path) -> RunRecord:
        """``StoreError`` if the run cannot be found or read."""
        manifest = manifest_of(run_id, root)
        return cls(run_id, manifest, scenario_of(manifest), LazyTables(run_id, manifest, root))

    @classmethod
    def made(
        cls,
        scenario: Scenario,
        tables: Mapping[str, pd.DataFrame],
        seed: int,
        replicates: int,
        file: Path | None = None,
        **manifest: object,
    ) -> RunRecord:
        """A run just simulated and not (or not yet) stored: what its manifest would say (with its
        scenario ``file``'s text and the files it extends, whose comments the views read)."""
        if file is not None:
            manifest.update(scenario_sources(read_text(file), file))
        return cls("", {"seed": seed, "replicates": replicates, **manifest}, scenario, dict(tables))

    @property
    def name(self) -> str:
        """The scenario's name, and what tells runs of it apart: a forecast's date, the run's label."""
        name = self.scenario.name
        if self.forecast:
            name += f", forecast as of {self.manifest.get('as_of')}"
        if self.kind == "lot_plan":
            name += ", lot plan"
        if self.kind == "backtest":
            name += ", backtest"
        label = self.manifest.get("label")
        return f"{name} ({label})" if label else name

    @property
    def kind(self) -> str:
        """``plan`` (from day 0), ``forecast``, ``sensitivity``, ``lot_plan`` or ``backtest``."""
        return str(self.manifest.get("kind") or "plan")

    @property
    def forecast(self) -> bool:
        return self.kind == "forecast"

    @property
    def replicates(self) -> int:
        return int(self.manifest["replicates"])

    @property
    def seed(self) -> int:
        return int(self.manifest["seed"])

    @property
    def label(self) -> str:
        """The scenario's name and the start of the run id (when two runs share a name)."""
        return f"{self.scenario.name} ({self.run_id[:15]})" if self.run_id else self.scenario.name


def comparable(runs: list[RunRecord]) -> str | None:
    """Why the runs cannot be paired by replicate (common random numbers), or None if they can."""
    if len(runs) < 2:
        return "Pick two or more runs to compare."
    seeds = {r.seed for r in runs}
    reps = {r.replicates for r in runs}
    if len(seeds) > 1 or len(reps) > 1:
        each = "; ".join(f"{r.label}: seed {r.seed}, {r.replicates:,} replicates" for r in runs)
        return (
            "Runs are paired replicate by replicate, so they need the same seed and number of replicates; "
            f"these differ ({each}). Run them together from this page."
        )
    return None
