"""Scenarios side by side on common random numbers (``ctdild-sim compare``, the Compare page):
each one's headline and milestones, each one's paired difference from the first, what differs
between the scenario files, and costs."""

from __future__ import annotations

import pandas as pd

from ctdild_sim.analysis.compare import (
    headline,
    mean_difference,
    milestone_differences,
    milestone_quantiles,
    screen_failure_differences,
)
from ctdild_sim.analysis.costs import cost_per_dose, replicate_costs
from ctdild_sim.runs.record import RunRecord, comparable
from ctdild_sim.scenario.parameters import parameter_tree
from ctdild_sim.views import run_figures as figures
from ctdild_sim.views.columns import fmt_date, fmt_probability, fmt_signed, fmt_span, label
from ctdild_sim.views.figures import differences_figure, lplv_ecdf_figure
from ctdild_sim.views.view import View, display_names, warnings


def compare_view(runs: list[RunRecord]) -> View:
    """Each run's last patient last visit and registered date's chance, each one's paired
    difference from the first; figures, what differs between the files, costs, the tables."""
    named = display_names(runs)
    names = list(named)
    view = View(f"Compare: {', '.join(names[1:])} against {names[0]}" if len(names) > 1 else "Compare")
    problem = comparable(runs)
    if problem:
        view.notes.append(problem)
        return view
    view.notes += warnings(named)
    metrics = {n: r.tables["metrics"] for n, r in named.items()}
    scenarios = {n: r.scenario for n, r in named.items()}
    differences = milestone_differences(metrics, scenarios, runs[0].seed)
    summary = headline(metrics, scenarios)
    reference = next(iter(named))
    _answers(view, summary, differences)
    view.notes.append(
        f"Differences are each scenario minus {reference}, paired replicate by replicate "
        f"(common random numbers, seed {runs[0].seed}, {runs[0].replicates} replicates)."
    )
    view.notes.append(
        "Milestones are compared by their P50 over all replicates (a trial that never reaches a "
        "milestone counts as later than any date), with 95% bootstrap intervals; "
        "'Both reached' counts the pairs in which both scenarios reached it."
    )
    view.figure("compare-lplv", lplv_ecdf_figure, metrics, scenarios)
    view.figure("compare-differences", differences_figure, differences)
    differing = scenario_differences(runs)
    title = f"What differs from {reference}'s scenario"
    view.narrow[title] = (label("scenario"),) if len(named) == 2 else ()
    view.table(
        title,
        differing,
        f"{differing['parameter'].nunique()} parameter(s) differ."
        if len(differing)
        else "The scenarios are the same in every parameter.",
    )
    _compare_costs(view, named, reference)
    quantiles, screening = milestone_quantiles(metrics, scenarios), screen_failure_differences(metrics)
    view.table("Headline", summary)
    view.table("Paired differences", differences)
    view.narrow["Paired differences"] = ("Against",)  # the notes say it: the first scenario
    view.table("Milestones P10/P50/P90", quantiles)
    view.exports += [
        ("compare_quantiles", quantiles),
        ("compare_differences", differences),
        ("compare_headline", summary),
        ("compare_screen_failures", screening),
    ]
    view.table(
        "Screen failures by criterion (candidates screened out per replicate, paired)",
        screening,
        "A protocol amendment (the scenario's eligibility thresholds) moves its own criterion; on "
        "common random numbers the others move only through who enrols.",
    )
    return view


def _answers(view: View, summary: pd.DataFrame, differences: pd.DataFrame) -> None:
    """First each later scenario's paired difference from the first in the last patient's last
    visit (P50, with its 95% interval: what a comparison is for), then each scenario's own
    last patient last visit and the registered date's chance."""
    lplv = differences[differences["measure"] == "lplv_day"]
    for d in lplv.itertuples():
        span = fmt_span(d.ci_low, d.ci_high, "days")
        view.answer(
            f"{d.scenario} against {d.reference}: how much later is the last patient's last visit (P50)?",
            fmt_signed(d.estimate, "days")
            + (f" (95% interval {span}, paired over {d.pairs} replicates)" if span else ""),
        )
    for row in summary.itertuples():
        p50 = fmt_date(row.lplv_p50_date) or "not reached"
        view.answer(
            f"{row.scenario}: when is the last patient's last visit?",
            f"P50 {p50}; reached in {row.p_lplv_reached:.1%} of {row.replicates} replicates",
        )
        if not pd.isna(row.p_done_by_registered_date):
            view.answer(
                f"{row.scenario}: P(last patient last visit by the registered completion date)",
                fmt_probability(row.p_done_by_registered_date, row.replicates),
            )


def _compare_costs(view: View, named: dict[str, RunRecord], reference: str) -> None:
    """Costs side by side and the paired difference in total cost, for the runs that have them."""
    costs = {
        n: (replicate_costs(r.tables["metrics"], r.tables["lots"], r.scenario), r.scenario.product.costs.currency)
        for n, r in named.items()
        if r.scenario.product is not None
        and r.scenario.product.costs is not None
        and "vial_days_in_stock" in r.tables["metrics"]
        and "lots" in r.tables
    }
    if not costs:
        return
    view.figure("compare-costs", figures.cost_figure, costs)
    rows = []
    for name, (per_replicate, currency) in costs.items():
        row = {
            "scenario": name,
            "currency": currency,
            "cost_total_mean": per_replicate["total"].mean(),
            "cost_per_dose": cost_per_dose(per_replicate),
            "cost_waste_mean": per_replicate["waste"].mean(),
        }
        if reference in costs and name != reference:  # both runs hold replicates 0 to n-1 (comparable)
            a, b = (frame.sort_values("replicate")["total"] for frame in (costs[reference][0], per_replicate))
            d = mean_difference(a, b)
            row.update(
                cost_difference=d.estimate, cost_difference_low=d.low, cost_difference_high=d.high, pairs=d.pairs
            )
        rows.append(row)
    columns = [
        "scenario",
        "currency",
        "cost_total_mean",
        "cost_per_dose",
        "cost_waste_mean",
        "cost_difference",
        "cost_difference_low",
        "cost_difference_high",
        "pairs",
    ]
    view.table(
        "Costs per replicate",
        pd.DataFrame(rows, columns=columns),
        f"Differences are each scenario minus {reference}, paired replicate by replicate on "
        "common random numbers, with 95% intervals.",
    )


def scenario_differences(runs: list[RunRecord]) -> pd.DataFrame:
    """The parameters whose value differs from the first run's scenario: one row per parameter
    and other scenario (parameter, reference_value, scenario, value)."""
    named = display_names(runs)
    trees = {
        n: parameter_tree(r.scenario).assign(key=lambda t: t["group"] + "." + t["parameter"]) for n, r in named.items()
    }
    reference = next(iter(trees))
    base = trees[reference].set_index("key")["value"]
    rows = []
    for name, tree in list(trees.items())[1:]:
        values = tree.set_index("key")["value"]
        for key in list(dict.fromkeys([*base.index, *values.index])):
            a, b = base.get(key, "(not set)"), values.get(key, "(not set)")
            if a != b:
                rows.append(
                    {"parameter": key.removeprefix("trial."), "reference_value": a, "scenario": name, "value": b}
                )
    return pd.DataFrame(rows, columns=["parameter", "reference_value", "scenario", "value"])
