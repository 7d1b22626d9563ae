"""A report as plain data, built once and written as HTML, PDF or Excel (``reports.writers``).

``steering_pack`` is what a sponsor puts on the screen in a steering meeting, from stored runs:
the headline answers, the milestones, the product, the assumptions with the scenario file's
sources and WEAK flags, and each run's manifest. ``view_pack`` wraps one dashboard view, so the
dashboard's export and ``ctdild-sim report`` are written by the same code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ctdild_sim.analysis.compare import headline
from ctdild_sim.analysis.costs import cost_per_dose, cost_summary, replicate_costs
from ctdild_sim.analysis.summary import milestone_summary, probability_done_by, run_warnings
from ctdild_sim.analysis.supply_summary import lot_starts, supply_overview, waste_by_cause
from ctdild_sim.reports.columns import fmt_date, fmt_probability, fmt_share, fmt_signed, not_reached
from ctdild_sim.reports.figures import forecast_milestone_figure, lplv_ecdf_figure, progress_figure
from ctdild_sim.runs.results import LazyTables, manifest_of, scenario_comments, scenario_of
from ctdild_sim.scenario.comments import comment_for
from ctdild_sim.scenario.parameters import scenario_parameters
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.sensitivity import Sensitivity


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


@dataclass(frozen=True)
class RunRecord:
    """A stored run: its id, manifest, scenario and (lazily read) tables."""

    run_id: str
    manifest: dict
    scenario: Scenario
    tables: Mapping[str, pd.DataFrame]

    @classmethod
    def open(cls, run_id: str, root: str | Path) -> RunRecord:
        """``StoreError`` if the run cannot be found or read."""
        manifest = manifest_of(run_id, root)
        return cls(run_id, manifest, scenario_of(manifest), LazyTables(run_id, manifest, root))

    @property
    def name(self) -> str:
        """The scenario's name, and what tells runs of it apart: a forecast's date, the run's label."""
        name = self.scenario.name
        if self.forecast:
            name += f", forecast as of {self.manifest.get('as_of')}"
        label = self.manifest.get("label")
        return f"{name} ({label})" if label else name

    @property
    def forecast(self) -> bool:
        return self.manifest.get("kind") == "forecast"

    @property
    def replicates(self) -> int:
        return int(self.manifest["replicates"])

    @property
    def seed(self) -> int:
        return int(self.manifest["seed"])

    @property
    def label(self) -> str:
        """The scenario's name and the start of the run id (when two runs share a name)."""
        return f"{self.scenario.name} ({self.run_id[:15]})"


def _names(records: list[RunRecord]) -> dict[str, RunRecord]:
    names = [r.name for r in records]
    return {(r.name if names.count(r.name) == 1 else f"{r.name} [{r.run_id}]"): r for r in records}


def view_pack(
    title: str,
    notes: list[str],
    figures: list[go.Figure],
    tables: list[tuple[str, pd.DataFrame]],
    subtitle: str = "",
    captions: dict[str, str] | None = None,
) -> Pack:
    """One dashboard view as a report."""
    section = Section("", notes, figures, tables, dict(captions or {}))
    return Pack(title, subtitle or f"Made {dt.date.today()} by ctdild-sim", [section])


def steering_pack(records: list[RunRecord]) -> Pack:
    """The steering-committee pack for stored runs (see the module)."""
    named = _names(records)
    title = "Steering pack: " + ", ".join(named)
    subtitle = f"Made {dt.date.today()} by ctdild-sim from {len(records)} stored run(s): " + ", ".join(
        r.run_id for r in records
    )
    sections = [_headline(named), _milestones(named)]
    if any(r.scenario.product is not None for r in records):
        sections.append(_product(named))
    sections += [_assumptions(named), _runs(named)]
    return Pack(title, subtitle, sections)


# -- sections --------------------------------------------------------------------------------------


def _headline(named: dict[str, RunRecord]) -> Section:
    section = Section("Headline answers")
    for name, r in named.items():
        metrics = r.tables["metrics"]
        section.notes += [f"Warning: {name}: {w}" for w in r.manifest.get("warnings", [])]
        section.notes += [f"Warning: {name}: {w}" for w in run_warnings(metrics)]
        milestones = _milestone_table(r).set_index("milestone")
        lplv = milestones.loc["lplv_day"]
        if r.forecast:
            lead = f"{name}: forecast as of {r.manifest.get('as_of')} from the trial's records"
        else:
            lead = f"{name}: planned from the start date {r.scenario.start_date}"
        if lplv.get("status") == "observed":
            when = f"the last patient's last visit is in the records: {fmt_date(lplv['observed_date'])}"
        else:
            p50 = fmt_date(lplv["p50_date"]) or not_reached(lplv["reached"])
            p10 = fmt_date(lplv["p10_date"]) or not_reached(lplv["reached"])
            p90 = fmt_date(lplv["p90_date"]) or not_reached(lplv["reached"])
            when = (
                f"last patient last visit P50 {p50} (P10 {p10}, P90 {p90}), reached in "
                f"{fmt_share(lplv['reached'])} of {r.replicates} replicates"
            )
        section.notes.append(f"{lead}: {when}.")
        registered = r.scenario.registered_completion_date
        if registered is not None:
            p = probability_done_by(metrics, r.scenario, registered)
            section.notes.append(
                f"{name}: P(last patient last visit by the registered completion date {registered}) "
                f"= {fmt_probability(p, r.replicates)}."
            )
    table = headline({n: r.tables["metrics"] for n, r in named.items()}, {n: r.scenario for n, r in named.items()})
    section.tables.append(("Headline", table))
    section.figures.append(
        lplv_ecdf_figure({n: r.tables["metrics"] for n, r in named.items()}, {n: r.scenario for n, r in named.items()})
    )
    return section


def _milestone_table(r: RunRecord) -> pd.DataFrame:
    if r.forecast and "milestones" in r.tables:
        return r.tables["milestones"]
    return milestone_summary(r.tables["metrics"], r.scenario)


def _milestones(named: dict[str, RunRecord]) -> Section:
    section = Section("Milestones")
    for name, r in named.items():
        table = _milestone_table(r)
        section.tables.append((f"{name}: milestones", table))
        if r.forecast and {"progress_weekly", "plan_progress_weekly", "observed_progress"} <= set(r.tables):
            as_of = dt.date.fromisoformat(str(r.manifest["as_of"]))
            restart = float(r.manifest.get("restart_day", r.scenario.day_of(as_of) + 1))
            horizon = r.scenario.start_date + dt.timedelta(days=r.scenario.horizon_days)
            section.figures.append(
                progress_figure(
                    r.tables["observed_progress"],
                    r.tables["progress_weekly"],
                    r.tables["plan_progress_weekly"],
                    as_of,
                    restart,
                )
            )
            section.figures.append(
                forecast_milestone_figure(table, as_of, r.scenario.registered_completion_date, horizon)
            )
            section.tables.append(
                (f"{name}: where the trial stands against the plan made at its start", r.tables["plan_vs_actual"])
            )
    return section


def _product(named: dict[str, RunRecord]) -> Section:
    section = Section("Cell product")
    for name, r in named.items():
        if r.scenario.product is None:
            continue
        if r.forecast and "forecast_supply" in r.tables:
            s = r.tables["forecast_supply"].iloc[0]
            section.notes.append(
                f"{name}: from {r.manifest.get('as_of')}: P(a subject waits for product) "
                f"{fmt_probability(s['p_wait_for_product'], r.replicates)}; vials still to be thawed P50 "
                f"{s['vials_needed_p50']:.0f}, P90 {s['vials_needed_p90']:.0f}; {s['stock_expiring_unused_mean']:.1f} "
                "vials of the stock on hand expire unused on average."
            )
            if "stock_on_hand" in r.tables:
                section.tables.append(
                    (f"{name}: stock on {r.manifest.get('as_of')}, lot by lot", r.tables["stock_on_hand"])
                )
            section.tables.append((f"{name}: lots still to start", r.tables["lots_to_start"]))
            continue
        o = supply_overview(r.tables["metrics"])
        section.notes.append(
            f"{name}: P(a subject waits for product) {fmt_probability(o['p_stockout'], r.replicates)}; lots started "
            f"P50 {o['lots_started_p50']:.0f}, P90 {o['lots_started_p90']:.0f}; per replicate, "
            f"{o['mean_vials_used']:.1f} vials infused, {o['mean_vials_expired']:.1f} expired, "
            f"{o['mean_vials_wasted']:.1f} thawed and not infused."
        )
        section.tables.append(
            (f"{name}: when the k-th lot is ordered", lot_starts(r.tables["lots"], r.replicates, r.scenario.start_date))
        )
        section.tables.append((f"{name}: vials lost by cause", waste_by_cause(r.tables["metrics"])))
        costs = r.scenario.product.costs
        if costs is not None and "vial_days_in_stock" in r.tables["metrics"]:
            per_replicate = replicate_costs(r.tables["metrics"], r.tables["lots"], r.scenario)
            section.notes.append(
                f"{name}: product cost per infused dose {cost_per_dose(per_replicate):,.0f} "
                f"{costs.currency}; wasted product {per_replicate['waste'].mean():,.0f} "
                f"{costs.currency} per replicate (mean)."
            )
            section.tables.append((f"{name}: costs per replicate ({costs.currency})", cost_summary(per_replicate)))
    return section


def documented_assumptions(scenario: Scenario, manifest: dict) -> pd.DataFrame:
    """Every parameter the scenario file comments on, with its value(s), the comment (the
    source, or why it is a guess) and whether it is marked WEAK."""
    comments = scenario_comments(manifest)
    rows: dict[str, dict] = {}
    for row in scenario_parameters(scenario).itertuples():
        comment = comment_for(comments, row.parameter)
        if comment is None:
            continue
        key = next(p for p in _prefixes(row.parameter) if comments.get(p) is comment)
        entry = rows.setdefault(key, {"parameter": key, "value": [], "source": comment.text, "weak": comment.weak})
        leaf = row.parameter[len(key) + 1 :]
        entry["value"].append(f"{leaf} {row.value}" if leaf else row.value)
    frame = pd.DataFrame(list(rows.values()), columns=["parameter", "value", "source", "weak"])
    frame["value"] = frame["value"].map(_compact)
    return frame


def _compact(values: list[str]) -> str:
    """A commented parameter's leaves in a line: "lognormal: median 30, p90 90"."""
    if values and values[0].startswith("dist "):
        return f"{values[0][5:]}: " + ", ".join(values[1:])
    return ", ".join(values[:8]) + (", ..." if len(values) > 8 else "")


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]


def _assumptions(named: dict[str, RunRecord]) -> Section:
    section = Section("Assumptions")
    section.notes.append(
        "Each assumption as the scenario file gives it, with the file's comment: where it comes from, "
        "and WEAK where no good published figure exists (the optimistic and pessimistic scenario "
        "files bracket these)."
    )
    for name, r in named.items():
        if r.forecast and "assumptions" in r.tables:
            section.tables.append(
                (f"{name}: assumptions learned from the records (prior against posterior)", r.tables["assumptions"])
            )
        table = documented_assumptions(r.scenario, r.manifest)
        weak = int(table["weak"].sum()) if len(table) else 0
        section.notes.append(f"{name}: {len(table)} documented assumptions, {weak} of them WEAK.")
        section.tables.append((f"{name}: assumptions and their sources", table))
    return section


def _runs(named: dict[str, RunRecord]) -> Section:
    section = Section("The runs")
    for name, r in named.items():
        m = r.manifest
        items = [
            ("run id", r.run_id),
            ("label", m.get("label", "")),
            ("scenario", m["scenario_name"]),
            ("scenario file", m["scenario_file"]),
            ("scenario SHA-256", m["scenario_sha256"]),
            ("seed", m["seed"]),
            ("replicates", m["replicates"]),
            ("package version", m.get("package_version")),
            ("started", m.get("started")),
            ("finished", m.get("finished")),
            ("command", " ".join(str(c) for c in m.get("command", []))),
        ]
        if r.forecast:
            items += [
                ("as of", m.get("as_of")),
                ("records", m.get("actuals_folder")),
                ("learned from the records", m.get("learning")),
            ]
            items += [(f"SHA-256 of {file}", digest) for file, digest in (m.get("actuals_sha256") or {}).items()]
        frame = pd.DataFrame([(k, "" if v is None else str(v)) for k, v in items], columns=["item", "value"])
        section.tables.append((f"{name}: manifest", frame))
    return section


def sensitivity_notes(result: Sensitivity) -> list[str]:
    """What a tornado says in sentences: how it was made, and what matters most for each outcome."""
    base = result.base.metrics
    notes = [
        f"Each of {len(result.assumptions)} assumptions moved alone to its low and its high value, every arm on "
        f"the same {len(base)} replicates as the base (common random numbers); changes are paired, with 95% "
        "intervals (bootstrap for quantiles)."
    ]
    for _, rows in result.tornado.groupby("outcome", sort=False):
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
