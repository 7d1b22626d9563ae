"""What would it take (``ctdild-sim solve``): the value of a lever at which a target is met, its
uncertainty, or plainly that no value in the range meets it."""

from __future__ import annotations

from ctdild_sim.studies.solve import Solution
from ctdild_sim.views.columns import fmt_probability
from ctdild_sim.views.view import View


def solve_view(name: str, solution: Solution, replicates: int, seed: int) -> View:
    lever, target = solution.lever, solution.target
    view = View(
        f"{name}: {lever} for {target.text}, searched from {solution.low:g} to {solution.high:g} on common random "
        f"numbers ({replicates} replicates a value, seed {seed})"
    )
    ends = {e.value: e for e in solution.evaluations}
    at = ", ".join(
        f"{v:g}: {fmt_probability(ends[v].probability, ends[v].replicates)}"
        for v in (solution.low, solution.high)
        if v in ends
    )
    question = f"Which {lever} meets {target.text}?"
    if solution.value is None:
        verdict = "met across the whole range" if solution.met_low else "not met anywhere in the range"
        view.answer(question, f"the target is {verdict} (P at the ends: {at})")
    else:
        side = "or more" if solution.upwards else "or less"
        e = ends[solution.value]
        there = fmt_probability(e.probability, e.replicates)
        view.answer(question, f"{solution.value:.4g} {side} (P there {there}; at the ends: {at})")
        values = [v for v in (solution.possible_from, solution.sure_from) if v is not None]
        if solution.sure_from is None:
            view.notes.append(
                "With 95% confidence the target is not met anywhere in the range: more replicates or a wider "
                "range would tell."
            )
        if values:
            view.notes.append(
                f"Uncertainty: the 95% interval of P meets the target from {min(values):.4g} (its better bound) "
                f"to {max(values):.4g} (its worse bound)."
            )
    view.table("Values simulated", solution.table().rename(columns={"value": "lever_value"}))
    view.exports.append(("solve_evaluations", solution.table()))
    return view
