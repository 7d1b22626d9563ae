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
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ctdild_sim import __version__
from ctdild_sim.loading import ScenarioError, load_scenario
from ctdild_sim.lot_plan import plan_lots
from ctdild_sim.output import OutputError, check_output_dir, write_tables
from ctdild_sim.report import plan_report, supply_report, trial_report
from ctdild_sim.runner import run_scenario, simulate_metrics
from ctdild_sim.scenario import Scenario
from ctdild_sim.summary import milestone_summary, screen_failure_summary
from ctdild_sim.supply_summary import demand_bands, lot_starts

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


FRESH_SEED_OFFSET = 1_000_003
"""Added to the seed for the fresh-seed check of a lot plan (streams no search replicate used)."""


def _load(scenario_file: Path, out: Path | None) -> Scenario:
    """The scenario, and a usable output folder, or exit 2 with the problem."""
    try:
        scenario = load_scenario(scenario_file)
        if out is not None:
            check_output_dir(out)
    except (ScenarioError, OutputError) as exc:
        _fail(str(exc))
    return scenario


def _write(console: Console, out: Path | None, tables) -> None:
    if out is None:
        return
    try:
        write_tables(out, tables)
    except OutputError as exc:
        _fail(str(exc))
    console.print(f"Tables written to {out}/ (Parquet and CSV).")


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    )


def _console() -> Console:
    return Console(width=None if sys.stdout.isatty() else REPORT_WIDTH)


replicates_option = click.option(
    "--replicates", "-n", default=200, show_default=True, type=click.IntRange(min=1),
    help="Number of Monte Carlo replicates.",
)  # fmt: skip
seed_option = click.option(
    "--seed", default=20240820, show_default=True, type=click.IntRange(min=0),
    help="Root seed; replicate r uses the streams spawned for (seed, r).",
)  # fmt: skip
out_option = click.option(
    "--out", type=click.Path(path_type=Path), default=None,
    help="Folder for the tables (Parquet and CSV); nothing is written without it.",
)  # fmt: skip
quiet_option = click.option("--quiet", is_flag=True, help="No progress bar.")


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@replicates_option
@seed_option
@out_option
@quiet_option
def run(scenario_file: Path, replicates: int, seed: int, out: Path | None, quiet: bool) -> None:
    """Simulate SCENARIO_FILE and print its milestone table."""
    scenario = _load(scenario_file, out)
    console = _console()
    with _progress(quiet) as bar:
        task = bar.add_task(f"Simulating {scenario.name}", total=replicates)
        tables = run_scenario(scenario, replicates, seed, on_replicate=lambda _: bar.advance(task))
    trial_report(console, scenario, tables, seed)
    extra = [
        ("milestones", milestone_summary(tables.metrics, scenario)),
        ("screen_failures", screen_failure_summary(tables.metrics)),
    ]
    _write(console, out, [*tables.items(), *extra])


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@replicates_option
@seed_option
@click.option(
    "--target-stockout", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=None,
    help="Plan the reorder policy with the fewest lots whose P(a subject waits for product) is under this.",
)  # fmt: skip
@click.option(
    "--max-reorder-point", type=click.IntRange(min=0), default=None,
    help="Largest reorder point (vials) the search tries [default: twice the largest cohort's need].",
)  # fmt: skip
@click.option(
    "--period", type=click.Choice(["week", "month", "quarter"]), default="month", show_default=True,
    help="Period of the demand table (the written table is always weekly).",
)  # fmt: skip
@out_option
@quiet_option
def supply(
    scenario_file: Path,
    replicates: int,
    seed: int,
    target_stockout: float | None,
    max_reorder_point: int | None,
    period: str,
    out: Path | None,
    quiet: bool,
) -> None:
    """Forecast AD-MSC product demand, lots and stock-outs for SCENARIO_FILE; with
    --target-stockout, plan the reorder policy that meets the target with the fewest lots."""
    scenario = _load(scenario_file, out)
    if scenario.product is None:
        _fail(f"{scenario_file}: product: the scenario has no product section, so there is no supply to plan")
    console = _console()
    extra = []
    if target_stockout is not None:
        with _progress(quiet) as bar:
            task = bar.add_task("Searching the reorder point", total=None)
            plan = plan_lots(scenario, target_stockout, replicates, seed, max_reorder_point,
                             on_evaluated=lambda _: bar.advance(task))  # fmt: skip
        fresh = None
        if plan.met:
            with _progress(quiet) as bar:
                task = bar.add_task("Checking the plan on fresh seeds", total=replicates)
                fresh = simulate_metrics(plan.scenario, replicates, seed + FRESH_SEED_OFFSET,
                                         on_replicate=lambda _: bar.advance(task))  # fmt: skip
        plan_report(console, plan, fresh)
        search = [(t.lookahead_days, t.point, t.replicates, t.risk, t.upper, t.mean_lots_started,
                   t.mean_vials_expired) for t in plan.tried]  # fmt: skip
        columns = ["lookahead_days", "reorder_point", "replicates", "stockout_risk", "upper_95",
                   "mean_lots_started", "mean_vials_expired"]  # fmt: skip
        extra.append(("lot_plan_search", pd.DataFrame(search, columns=columns)))
        if not plan.met:
            _write(console, out, extra)
            return
        scenario = plan.scenario
    with _progress(quiet) as bar:
        task = bar.add_task(f"Simulating {scenario.name}", total=replicates)
        tables = run_scenario(scenario, replicates, seed, on_replicate=lambda _: bar.advance(task))
    supply_report(console, scenario, tables, period)
    extra += [
        ("demand_weekly_bands", demand_bands(tables.supply_weekly, scenario.start_date, "week")),
        ("lot_starts", lot_starts(tables.lots, replicates, scenario.start_date)),
    ]
    _write(console, out, [("metrics", tables.metrics), ("lots", tables.lots),
                          ("supply_weekly", tables.supply_weekly), *extra])  # fmt: skip
