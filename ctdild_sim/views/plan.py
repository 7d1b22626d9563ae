"""The plan from day 0 (``ctdild-sim run``, the Timeline page): when the milestones come, the
chance of the registered date, where time goes, screening and safety, one replicate's Gantt chart.
Also the Cohorts and Screening pages' views of the same runs."""

from __future__ import annotations

import pandas as pd

from ctdild_sim.analysis.summary import (
    milestone_summary,
    overview,
    phase_durations,
    probability_done_by,
    screen_failure_summary,
    typical_replicates,
)
from ctdild_sim.analysis.supply_summary import stockout_risk
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.runs.runner import half_width
from ctdild_sim.views import run_figures as figures
from ctdild_sim.views.columns import fmt_date, fmt_probability, label, not_reached
from ctdild_sim.views.figures import earliest_registered_completion, lplv_ecdf_figure
from ctdild_sim.views.view import View, display_names, runs_title, warnings


def kept_replicates(run: RunRecord) -> list[int]:
    """Replicates whose full records (events, patients) the run kept."""
    if "events" not in run.tables:
        return []
    return sorted(int(r) for r in run.tables["events"]["replicate"].unique())


def typical_options(run: RunRecord) -> list[dict]:
    """The Gantt chart's picker of typical replicates (P10/P50/P90 of LPLV, stopped early with its
    reason), among the replicates the run kept."""
    kept = kept_replicates(run)
    events = run.tables["events"] if kept else None
    out = []
    for what, replicate in typical_replicates(run.tables["metrics"], kept):
        if what == "stopped early" and events is not None:
            reason = events[(events["replicate"] == replicate) & (events["event"] == "trial_stopped")]["detail"]
            what = f"stopped early ({reason.iloc[0]})" if len(reason) else what
        out.append({"label": f"{what}: replicate {replicate}", "value": replicate})
    return out


def plan_view(runs: list[RunRecord], replicate: int | None = None) -> View:
    """Each run's headline answers (last patient last visit, the registered date's chance), how
    the trial runs (screening, safety, time lost), its milestones and where time goes; figures:
    the enrolment fan, the LPLV distribution, the milestones and one replicate's Gantt chart."""
    named = display_names(runs)
    view = View(runs_title("Plan from day 0", named))
    view.notes += warnings(named)
    for name, run in named.items():
        _answers(view, name, run)
        _how_it_runs(view, name, run)
    _figures(view, named, replicate)
    for name, run in named.items():
        metrics = run.tables["metrics"]
        view.table(f"{name}: milestone dates", milestone_summary(metrics, run.scenario))
        view.table(
            f"{name}: where the time goes (days, over the replicates that completed each phase)",
            phase_durations(metrics, run.scenario),
        )
        if run.scenario.screened_by_criteria:
            title = f"{name}: screen failures by criterion (a candidate can fail several)"
            view.table(title, screen_failure_summary(metrics, run.scenario.eligibility))
            view.narrow[title] = (label("kind"),)
    return view


def _answers(view: View, name: str, run: RunRecord) -> None:
    metrics, scenario = run.tables["metrics"], run.scenario
    lplv = milestone_summary(metrics, scenario).set_index("milestone").loc["lplv_day"]
    p50 = fmt_date(lplv["p50_date"]) or not_reached(lplv["reached"])
    band = " to ".join(fmt_date(lplv[c]) or "never" for c in ("p10_date", "p90_date"))
    view.answer(f"{name}: when is the last patient's last visit?", f"P50 {p50} (P10 to P90: {band})")
    registered = scenario.registered_completion_date
    if registered is not None:
        p, n = probability_done_by(metrics, scenario, registered), len(metrics)
        question = f"{name}: P(last patient last visit by the registered completion date {registered})"
        asked = run.manifest.get("precision")
        if not asked:
            view.answer(question, fmt_probability(p, n))
            return
        width = half_width(round(p * n), n)  # the interval the replicates were added until
        view.answer(question, f"{p:.1%} ± {width:.2%} (95%, Agresti-Coull)")
        reached = "reached" if width <= asked else "NOT reached (the replicates' limit)"
        view.notes.append(f"{name}: precision {reached}: {n:,} replicates for a half-width of ±{asked:.2%} asked.")


def _how_it_runs(view: View, name: str, run: RunRecord) -> None:
    metrics = run.tables["metrics"]
    o = overview(metrics)
    view.notes.append(
        f"{name}: screen failure {o['screen_failure_rate']:.1%} of screened candidates; mean "
        f"{o['mean_referred']:.1f} referred, {o['mean_enrolled']:.1f} enrolled per replicate."
    )
    view.notes.append(
        f"{name}: safety: {o['mean_triggering_ae']:.2f} triggering AEs and {o['mean_pauses']:.2f} pauses per "
        f"replicate (P(any pause) {o['p_any_pause']:.1%}, mean {o['mean_pause_days']:.1f} paused days); "
        f"P(stopped early) {o['p_stopped_early']:.1%}; P(not finished within horizon) {o['p_horizon']:.1%}."
    )
    view.notes.append(
        f"{name}: time lost per replicate (mean): {o['mean_slot_wait_days']:.0f} candidate-days waiting for a "
        f"cohort slot, {o['mean_bed_wait_days']:.1f} subject-days waiting for a bed, "
        f"{metrics['patient_days_waiting_for_product'].mean():.1f} subject-days waiting for product "
        f"(P(any wait for product) {stockout_risk(metrics):.1%}); {o['mean_deaths']:.2f} deaths, "
        f"{o['mean_withdrawals']:.2f} withdrawals."
    )


def _figures(view: View, named: dict[str, RunRecord], replicate: int | None) -> None:
    kept = {name: kept_replicates(run) for name, run in named.items()}
    fans = {name: run for name, run in named.items() if kept[name]}
    fan_notes = [
        f"{name}: from the {len(kept[name])} replicates with full records (of {run.replicates})."
        if name in fans
        else f"{name}: no replicate kept its full records (the run used --keep-events 0), so there is no "
        "enrolment fan or Gantt chart for it."
        for name, run in named.items()
    ]
    if fans:
        view.figure("enrolment", _enrolment_fan, fans, kept, caption=" ".join(fan_notes))
    elif any(run.run_id for run in named.values()):  # a stored run's page says why it has no fan
        view.notes += fan_notes
    metrics = {n: r.tables["metrics"] for n, r in named.items()}
    view.figure("lplv", lplv_ecdf_figure, metrics, {n: r.scenario for n, r in named.items()})
    view.figure("milestones", _milestone_boxes, named)
    _gantt(view, fans, kept, replicate)


def _enrolment_fan(runs: dict[str, RunRecord], kept: dict[str, list[int]]):
    fans = {n: (figures.enrolment_quantiles(r.tables["patients"], kept[n]), r.scenario) for n, r in runs.items()}
    return figures.enrolment_fan_figure(fans)


def _milestone_boxes(named: dict[str, RunRecord]):
    registered = earliest_registered_completion(r.scenario for r in named.values())
    dates = {n: figures.milestone_dates(r.tables["metrics"], r.scenario) for n, r in named.items()}
    return figures.milestone_box_figure(dates, registered)


def _gantt_chart(run: RunRecord, replicate: int, name: str):
    events = run.tables["events"]
    segments = figures.gantt_segments(events, run.tables["screenings"], replicate, run.tables["patients"])
    exits = figures.gantt_exits(events, replicate)
    return figures.gantt_figure(segments, figures.pauses(events, replicate), run.scenario, replicate, exits, name)


def _gantt(view: View, shown: dict[str, RunRecord], kept: dict[str, list[int]], replicate: int | None) -> None:
    """One replicate's subjects phase by phase, the same replicate of each run."""
    if not shown:
        return
    first_kept = kept[next(iter(shown))]
    chosen = int(replicate) if replicate in first_kept else first_kept[0]
    notes = []
    for name, run in shown.items():
        if chosen not in kept[name]:
            notes.append(f"{name} did not keep replicate {chosen}.")
            continue
        view.figure(f"gantt-{len(view.drawings)}", _gantt_chart, run, chosen, name if len(shown) > 1 else "")
    paired = (
        " the same replicate of each run: on common random numbers it meets the same referrals and draws"
        if len(shown) > 1
        else ""
    )
    notes.append(f"Gantt chart: replicate {chosen} (replicates 0 to {first_kept[-1]} are kept){paired}.")
    view.captions[view.figure_keys[-1]] = " ".join(notes)


def cohorts_view(runs: list[RunRecord]) -> View:
    """When each cohort passes its gate, and what stops or pauses the trial."""
    named = display_names(runs)
    view = View(runs_title("Cohorts", named))
    view.notes += warnings(named)
    for name, run in named.items():
        m = run.tables["metrics"]
        view.figure(f"cohorts-{name}", figures.cohort_completion_figure, m, run.scenario, name)
        o = overview(m)
        view.notes.append(
            f"{name}: P(stopped early) {o['p_stopped_early']:.1%}; {o['mean_triggering_ae']:.2f} triggering AEs, "
            f"{o['mean_pauses']:.2f} safety pauses and {o['mean_pause_days']:.0f} paused days per replicate; "
            f"{m['n_cohort_repeats'].mean():.2f} cohort repeats."
        )
        gates = milestone_summary(m, run.scenario).set_index("milestone")
        rows = []
        for k, cohort in enumerate(run.scenario.cohorts, start=1):
            gate = gates.loc[f"cohort{k}_gate_day"]  # quantiles as everywhere: never passed counts as never
            rows.append(
                {
                    "cohort": k,
                    "name": cohort.name,
                    "size": cohort.size,
                    "infusions": cohort.infusions,
                    "p_gate_passed": gate["reached"],
                    "p10_gate_date": gate["p10_date"],
                    "p50_gate_date": gate["p50_date"],
                    "p90_gate_date": gate["p90_date"],
                }
            )
        view.table(f"{name}: cohorts", pd.DataFrame(rows))
    return view


def screening_view(runs: list[RunRecord]) -> View:
    """Which eligibility criteria rule candidates out."""
    named = display_names(runs)
    view = View(runs_title("Screening", named))
    view.notes += warnings(named)
    failures = {}
    for name, run in named.items():
        o = overview(run.tables["metrics"])
        share = run.scenario.screening.pass_probability
        if not run.scenario.screened_by_criteria:
            view.notes.append(f"{name}: screened by a pass probability ({share:.0%} planned), no criteria modelled.")
        else:
            table = screen_failure_summary(run.tables["metrics"], run.scenario.eligibility)
            failures[name] = table
            view.table(f"{name}: screen failures by criterion (a candidate can fail several)", table)
        view.notes.append(
            f"{name}: {o['mean_referred']:.1f} referred and {o['mean_enrolled']:.1f} enrolled per "
            f"replicate; {o['screen_failure_rate']:.1%} of screened candidates fail."
        )
    if failures:
        view.figure("screen-failures", figures.screen_failure_figure, failures)
    return view
