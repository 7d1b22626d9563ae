"""The ``ctdild-sim`` command line: validate scenarios, print their schema, run them.

The CLI only parses arguments, calls the library and prints. Bad input (a scenario file that
cannot be used, an output folder that cannot be written) is reported as ``FILE: FIELD: PROBLEM``
on stderr with exit code 2, without a traceback and without writing anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ctdild_sim import __version__
from ctdild_sim.loading import ScenarioError, load_scenario
from ctdild_sim.output import OutputError, check_output_dir, write_tables
from ctdild_sim.runner import run_scenario
from ctdild_sim.scenario import Scenario
from ctdild_sim.summary import (
    milestone_summary,
    overview,
    phase_durations,
    probability_done_by,
    screen_failure_summary,
    to_date,
)

BAD_INPUT = 2
REPORT_WIDTH = 120
"""Columns of the report when stdout is a file or a pipe (rich would otherwise wrap at 80)."""


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(BAD_INPUT)


@click.group()
@click.version_option(__version__, prog_name="ctdild-sim")
def main() -> None:
    """Trial-simulation and operations planning for NCT06574581 (AD-MSC in CTD-ILD)."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES; print every problem found, exit 2 if any."""
    bad = False
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            click.echo(exc.render(), err=True)
            bad = True
            continue
        click.echo(
            f"{path}: ok ({scenario.name}: {scenario.target_enrolment} subjects in "
            f"{len(scenario.cohorts)} cohorts, {scenario.planned_infusions} planned infusions)"
        )
    if bad:
        sys.exit(BAD_INPUT)


@main.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors and documentation)."""
    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option(
    "--replicates",
    "-n",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of Monte Carlo replicates.",
)
@click.option(
    "--seed",
    default=20240820,
    show_default=True,
    type=click.IntRange(min=0),
    help="Root seed; replicate r uses the streams spawned for (seed, r).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the tables (Parquet and CSV); nothing is written without it.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(scenario_file: Path, replicates: int, seed: int, out: Path | None, quiet: bool) -> None:
    """Simulate SCENARIO_FILE and print its milestone table."""
    try:
        scenario = load_scenario(scenario_file)
        if out is not None:
            check_output_dir(out)
    except (ScenarioError, OutputError) as exc:
        _fail(str(exc))
    console = Console(width=None if sys.stdout.isatty() else REPORT_WIDTH)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task(f"Simulating {scenario.name}", total=replicates)
        tables = run_scenario(scenario, replicates, seed, on_replicate=lambda _: bar.advance(task))
    milestones = milestone_summary(tables.metrics, scenario)
    failures = screen_failure_summary(tables.metrics)
    _print_report(console, scenario, tables.metrics, milestones, failures, replicates, seed)
    if out is not None:
        try:
            write_tables(out, [*tables.items(), ("milestones", milestones), ("screen_failures", failures)])
        except OutputError as exc:
            _fail(str(exc))
        console.print(f"Tables written to {out}/ (Parquet and CSV).")


def _fmt_day(start, day: float) -> str:
    if day == float("inf"):
        return "not reached"
    return to_date(start, day).isoformat()


def _print_report(
    console: Console, scenario, metrics, milestones, failures, replicates: int, seed: int
) -> None:
    table = Table(title=f"{scenario.name}: milestone dates over {replicates} replicates (seed {seed})")
    for col in ("Milestone", "Reached", "P10", "P50", "P90"):
        table.add_column(col, justify="left" if col == "Milestone" else "right")
    for row in milestones.itertuples():
        table.add_row(
            row.label,
            f"{row.reached:.0%}",
            _fmt_day(scenario.start_date, row.p10_day),
            _fmt_day(scenario.start_date, row.p50_day),
            _fmt_day(scenario.start_date, row.p90_day),
        )
    console.print(table)
    o = overview(metrics)
    if scenario.registered_completion_date is not None:
        p = probability_done_by(metrics, scenario, scenario.registered_completion_date)
        console.print(
            f"P(last patient last visit by registered completion {scenario.registered_completion_date}): "
            f"[bold]{p:.1%}[/bold]"
        )
    console.print(
        f"Screen failure {o['screen_failure_rate']:.1%} of screened candidates; "
        f"mean {o['mean_referred']:.1f} referred, {o['mean_enrolled']:.1f} enrolled per replicate."
    )
    console.print(
        f"Safety: {o['mean_triggering_ae']:.2f} triggering AEs and "
        f"{o['mean_pauses']:.2f} pauses per replicate "
        f"(P(any pause) {o['p_any_pause']:.1%}, mean {o['mean_pause_days']:.1f} paused days); "
        f"P(stopped early) {o['p_stopped_early']:.1%}; P(not finished within horizon) {o['p_horizon']:.1%}."
    )
    console.print(
        f"Time lost per replicate (mean): {o['mean_slot_wait_days']:.0f} candidate-days waiting for a cohort "
        f"slot, {o['mean_bed_wait_days']:.1f} subject-days waiting for a bed; "
        f"{o['mean_deaths']:.2f} deaths, {o['mean_withdrawals']:.2f} withdrawals."
    )
    pt = Table(title="Where the time goes (days, over the replicates that completed each phase)")
    for col in ("Phase", "Replicates", "P10", "P50", "P90"):
        pt.add_column(col, justify="left" if col == "Phase" else "right")
    for row in phase_durations(metrics, scenario).itertuples():
        pt.add_row(
            row.phase, str(row.replicates), *(f"{v:.0f}" for v in (row.p10_days, row.p50_days, row.p90_days))
        )
    console.print(pt)
    ft = Table(title="Screen failures by criterion (a candidate can fail several)")
    for col in ("Criterion", "Share of screened", "Per replicate"):
        ft.add_column(col, justify="left" if col == "Criterion" else "right")
    for row in failures.itertuples():
        ft.add_row(
            f"{row.criterion}: {row.text}", f"{row.share_of_screened:.1%}", f"{row.mean_per_replicate:.1f}"
        )
    console.print(ft)
