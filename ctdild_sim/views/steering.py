"""The steering pack's content (``ctdild-sim report``, the dashboard's Steering pack button): the
stored runs' headline answers, each study's view (the plans, the forecasts, the cell product), the
assumptions with the scenario files' sources and WEAK flags, and each run's manifest."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ctdild_sim.analysis.compare import headline
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.runs.results import scenario_comments
from ctdild_sim.scenario.comments import comment_for, weak_assumptions
from ctdild_sim.scenario.parameters import scenario_parameters
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.views.backtest import backtest_view
from ctdild_sim.views.figures import lplv_ecdf_figure
from ctdild_sim.views.forecast import forecast_view
from ctdild_sim.views.lot_plan import stored_lot_plan_view
from ctdild_sim.views.plan import plan_view
from ctdild_sim.views.product import product_view
from ctdild_sim.views.view import View, display_names


def steering_views(records: list[RunRecord]) -> list[View]:
    """The pack's parts in order: headline answers, the plans, the forecasts, their track record,
    the product, the assumptions and the runs."""
    plans = [r for r in records if r.kind in ("plan", "sensitivity")]  # a sensitivity run holds its base
    forecasts = [r for r in records if r.forecast]
    lot_plans = [r for r in records if r.kind == "lot_plan"]
    backtests = [r for r in records if r.kind == "backtest"]
    studies = ([plan_view(plans)] if plans else []) + ([forecast_view(forecasts)] if forecasts else [])
    if backtests:
        studies.append(backtest_view(backtests))
    if any(r.scenario.product is not None for r in plans):
        studies.append(product_view(plans))
    if lot_plans:
        studies.append(stored_lot_plan_view(lot_plans))
    return [_headline(records, studies), *studies, _assumptions(records), _runs(records)]


def _headline(records: list[RunRecord], studies: list[View]) -> View:
    """Every study's answers, the warnings, and the runs side by side."""
    view = View("Headline answers")
    for study in studies:
        view.answers += study.answers
        view.notes += [n for n in study.notes if n.startswith("Warning:")]
    named = display_names([r for r in records if r.kind != "backtest"])  # a backtest's own view has its answers
    metrics = {n: r.tables["metrics"] for n, r in named.items()}
    scenarios = {n: r.scenario for n, r in named.items()}
    view.table("Headline", headline(metrics, scenarios))
    view.figure("lplv", lplv_ecdf_figure, metrics, scenarios)
    return view


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


def _assumptions(records: list[RunRecord]) -> View:
    view = View("Assumptions")
    named = display_names(records)
    view.notes.append(
        "Each assumption as the scenario file gives it, with the file's comment: where it comes from, "
        "and WEAK where no good published figure exists (the optimistic and pessimistic scenario "
        "files bracket these)."
    )
    for name, r in named.items():
        if r.forecast and "assumptions" in r.tables:  # its own section has them: not twice
            view.notes.append(f"{name}: the assumptions learned from its records are in its own section.")
        table = documented_assumptions(r.scenario, r.manifest)
        weak = len(weak_assumptions(scenario_comments(r.manifest)))
        view.notes.append(f"{name}: {len(table)} documented assumptions, {weak} of them WEAK.")
        view.table(f"{name}: assumptions and their sources", table)
    return view


def _runs(records: list[RunRecord]) -> View:
    view = View("The runs")
    named = display_names(records)
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
            ("started", _utc_time(m.get("started"))),
            ("finished", _utc_time(m.get("finished"))),
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
        view.table(f"{name}: manifest", frame)
    return view


def _utc_time(stamp: object) -> str | None:
    """A manifest's ISO time to the second, in UTC: "2026-12-07 21:11:07 UTC"."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo is not None else "")
