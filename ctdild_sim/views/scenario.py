"""A scenario file's parameters section by section (the Scenario page), each with its
description, checked range and the file's comment (source, WEAK flag)."""

from __future__ import annotations

from ctdild_sim.scenario.comments import Comment, weak_assumptions
from ctdild_sim.scenario.parameters import parameter_tree
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.views.columns import counted
from ctdild_sim.views.view import View


def scenario_view(scenario: Scenario, source: str, comments: dict[str, Comment] | None = None) -> View:
    """A scenario's parameters section by section, as the file groups them, each with its
    description, checked range and the file's comment (source, WEAK flag)."""
    view = View("Scenario", folded=True)
    tree = parameter_tree(scenario, comments)
    weak = len(weak_assumptions(comments or {}))
    view.notes.append(
        f"{source}: {scenario.name}, {len(scenario.cohorts)} cohorts, {scenario.target_enrolment} "
        f"subjects by design; {len(tree)} parameters in {tree['group'].nunique()} sections; {weak} "
        "assumptions marked WEAK in the file (a guess, not a published figure), their parameters "
        "flagged below."
    )
    for group, rows in tree.groupby("group", sort=False):
        flagged = int(rows["weak"].sum())
        title = f"{group}: {counted(len(rows), 'parameter')}" + (f", {flagged} WEAK" if flagged else "")
        view.tables.append((title, rows.drop(columns="group").reset_index(drop=True)))
        comment = (comments or {}).get("" if group == "trial" else group)
        if comment is not None:
            view.captions[title] = comment.text
    return view
