"""Terminal reports: a study's view model (``ctdild_sim.views``) and the results store's runs, as
rich text and tables.

Every figure printed here is in the view model; this module only renders it. Text that comes
from a file (scenario, site and cohort names, run manifests) is never read as rich
markup: a name like ``[/b]`` is printed as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ctdild_sim.views.columns import COLUMNS, fmt_date, label, missing, numeric, present
from ctdild_sim.views.view import View


def frame_table(title: str, frame: pd.DataFrame, drop: Sequence[str] = ()) -> Table:
    """A table as people read it (``columns.present``), less the ``drop`` columns; numbers are
    right-aligned, text left."""
    shown = present(frame)
    keep = [c for c in shown.columns if c not in drop]
    right = {label(name) for name in frame.columns if name in COLUMNS and numeric(name)}
    out = Table(title=Text(title))
    for c in keep:
        longest_word = max((len(w) for cell in shown[c] for w in str(cell).split()), default=0)
        out.add_column(
            Text(c), justify="right" if c in right else "left", min_width=min(longest_word, 36), overflow="fold"
        )
    for row in shown[keep].itertuples(index=False):
        out.add_row(*(Text(str(cell)) for cell in row))
    return out


def view_report(console: Console, view: View) -> None:
    """A study's view model (``ctdild_sim.views``) in the terminal: its warnings, its title, its
    headline answers in bold, its notes, then its brief tables with their captions (figures are
    for the dashboard and the packs)."""
    warned = [n for n in view.notes if n.startswith("Warning:")]
    for note in warned:
        console.print(Text(note, style="bold red"))
    console.print(Text(view.title, style="bold"))
    for a in view.answers:
        console.print(Text.assemble(f"{a.question}: ", (a.answer, "bold")))
    for note in view.notes:
        if note not in warned:
            console.print(Text(note))
    for title, frame in view.terminal_tables:
        console.print(frame_table(title, frame, drop=view.narrow.get(title, ())))
        if title in view.captions:
            console.print(Text(view.captions[title], style="dim"))


def _date(value) -> str:
    return fmt_date(value) if not missing(value) else "not reached"


def runs_report(console: Console, root, stored) -> None:
    """The runs in the results store, with their whole run ids (what ``?runs=`` and
    ``results.load`` take)."""
    readable = [r for r in stored if r.manifest is not None]
    if not readable:
        console.print(Text(f"No runs in {root}/."))
        return
    out = Table(title=Text(f"Runs in {root}/"))
    out.add_column("Run id", no_wrap=True, min_width=max(len(r.run_id) for r in readable))  # whole: what ?runs= takes
    longest = max(len(str(r.manifest["scenario_name"])) for r in readable)
    out.add_column("Scenario", overflow="fold", min_width=min(max(longest, 11), 24))
    for name in ("Label", "Kind"):
        out.add_column(name, overflow="fold", min_width=11)
    out.add_column("Replicates (seed)", justify="right", overflow="fold")
    out.add_column("Finished", justify="right")
    for r in readable:
        m = r.manifest
        kind = {
            "forecast": f"forecast as of {m.get('as_of')}",
            "sensitivity": f"sensitivity of {len(m.get('assumptions') or [])} assumptions",
        }.get(str(m.get("kind")), "plan from day 0")
        finished = str(m.get("finished", ""))[:10]  # the time is in the run id
        cells = (
            r.run_id,
            m["scenario_name"],
            str(m.get("label", "")),
            kind,
            f"{m['replicates']} ({m['seed']})",
            finished,
        )
        out.add_row(*(Text(c) for c in cells))
    console.print(out)
