"""Terminal reports: a study's view model (``ctdild_sim.views``) and the results store's runs, as
rich text and tables.

Every figure printed here is in the view model; this module only renders it. Text that comes
from a file (scenario, site and cohort names, run manifests) is never read as rich
markup: a name like ``[/b]`` is printed as it is.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from ctdild_sim.views.columns import COLUMNS, fmt_date, fmt_share, label, missing, numeric, present
from ctdild_sim.views.product import lot_size_text
from ctdild_sim.views.view import View

MAX_WORD = 36
"""A cell's words up to this long are never broken (a date, a percentage, a criterion's name)."""


def _longest_word(texts) -> int:
    return min(max((len(w) for text in texts for w in str(text).split()), default=0), MAX_WORD)


def _side_by_side(title: str, frame: pd.DataFrame, shown: pd.DataFrame, drop: Sequence[str]) -> Table:
    """``frame`` as people read it (``shown``: ``columns.present``), less the ``drop`` columns, its
    columns side by side: numbers right-aligned, text left, and no cell's word broken."""
    keep = [c for c in shown.columns if c not in drop]
    right = {label(name) for name in frame.columns if name in COLUMNS and numeric(name)}
    out = Table(title=Text(title))
    for c in keep:
        out.add_column(
            Text(c), justify="right" if c in right else "left", min_width=_longest_word(shown[c]), overflow="fold"
        )
    for row in shown[keep].itertuples(index=False):
        out.add_row(*(Text(str(cell)) for cell in row))
    return out


def fits(console: Console, table: Table, cells: Sequence[str]) -> bool:
    """Whether ``table`` shows every word of ``cells`` whole at the console's width (rich would
    otherwise break a word, or cut the table at the right edge)."""
    trial = Console(width=console.width, file=io.StringIO(), color_system=None)
    trial.print(table)
    shown = set(trial.file.getvalue().split())
    return all(word in shown for cell in cells for word in str(cell).split())


def fitted(console: Console, title: str, frame: pd.DataFrame, drop: Sequence[str] = ()) -> RenderableType:
    """The table as it fits the console: its columns side by side when they fit, else each row as
    a block of "column: value" lines. No column is dropped and no cell is cut."""
    shown = present(frame)  # once: a big table's cells take a while to format
    keep = [c for c in shown.columns if c not in drop]
    table = _side_by_side(title, frame, shown, drop)
    if fits(console, table, [*keep, *shown[keep].to_numpy().ravel()]):
        return table
    return stacked(title, keep, [[str(cell) for cell in row] for row in shown[keep].itertuples(index=False)])


def stacked(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    """Rows too wide for the console, each as a block: its first cell in bold, then a line per column."""
    out = Table(title=Text(title), show_header=False)
    out.add_column(overflow="fold")
    out.add_column(overflow="fold")
    for i, (first, *rest) in enumerate(rows):
        out.add_row(Text(columns[0], style="bold"), Text(first, style="bold"))
        for k, (column, cell) in enumerate(zip(columns[1:], rest, strict=True)):
            out.add_row(Text(f"  {column}"), Text(cell), end_section=k == len(rest) - 1 and i < len(rows) - 1)
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
        console.print(fitted(console, title, frame, view.narrow.get(title, ())))
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
    title = f"Runs in {root}/"
    columns = ("Run id", "Scenario", "Label", "Kind", "Replicates (seed)", "Finished")
    rows = [_run_row(r.run_id, r.manifest) for r in readable]
    out = Table(title=Text(title))
    out.add_column(columns[0], no_wrap=True, min_width=max(len(r.run_id) for r in readable))  # whole: what ?runs= takes
    for name in columns[1:4]:
        out.add_column(name, overflow="fold")
    for name in columns[4:]:
        out.add_column(name, justify="right", overflow="fold")
    for row in rows:
        out.add_row(*(Text(c) for c in row))
    whole = fits(console, out, [*columns, *(cell for row in rows for cell in row)])
    console.print(out if whole else stacked(title, columns, rows))


def _run_row(run_id: str, m: dict) -> list[str]:
    kind = {
        "forecast": f"forecast as of {m.get('as_of')}",
        "sensitivity": f"sensitivity of {len(m.get('assumptions') or [])} assumptions",
        "lot_plan": (
            f"lot plan: {lot_size_text(m.get('fill_vials'))}, reorder point {m.get('reorder_point')}, "
            f"P(wait) target {fmt_share(m.get('target_stockout'))}"
        ),
    }.get(str(m.get("kind")), "plan from day 0")
    finished = str(m.get("finished", ""))[:10]  # the time is in the run id
    return [
        run_id,
        str(m["scenario_name"]),
        str(m.get("label", "")),
        kind,
        f"{m['replicates']} ({m['seed']})",
        finished,
    ]
