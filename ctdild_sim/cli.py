"""The ``ctdild-sim`` command line: validate, schema, run, runs, report, rank, supply, forecast,
backtest, actuals, compare, sensitivity, solve and dashboard.

The CLI only parses arguments, calls the library and prints. Bad input (a scenario file that
cannot be used, an output folder that cannot be written) is reported as ``FILE: FIELD: PROBLEM``
on stderr with exit code 2, without a traceback and without writing anything; Ctrl-C stops a run
with exit code 130 and writes nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import json
import math
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import NoReturn

import click
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from ctdild_sim import __version__
from ctdild_sim.actuals.reader import ActualsError, as_of_hint, latest_record_date
from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.rows import FILES as ACTUALS_FILES
from ctdild_sim.actuals.sdtm_files import SdtmError, read_sdtm_folder, sdtm_folder
from ctdild_sim.actuals.sdtm_map import UNMAPPED_FILE, map_sdtm, mapped_columns, sdtm_readme
from ctdild_sim.actuals.synthetic import actuals_from_replicate, synthetic_readme
from ctdild_sim.actuals.workbook import TemplateExists, write_template
from ctdild_sim.analysis.ranking import RESAMPLES, drawn_inputs
from ctdild_sim.analysis.tables import RunTables
from ctdild_sim.learning.enrolment import MODELS as ENROLMENT_MODELS
from ctdild_sim.model.compiled import model_build
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.reports.terminal import runs_report, view_report
from ctdild_sim.reports.writers import FORMATS, ReportError, write_report
from ctdild_sim.runs.export import OutputError, WriteFailed, check_output_dir, write_csv_tables, write_tables
from ctdild_sim.runs.local_dask import WorkersLost
from ctdild_sim.runs.record import RunRecord
from ctdild_sim.runs.results import DEFAULT_ROOT, StoreError, delete_run, list_runs, manifest_of, save_run, set_label
from ctdild_sim.runs.runner import quiet_dask, run_scenario, simulate_metrics
from ctdild_sim.scenario.loading import ScenarioError, load_scenario, read_text, shipped_scenario, shipped_scenarios_dir
from ctdild_sim.scenario.product import MAX_VIALS_PER_LOT
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.budget import BudgetExceeded
from ctdild_sim.studies.backtest import BacktestError, Period
from ctdild_sim.studies.backtest import backtest as run_backtest
from ctdild_sim.studies.forecast import PLAN_REPLICATES, as_of_problem
from ctdild_sim.studies.forecast import forecast as run_forecast
from ctdild_sim.studies.lot_plan import plan_lots
from ctdild_sim.studies.plan import run_plan
from ctdild_sim.studies.sensitivity import (
    DEFAULT_SPREAD,
    TOP_ASSUMPTIONS,
    RangesError,
    Sensitivity,
    chosen_assumptions,
    replicates_needed,
    screened_sensitivity,
)
from ctdild_sim.studies.solve import SolveError, parse_target
from ctdild_sim.studies.solve import lever_range as lever_bounds
from ctdild_sim.studies.solve import solve as run_solve
from ctdild_sim.views.columns import counted
from ctdild_sim.views.view import View  # the study views import plotly: each command imports its own

FAILED = 1
BAD_INPUT = 2
INTERRUPTED = 130
REPORT_WIDTH = 120
"""Columns of the report when stdout is a file or a pipe (rich would otherwise wrap at 80)."""
MAX_REPLICATES = 10_000_000
"""Most replicates one command may ask for (memory grows with them, a little)."""
DASHBOARD_MAX_REPLICATES = 20_000
"""Most replicates one job started from the dashboard may ask for, unless --max-replicates says."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class FiniteFloat(click.FloatRange):
    """A number option that is finite: ``nan`` passes every range comparison, and an unbounded
    option takes ``inf``, so both are refused here, by the option parser."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _fraction() -> FiniteFloat:
    """A share strictly between 0 and 1."""
    return FiniteFloat(0, 1, min_open=True, max_open=True)


def _writable_store(root: Path) -> None:
    """The results store can be made and written (read-only or full, it is one message at start,
    not an OSError or an SQLite error when the first run is stored)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root) as probe:
            probe.write(b"\0" * 65536)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        _fail(
            f"--results: {root}: cannot be written ({exc.strerror or exc}); the dashboard stores its runs there: "
            "pick a folder it can write with --results"
        )


def _fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def _guarded(source: Path | None = None) -> Iterator[SimpleNamespace]:
    """Turn what can go wrong while a command runs into a message and an exit code, never a
    traceback: a replicate past its budget (2), a write that fails or Dask workers lost (1), Ctrl-C (130). The block
    sets ``state.saved`` once the run is in the store, so an interrupt says what is kept."""
    state = SimpleNamespace(saved=None)
    try:
        yield state
    except KeyboardInterrupt:
        quiet_dask()
        kept = f"the run was saved as {state.saved}" if state.saved else "nothing was written"
        _fail(f"Interrupted: {kept}.", INTERRUPTED)
    except BudgetExceeded as exc:
        _fail(f"{source}: {exc}" if source else str(exc))
    except (WriteFailed, StoreError, WorkersLost) as exc:
        _fail(str(exc), FAILED)


def run_command(args: list[str] | None = None) -> NoReturn:
    """The ``ctdild-sim`` command: ``main``, then out without the interpreter's teardown, which
    spent a command's last 0.1-0.2 s freeing every imported module's objects one by one. Exit
    handlers still run (the worker pool is ended) and output is flushed first; the exit status is
    click's (a message given instead of a status is printed, status 1, as Python would). Under a
    profiler or a tracer (coverage) the interpreter ends as usual, so they can write what they saw."""
    code: object
    try:
        code = main(args, standalone_mode=False) or 0  # a command's value, or the code it exited with
    except click.exceptions.Abort as abort:  # click's, for a Ctrl-C or an end of input at a question
        if isinstance(abort.__context__, KeyboardInterrupt):  # before a command took charge of Ctrl-C
            click.echo("Interrupted: nothing was written.", err=True)
            code = INTERRUPTED
        else:
            click.echo("Aborted!", err=True)
            code = 1
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except SystemExit as stop:
        code = stop.code
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    atexit._run_exitfuncs()
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: the reader has gone
            stream.flush()
    os._exit(code or 0)


@click.group()
@click.version_option(__version__, prog_name="ctdild-sim", message=f"%(prog)s %(version)s ({model_build()})")
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
@click.option(
    "--actuals", "actuals_files", is_flag=True, help="The actuals files' columns instead, one schema per file."
)
def schema(actuals_files: bool) -> None:
    """Print the JSON Schema of scenario files (for editors and documentation)."""
    if actuals_files:
        click.echo(json.dumps({name: model.model_json_schema() for name, model in ACTUALS_FILES.items()}, indent=2))
        return
    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


# -- shared pieces ------------------------------------------------------------------------


def _scenario_path(scenario_file: Path) -> Path:
    """The file (or folder) named, or, where it does not exist, the shipped one of that name (so
    the README's ``scenarios/...`` examples work outside the repository)."""
    if scenario_file.exists():
        return scenario_file
    shipped = shipped_scenario(scenario_file)
    if shipped is None:
        return scenario_file
    click.echo(f"{scenario_file}: not found here; using the copy installed with ctdild-sim ({shipped})", err=True)
    return shipped


def _load(scenario_file: Path, out: Path | None = None) -> Scenario:
    """The scenario, and a usable output folder, or exit 2 with the problem."""
    try:
        scenario = load_scenario(scenario_file)
        if out is not None:
            check_output_dir(out)
    except (ScenarioError, OutputError) as exc:
        _fail(str(exc))
    return scenario


def _write(console: Console, out: Path | None, tables: list[tuple[str, pd.DataFrame]]) -> None:
    if out is None:
        return
    try:
        write_tables(out, tables)
    except OutputError as exc:
        _fail(str(exc))
    console.print(Text(f"Tables written to {out}/ (Parquet and CSV)."))


def _keeps_records(out: Path | None, no_store: bool) -> bool:
    """Whether a command's records (events, lots, demand histograms) go anywhere: to the store or an
    export. The terminal reports read none of them, so a command whose records go nowhere keeps none."""
    return out is not None or not no_store


def _console() -> Console:
    """The report's console: the terminal's width, ``COLUMNS`` if set, else REPORT_WIDTH for a file
    or a pipe (tables too wide for it are stacked, never cut)."""
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) >= 40 else None
    return Console(width=width or (None if sys.stdout.isatty() else REPORT_WIDTH))


def _with_progress(quiet: bool, label: str, total: int | None, work: Callable[[Callable[[int], None]], object]):
    """Run ``work(advance)`` under a progress bar on stderr (gone when the work ends)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    )
    with bar:
        task = bar.add_task(escape(label), total=total)
        return work(lambda n=1: bar.advance(task, n))


def _execution_options(f):
    options = [
        click.option(
            "--replicates",
            "-n",
            default=200,
            show_default=True,
            type=click.IntRange(1, MAX_REPLICATES),
            help="Number of Monte Carlo replicates.",
        ),
        click.option(
            "--seed",
            default=20240820,
            show_default=True,
            type=click.IntRange(0, 2**63 - 1),
            help="Root seed; replicate r uses the streams spawned for (seed, r).",
        ),
        click.option(
            "--workers",
            "-j",
            default=None,
            type=click.IntRange(1, 1024),
            help="Worker processes [default: the machine's cores].",
        ),
        click.option(
            "--chunk-size",
            default=None,
            type=click.IntRange(min=1),
            help="Replicates per task [default: about four tasks per worker, at most 200].",
        ),
        click.option(
            "--scheduler",
            default=None,
            help="Run on a dask.distributed scheduler at this address, or 'local' for a scheduler here and "
            "--workers worker processes.",
        ),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _run_options(workers: int | None, chunk_size: int | None, scheduler: str | None, **extra) -> dict:
    return {"workers": workers or os.cpu_count() or 1, "chunk_size": chunk_size, "scheduler": scheduler, **extra}


out_option = click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Also export the tables (Parquet and CSV) to this folder.",
)


def _results_option(help: str):
    return click.option(
        "--results",
        "results_root",
        type=click.Path(path_type=Path),
        default=DEFAULT_ROOT,
        show_default=True,
        help=help,
    )


def _store_options(what: str):
    """``--results`` and ``--no-store`` for a command that saves a ``what`` in the results store."""

    def decorate(f):
        f = click.option("--no-store", is_flag=True, help=f"Do not save the {what} in the results store.")(f)
        return _results_option(f"Results store the {what} is saved in.")(f)

    return decorate


def _save(state: SimpleNamespace, root: Path, tables: list, scenario: Scenario, file: Path, *how, extra=None) -> None:
    """Store a run first, so nothing the report or an export does can lose the simulation
    (``how``: when it started, its seed, replicates and options)."""
    started, seed, replicates, options = how
    state.saved = save_run(
        root,
        tables,
        scenario=scenario,
        scenario_file=file,
        scenario_text=read_text(file),
        seed=seed,
        replicates=replicates,
        options=options,
        command=sys.argv,
        started=started,
        extra=extra,
    ).name


def _saved_line(console: Console, state: SimpleNamespace, root: Path) -> None:
    if state.saved:
        console.print(Text(f"Saved as run {state.saved} in {root}/.", style="bold"))


def _html_report(console: Console, view: View, report_file: Path | None) -> None:
    """The view model as one self-contained HTML page (``--report``)."""
    from ctdild_sim.reports.pack import view_pack

    if report_file is None:
        return
    try:
        write_report(view_pack(view), report_file, "html")
    except ReportError as exc:
        _fail(str(exc), FAILED)
    console.print(Text(f"HTML report written to {report_file}."))


# -- run ----------------------------------------------------------------------------------


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@_execution_options
@click.option(
    "--keep-events",
    default=1000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Keep full event logs for the first K replicates only (the rest are summarised).",
)
@_store_options("run")
@click.option(
    "--precision",
    type=_fraction(),
    default=None,
    help="Add replicates 200 at a time until the 95% half-width of P(LPLV by the registered date) is at "
    "most this (e.g. 0.02); --replicates is then the most that may run.",
)
@out_option
def run(
    scenario_file: Path,
    replicates: int,
    seed: int,
    workers: int | None,
    chunk_size: int | None,
    scheduler: str | None,
    quiet: bool,
    keep_events: int,
    results_root: Path,
    no_store: bool,
    precision: float | None,
    out: Path | None,
) -> None:
    """Simulate SCENARIO_FILE, save the run in the results store and print its plan: when the
    milestones come, the chance of the registered date, where time goes, screening and safety."""
    from ctdild_sim.views.plan import plan_view

    scenario_file = _scenario_path(scenario_file)
    scenario = _load(scenario_file, out)
    if precision is not None and scenario.registered_completion_date is None:
        _fail(
            f"{scenario_file}: --precision is on P(LPLV by the registered completion date), and the scenario "
            "has no registered_completion_date"
        )
    records = _keeps_records(out, no_store)  # else only the metrics are simulated (all the report reads)
    options = _run_options(
        workers, chunk_size, scheduler, keep_events=keep_events if records else 0, metrics_only=not records
    )
    started = dt.datetime.now(dt.UTC)
    with _guarded(scenario_file) as state:
        label = f"Simulating {scenario.name}" + (f" to +-{precision:g}" if precision else "")
        plan = functools.partial(run_plan, scenario, replicates, seed, precision, **options)
        tables: RunTables = _with_progress(quiet, label, replicates, lambda advance: plan(on_replicate=advance))
        n = len(tables.metrics)
        everything = tables.with_summaries(scenario) if records else []
        if not no_store:
            extra = {"precision": precision} if precision else None
            _save(state, results_root, everything, scenario, scenario_file, started, seed, n, options, extra=extra)
        console = _console()
        try:
            shown = dict(everything) or {"metrics": tables.metrics}
            view_report(console, plan_view([RunRecord.made(scenario, shown, seed, n, precision=precision)]))
        except Exception as exc:  # a fault in the report must not hide that the run is safe
            kept = f"the run is saved as {state.saved}" if state.saved else "the run was not stored (--no-store)"
            _fail(f"The report could not be printed ({type(exc).__name__}: {exc}); {kept}.", FAILED)
        _saved_line(console, state, results_root)
        _write(console, out, everything)


@main.command()
@_results_option("Results store to list.")
@click.option(
    "--label",
    "label",
    nargs=2,
    metavar="RUN_ID TEXT",
    default=None,
    help="Label a run (an empty TEXT removes its label).",
)
@click.option(
    "--delete",
    "delete_ids",
    multiple=True,
    metavar="RUN_ID",
    help="Delete a run (repeat for several); asks first unless --yes.",
)
@click.option("--yes", is_flag=True, help="Delete without asking.")
def runs(results_root: Path, label: tuple[str, str] | None, delete_ids: tuple[str, ...], yes: bool) -> None:
    """List the runs in the results store (and any folder in it that is not a readable run); label
    or delete runs."""
    try:
        if label is not None:
            set_label(label[0], label[1], results_root)
            click.echo(
                f"Run {label[0]} labelled {' '.join(label[1].split())!r}."
                if label[1].strip()
                else f"Run {label[0]}'s label removed."
            )
        if delete_ids:
            for run_id in delete_ids:
                manifest_of(run_id, results_root)  # every id is checked before any run is deleted
            names = ", ".join(delete_ids)
            if not yes and not click.confirm(
                f"Delete {counted(len(delete_ids), 'run')} from {results_root}/ ({names})?", default=False, err=True
            ):
                click.echo("Nothing deleted.", err=True)
                sys.exit(1)
            deleted: list[str] = []
            try:
                for run_id in delete_ids:
                    delete_run(run_id, results_root)
                    deleted.append(run_id)
            except KeyboardInterrupt:
                _fail(
                    f"Interrupted: {len(deleted)} of {counted(len(delete_ids), 'run')} deleted"
                    + (f" ({', '.join(deleted)})." if deleted else "."),
                    INTERRUPTED,
                )
            click.echo(f"Deleted {counted(len(delete_ids), 'run')}: {names}.")
            return
    except StoreError as exc:
        _fail(f"{results_root}: {exc}")
    if label is not None:
        return
    stored = list_runs(results_root)
    runs_report(_console(), results_root, stored)
    for run_ in stored:
        if run_.problem:
            click.echo(f"{run_.path}: {run_.problem}", err=True)


@main.command()
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="html, pdf (printed by Chromium) or xlsx [default: from --out's suffix, else html].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="File to write [default: steering-pack-<first run id>.<format>].",
)
@_results_option("Results store the runs are in.")
def report(run_ids: tuple[str, ...], fmt: str | None, out: Path | None, results_root: Path) -> None:
    """Write the steering-committee pack of stored runs: the headline answers, the milestones, the
    product, the assumptions with their sources and WEAK flags, and each run's manifest."""
    from ctdild_sim.reports.pack import steering_pack

    if fmt is None:
        suffix = out.suffix.lstrip(".").lower() if out is not None else ""
        fmt = suffix if suffix in FORMATS else "html"
    try:
        records = [RunRecord.open(run_id, results_root) for run_id in run_ids]
    except StoreError as exc:
        _fail(f"{results_root}: {exc}")
    path = out if out is not None else Path(f"steering-pack-{run_ids[0]}.{fmt}")
    try:
        write_report(steering_pack(records), path, fmt)
    except ReportError as exc:
        _fail(str(exc), FAILED)
    click.echo(f"Steering pack of {counted(len(records), 'run')} written to {path} ({fmt}).")


@main.command()
@click.argument("run_id")
@_results_option("Results store the run is in.")
@click.option(
    "--resamples",
    type=click.IntRange(20, 10_000),
    default=RESAMPLES,
    show_default=True,
    help="Bootstrap resamples for the intervals.",
)
@out_option
def rank(run_id: str, results_root: Path, resamples: int, out: Path | None) -> None:
    """What to learn first, from one stored run: the share of each outcome's variance explained by
    each quantity the replicates drew once (first-order indices, 95% bootstrap intervals)."""
    from ctdild_sim.views.sensitivity import rank_view

    try:
        record = RunRecord.open(run_id, results_root)
        metrics = record.tables["metrics"]
        if out is not None:
            check_output_dir(out)
    except (StoreError, OutputError) as exc:
        _fail(f"{results_root}: {exc}" if isinstance(exc, StoreError) else str(exc))
    if not drawn_inputs(metrics):
        _fail(
            f"run {run_id}: its replicates recorded no drawn quantity that varies (runs made before ctdild-sim "
            "recorded them, or every site's rate is fixed); run the scenario again"
        )
    view = rank_view(record, resamples)
    console = _console()
    view_report(console, view)
    _write(console, out, view.exports)


# -- supply -------------------------------------------------------------------------------


lot_size_option = click.option(
    "--lot-size",
    "lot_sizes",
    type=click.IntRange(1, MAX_VIALS_PER_LOT),
    multiple=True,
    help="A lot size (vials a campaign fills) the lot plan may choose; give it again for more "
    "[default: across the scenario's product.lots.fill_range].",
)


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@_execution_options
@click.option(
    "--target-stockout",
    type=_fraction(),
    default=None,
    help="Plan the lot size and reorder policy of least expected cost whose P(a subject waits for product) "
    "is under this.",
)
@lot_size_option
@click.option(
    "--max-reorder-point",
    type=click.IntRange(0, 100_000),
    default=None,
    help="Largest reorder point (vials) the search tries [default: twice the largest cohort's need].",
)
@click.option(
    "--period",
    type=click.Choice(["week", "month", "quarter"]),
    default="month",
    show_default=True,
    help="Period of the demand table (weekly, monthly and quarterly tables are all written).",
)
@_store_options("lot plan")
@out_option
def supply(
    scenario_file: Path,
    replicates: int,
    seed: int,
    workers: int | None,
    chunk_size: int | None,
    scheduler: str | None,
    quiet: bool,
    target_stockout: float | None,
    lot_sizes: tuple[int, ...],
    max_reorder_point: int | None,
    period: str,
    results_root: Path,
    no_store: bool,
    out: Path | None,
) -> None:
    """Forecast AD-MSC product demand, lots and stock-outs for SCENARIO_FILE; with
    --target-stockout, plan the lot size and reorder policy that meet the target at the least
    expected cost, and save the plan in the results store (``report`` packs it, the dashboard shows it)."""
    from ctdild_sim.views.lot_plan import lot_plan_view
    from ctdild_sim.views.product import product_view

    scenario_file = _scenario_path(scenario_file)
    scenario = _load(scenario_file, out)
    if scenario.product is None:
        _fail(f"{scenario_file}: product: the scenario has no product section, so there is no supply to plan")
    options = _run_options(workers, chunk_size, scheduler)
    started = dt.datetime.now(dt.UTC)
    with _guarded(scenario_file) as state:
        views, tables, label = [], None, None
        if target_stockout is not None:
            fills = sorted(set(lot_sizes)) or None
            search = functools.partial(
                plan_lots, scenario, target_stockout, replicates, seed, max_reorder_point, fills=fills, **options
            )
            what = "Searching lot sizes and reorder policies"
            plan = _with_progress(quiet, what, None, lambda advance: search(on_evaluated=lambda _: advance()))
            views.append(lot_plan_view(plan, scenario.name, seed, schedule=not plan.met))
            if plan.met:  # the product as the plan runs it, on its fresh seeds
                if not no_store:
                    how = (started, plan.fresh_seed, len(plan.fresh_tables.metrics), options)
                    tables = plan.output_tables()
                    _save(state, results_root, tables, plan.scenario, scenario_file, *how, extra=plan.manifest(seed))
                scenario, tables, seed = plan.scenario, plan.fresh_tables, plan.fresh_seed
                label = "the lot plan, on its fresh seeds"
        else:
            simulate = functools.partial(run_scenario, scenario, replicates, seed, keep_events=0, **options)
            tables = _with_progress(
                quiet, f"Simulating {scenario.name}", replicates, lambda advance: simulate(on_replicate=advance)
            )
        if tables is not None:
            made = RunRecord.made(scenario, dict(tables.supply()), seed, len(tables.metrics), label=label)
            views.append(product_view([made], period))
        console = _console()
        _write(console, out, [table for view in views for table in view.exports])
        for view in views:
            view_report(console, view)
        _saved_line(console, state, results_root)


# -- forecast from a trial's records ------------------------------------------------------

actuals_option = click.option(
    "--actuals",
    "actuals_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="The trial's records: a folder of CSV files or a workbook (docs/records.md), or a folder of SDTM "
    "datasets (docs/records.md#from-sdtm).",
)
no_learning_option = click.option(
    "--no-learning",
    is_flag=True,
    help="Keep the scenario's assumptions as written instead of learning them from the records.",
)
enrolment_option = click.option(
    "--enrolment-model",
    "enrolment_model",
    type=click.Choice(["auto", *ENROLMENT_MODELS]),
    default=None,
    help="The enrolment model the referral rates are learned under [default: the scenario's "
    "learning.enrolment_model, auto: chosen by the records' leave-future-out score].",
)

_date = click.DateTime(formats=["%Y-%m-%d"])


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@actuals_option
@click.option(
    "--as-of", "as_of", type=_date, default=None, help="The date the records run to (YYYY-MM-DD) [default: today]."
)
@click.option(
    "--cut",
    is_flag=True,
    help="Read the records as they stood on --as-of, dropping what came later (a forecast as of a past date "
    "from records, or an SDTM export, that run further; a backtest does this at every date).",
)
@click.option(
    "--target-date",
    "target_dates",
    type=_date,
    multiple=True,
    help="Also give P(last patient last visit by this date); give it again for more dates.",
)
@click.option(
    "--target-stockout",
    type=_fraction(),
    default=0.05,
    show_default=True,
    help="Stock-out target of the lot plan made from the actual stock.",
)
@click.option("--no-lot-plan", is_flag=True, help="Do not search a lot plan (faster).")
@lot_size_option
@click.option(
    "--plan-replicates",
    type=click.IntRange(20, MAX_REPLICATES),
    default=PLAN_REPLICATES,
    show_default=True,
    help="Replicates a candidate policy of the lot-plan search (and its fresh check) "
    "is simulated on (at most --replicates).",
)
@no_learning_option
@enrolment_option
@_execution_options
@click.option(
    "--keep-events",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Keep full event logs for the first K replicates only.",
)
@_store_options("forecast")
@out_option
def forecast(
    scenario_file: Path,
    actuals_dir: Path,
    as_of: dt.datetime | None,
    cut: bool,
    target_dates: tuple[dt.datetime, ...],
    target_stockout: float,
    no_lot_plan: bool,
    lot_sizes: tuple[int, ...],
    plan_replicates: int,
    no_learning: bool,
    enrolment_model: str | None,
    replicates: int,
    seed: int,
    workers: int | None,
    chunk_size: int | None,
    scheduler: str | None,
    quiet: bool,
    keep_events: int,
    results_root: Path,
    no_store: bool,
    out: Path | None,
) -> None:
    """Forecast a trial under way from its records (ACTUALS, as of a date): the milestones still to
    come, the trial against its plan, and the product and lots still needed."""
    from ctdild_sim.views.forecast import forecast_view

    scenario_file = _scenario_path(scenario_file)
    actuals_dir = _scenario_path(actuals_dir)
    scenario = _load(scenario_file, out)
    as_of_date = as_of.date() if as_of is not None else dt.date.today()
    if problem := as_of_problem(scenario, as_of_date):
        _fail(f"--as-of: {problem}")
    try:  # every problem before anything is simulated
        records = read_records(actuals_dir, scenario, as_of_date, cut)
    except ActualsError as exc:
        _fail(str(exc))
    kept = keep_events if _keeps_records(out, no_store) else 0
    options = _run_options(workers, chunk_size, scheduler, keep_events=kept)
    started = dt.datetime.now(dt.UTC)
    with _guarded(scenario_file) as state:
        made = _with_steps(
            quiet,
            lambda progress: run_forecast(
                scenario,
                records,
                as_of_date,
                replicates,
                seed,
                target_dates=tuple(d.date() for d in target_dates),
                target_stockout=None if no_lot_plan else target_stockout,
                learning=not no_learning,
                enrolment_model=enrolment_model,
                progress=progress,
                plan_replicates=min(plan_replicates, replicates),
                lot_sizes=lot_sizes,
                records_cut=cut,
                **options,
            ),
        )
        how = (started, seed, replicates, options)
        _store_and_report(state, made, forecast_view, scenario, scenario_file, how, results_root, no_store, out)


def _store_and_report(state, made, view_of, scenario, scenario_file, how, root, no_store, out) -> None:
    """A study just made (a forecast, a backtest): stored first (unless ``no_store``), then its
    view printed, then its tables exported (``--out``)."""
    tables = made.output_tables()
    if not no_store:
        _save(state, root, tables, scenario, scenario_file, *how, extra=made.manifest())
    console = _console()
    _, seed, replicates, _ = how
    view_report(console, view_of([RunRecord.made(scenario, dict(tables), seed, replicates, **made.manifest())]))
    _saved_line(console, state, root)
    _write(console, out, tables)


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@actuals_option
@click.option(
    "--every",
    "every",
    default="3M",
    show_default=True,
    callback=lambda _ctx, _param, value: _period(value),
    help="Forecast as of a date every period: a whole number of days, weeks, months or years (90D, 6W, 3M, 1Y).",
)
@click.option(
    "--from",
    "first",
    type=_date,
    default=None,
    help="The first date to forecast as of [default: 6 months after the first enrolment].",
)
@click.option(
    "--to",
    "end",
    type=_date,
    default=None,
    help="The date the records are complete to: the truth the forecasts are scored against [default: the "
    "date ending the folder's name, else the latest date in the records].",
)
@no_learning_option
@enrolment_option
@_execution_options
@_store_options("backtest")
@out_option
def backtest(
    scenario_file: Path,
    actuals_dir: Path,
    every: Period,
    first: dt.datetime | None,
    end: dt.datetime | None,
    no_learning: bool,
    enrolment_model: str | None,
    replicates: int,
    seed: int,
    workers: int | None,
    chunk_size: int | None,
    scheduler: str | None,
    quiet: bool,
    results_root: Path,
    no_store: bool,
    out: Path | None,
) -> None:
    """The forecast's track record: forecast the trial as of each past date, from its records cut at
    that date (nothing later is read), and score each forecast against what the records show later."""
    from ctdild_sim.views.backtest import backtest_view

    scenario_file = _scenario_path(scenario_file)
    actuals_dir = _scenario_path(actuals_dir)
    scenario = _load(scenario_file, out)
    end_date = end.date() if end is not None else as_of_hint(actuals_dir)
    if end_date is None:
        _fail(f"--to: {actuals_dir} holds no dated record; give the date the records are complete to")
    if problem := as_of_problem(scenario, end_date):
        _fail(f"--to: {problem}")
    try:
        read_records(actuals_dir, scenario, end_date)  # every problem before anything is simulated
    except ActualsError as exc:
        problems = [p for p in exc.problems if not p.startswith("Some records are dated after")]
        if len(problems) < len(exc.problems):  # the records run past the truth's date
            how = "the date ending the folder's name" if end is None else "given"
            problems.insert(
                0, f"--to: the records run past {end_date} ({how}): give --to the date they are complete to"
            )
        _fail(str(ActualsError(problems)))
    options = _run_options(workers, chunk_size, scheduler)
    started = dt.datetime.now(dt.UTC)
    with _guarded(scenario_file) as state:
        try:
            made = _with_steps(
                quiet,
                lambda progress: run_backtest(
                    scenario,
                    actuals_dir,
                    end_date,
                    replicates,
                    seed,
                    period=every,
                    start=first.date() if first is not None else None,
                    learning=not no_learning,
                    enrolment_model=enrolment_model,
                    progress=progress,
                    **options,
                ),
            )
        except BacktestError as exc:
            _fail(str(exc))
        except ActualsError as exc:
            _fail(str(exc))
        how = (started, seed, replicates, options)
        _store_and_report(state, made, backtest_view, scenario, scenario_file, how, results_root, no_store, out)


def _write_template(path: Path, scenario_file: Path | None) -> None:
    """The empty records workbook, for the sites and AE kinds of ``scenario_file`` (the base scenario)."""
    if path.suffix != ".xlsx":
        _fail(f"--template: {path}: an Excel workbook's name ends in .xlsx")
    scenario_file = _scenario_path(scenario_file or Path("scenarios") / "nct06574581.yaml")
    scenario = _load(scenario_file)
    try:
        write_template(path, scenario)
    except TemplateExists as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"--template: {path}: could not be written ({exc.strerror or exc})", code=1)
    click.echo(
        f"An empty records workbook for {scenario.name} written to {path}: fill in one sheet per table and "
        f"forecast with --actuals {path}."
    )


def _with_steps(quiet: bool, work):
    """Run ``work(progress)`` with a progress bar per step (``studies.forecast.Progress``)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def progress(step: str, total: int | None, done: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(escape(step), total=total)
        bar.advance(tasks[step], done)

    with bar:
        return work(progress)


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path), required=False)
@click.option(
    "--template",
    type=click.Path(path_type=Path),
    default=None,
    help="Write an empty records workbook (.xlsx) to fill in instead: a sheet per table, each column "
    "described, drop-down lists for names [SCENARIO_FILE default: the shipped base "
    "scenario].",
)
@click.option(
    "--replicate",
    "-r",
    type=click.IntRange(0, MAX_REPLICATES),
    default=0,
    show_default=True,
    help="The replicate whose records are written.",
)
@click.option("--seed", default=20240820, show_default=True, type=click.IntRange(0, 2**63 - 1))
@click.option("--as-of", "as_of", type=_date, default=None, help="The date the records run to (YYYY-MM-DD).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder to write the CSV files to.")
@click.option(
    "--from-sdtm",
    "from_sdtm",
    type=click.Path(path_type=Path),
    default=None,
    help="Map a folder of CDISC SDTM datasets (DM, DS, EX, AE, SV, IE as .xpt, Dataset-JSON .json/.ndjson "
    "or .csv, and a lots.csv) to records for SCENARIO_FILE, written to --out with every SDTM row not "
    "mapped listed in sdtm-unmapped.txt, then checked.",
)
def actuals(
    scenario_file: Path | None,
    template: Path | None,
    replicate: int,
    seed: int,
    as_of: dt.datetime | None,
    out: Path | None,
    from_sdtm: Path | None,
) -> None:
    """Write what a simulated replicate of SCENARIO_FILE would have recorded by a date, as an
    actuals folder (synthetic records, for trying the forecast and as an example of the format);
    with --from-sdtm, a trial's SDTM datasets mapped to records; or, with --template, the empty
    workbook a trial's records are kept in."""
    if template is not None:
        _write_template(template, scenario_file)
        return
    if from_sdtm is not None:
        _records_from_sdtm(from_sdtm, scenario_file, out, as_of.date() if as_of else None)
        return
    if scenario_file is None:
        _fail("SCENARIO_FILE: missing (the scenario whose replicate is written)")
    if as_of is None or out is None:
        _fail(f"{'--as-of' if as_of is None else '--out'}: missing (or --template FILE for an empty workbook)")
    scenario_file = _scenario_path(scenario_file)
    scenario = _load(scenario_file)
    as_of_date = as_of.date()
    if as_of_date < scenario.start_date:
        _fail(f"--as-of: {as_of_date} is before the study's start {scenario.start_date}")
    with _guarded(scenario_file):
        result = run_replicate(scenario, seed, replicate)
        tables = actuals_from_replicate(result, scenario, as_of_date)
        try:
            write_csv_tables(
                out,
                tables,
                marker="screening.csv",
                notes=synthetic_readme(scenario, scenario_file.name, seed, replicate, as_of_date),
            )
        except OutputError as exc:
            _fail(str(exc))
    counts = ", ".join(f"{counted(len(frame), 'row')} in {name}" for name, frame in tables.items())
    click.echo(
        f"Synthetic records of replicate {replicate} (seed {seed}) as of {as_of_date} written to {out}/: {counts}."
    )


def _records_from_sdtm(folder: Path, scenario_file: Path | None, out: Path | None, as_of: dt.date | None) -> None:
    """``actuals --from-sdtm``: the mapped records written, what was not mapped listed, then the
    records checked as of ``as_of`` (default: the latest date in the SDTM)."""
    if scenario_file is None:
        _fail("SCENARIO_FILE: missing (the scenario the SDTM's trial runs: its sites, cohorts and AE kinds)")
    if out is None:
        _fail("--out: missing (the folder the mapped records are written to)")
    if not sdtm_folder(folder):
        _fail(f"--from-sdtm: {folder}: not a folder of SDTM datasets (it needs a DM dataset: dm.xpt, dm.json, ...)")
    scenario_file = _scenario_path(scenario_file)
    scenario = _load(scenario_file)
    try:
        mapped = map_sdtm(read_sdtm_folder(folder), scenario)
    except SdtmError as exc:
        _fail("\n".join(exc.problems))
    tables = {
        name: pd.DataFrame(rows, dtype=object).reindex(columns=mapped_columns(name, rows)).fillna("")
        for name, rows in mapped.tables.items()
        if rows
    }
    texts = {UNMAPPED_FILE: "".join(f"{u}\n" for u in mapped.unmapped)}
    if mapped.lots is not None:
        texts["lots.csv"] = mapped.lots.decode("utf-8", errors="replace")
    notes = sdtm_readme(folder, scenario_file.name, mapped)
    with _guarded(scenario_file):
        try:
            write_csv_tables(out, tables, marker="screening.csv", notes=notes, texts=texts)
        except OutputError as exc:
            _fail(str(exc))
    counts = ", ".join(f"{counted(len(rows), 'row')} in {name}" for name, rows in mapped.tables.items() if rows)
    click.echo(f"Records mapped from the SDTM in {folder} written to {out}/: {counts}.")
    for note in mapped.notes:
        click.echo(f"  {note}")
    if mapped.unmapped:
        listed = counted(len(mapped.unmapped), "SDTM row or value", "SDTM rows or values")
        click.echo(f"{listed} not mapped, each in {out / UNMAPPED_FILE}:")
        for u in mapped.unmapped[:10]:
            click.echo(f"  {u}")
        if len(mapped.unmapped) > 10:
            click.echo(f"  ... and {len(mapped.unmapped) - 10:,} more")
    day = as_of or latest_record_date(out) or scenario.start_date
    try:
        read_records(out, scenario, day)
    except ActualsError as exc:
        _fail(f"The mapped records do not pass the checks as of {day}; correct them in {out}:\n{exc}")
    click.echo(f"The mapped records pass the checks as of {day}.")


# -- compare ------------------------------------------------------------------------------


@main.command()
@click.argument("scenario_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_execution_options
@click.option(
    "--report",
    "report_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a self-contained HTML report (plotly) to this file.",
)
@out_option
def compare(
    scenario_files: tuple[Path, ...],
    replicates: int,
    seed: int,
    workers: int | None,
    chunk_size: int | None,
    scheduler: str | None,
    quiet: bool,
    report_file: Path | None,
    out: Path | None,
) -> None:
    """Compare SCENARIO_FILES on common random numbers: each one's milestone quantiles, and each
    one's paired difference from the first with its 95% interval."""
    from ctdild_sim.views.compare import compare_view

    if len(scenario_files) < 2:
        _fail("compare needs at least two scenario files")
    scenarios: dict[str, Scenario] = {}
    files: dict[str, Path] = {}
    for path in scenario_files:
        path = _scenario_path(path)
        scenario = _load(path)
        if scenario.name in scenarios:
            _fail(f"{path}: name: {scenario.name!r} is already the name of another scenario being compared")
        scenarios[scenario.name], files[scenario.name] = scenario, path
    if out is not None:
        _load(files[next(iter(files))], out)
    options = _run_options(workers, chunk_size, scheduler)
    metrics = {}
    for name, scenario in scenarios.items():
        with _guarded(files[name]):
            metrics[name] = _with_progress(
                quiet,
                f"Simulating {name}",
                replicates,
                lambda advance, s=scenario: simulate_metrics(s, replicates, seed, on_replicate=advance, **options),
            )
    with _guarded():
        made = [RunRecord.made(scenarios[name], {"metrics": m}, seed, replicates) for name, m in metrics.items()]
        view = compare_view(made)
        console = _console()
        _write(console, out, view.exports)
        _html_report(console, view, report_file)
        view_report(console, view)


# -- sensitivity -----------------------------------------------------------------------------


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option(
    "--ranges",
    "ranges_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A YAML file of ranges: field paths to [low, high] or {scale: [a, b]} [default: the scenario's "
    "ranges: block, else every WEAK field x(1 - spread) and x(1 + spread)].",
)
@click.option(
    "--ends",
    "end_files",
    type=click.Path(path_type=Path),
    nargs=2,
    default=None,
    metavar="LOW HIGH",
    help="Two scenario files (e.g. optimistic and pessimistic): every number or distribution in which "
    "they differ is moved to each file's value.",
)
@click.option(
    "--spread",
    type=_fraction(),
    default=DEFAULT_SPREAD,
    show_default=True,
    help="How far the default assumptions (WEAK fields, each site's rate and delay) are moved.",
)
@click.option(
    "--top",
    type=click.IntRange(1, 200),
    default=TOP_ASSUMPTIONS,
    show_default=True,
    help="Without declared ranges: every default assumption is screened on a fifth of the replicates, "
    "and the TOP that move an outcome most are moved on all of them.",
)
@_execution_options
@_store_options("sensitivity run")
@click.option(
    "--report",
    "report_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a self-contained HTML report (the tornado) to this file.",
)
@out_option
def sensitivity(
    scenario_file: Path,
    ranges_file: Path | None,
    end_files: tuple[Path, Path] | None,
    spread: float,
    top: int,
    replicates: int,
    seed: int,
    workers: int | None,
    chunk_size: int | None,
    scheduler: str | None,
    quiet: bool,
    results_root: Path,
    no_store: bool,
    report_file: Path | None,
    out: Path | None,
) -> None:
    """Move each assumption of SCENARIO_FILE alone to its low and its high value, on common random
    numbers, and print the tornado: each outcome's change with its paired 95% interval, largest first.
    Without declared ranges, the assumptions that matter are found first (--top)."""
    from ctdild_sim.views.sensitivity import sensitivity_view

    scenario_file = _scenario_path(scenario_file)
    scenario = _load(scenario_file, out)
    if report_file is not None and report_file.is_dir():
        _fail(f"{report_file}: is a folder; --report takes a file name")
    ends = None
    if end_files:
        low, high = (_load(_scenario_path(p)) for p in end_files)
        ends = (low, high, f"--ends {end_files[0]} {end_files[1]}")
    try:
        found, screened = chosen_assumptions(scenario, scenario_file, ranges_file, ends, spread)
    except RangesError as exc:
        _fail(str(exc))
    options = _run_options(workers, chunk_size, scheduler, keep_events=min(replicates, 200))
    started = dt.datetime.now(dt.UTC)
    with _guarded(scenario_file) as state:
        top = top if screened else len(found)
        work = functools.partial(screened_sensitivity, scenario, found, replicates, seed, top, **options)
        label = f"Sensitivity of {scenario.name}: {len(found)} assumptions" + (
            f", top {top} in full" if screened else ""
        )
        total = replicates_needed(len(found), replicates, screened, top)
        result: Sensitivity = _with_progress(quiet, label, total, lambda advance: work(on_replicate=advance))
        tables = [*result.base.with_summaries(scenario), *result.tables()]
        if not no_store:
            how = (started, seed, replicates, options)
            extra = {"kind": "sensitivity", "assumptions": [a.path for a in result.assumptions]}
            _save(state, results_root, tables, scenario, scenario_file, *how, extra=extra)
        made = RunRecord.made(scenario, dict(tables), seed, replicates, scenario_file, kind="sensitivity")
        view = sensitivity_view([made], 0)
        console = _console()
        view_report(console, view)
        _html_report(console, view, report_file)
        _saved_line(console, state, results_root)
        _write(console, out, view.exports)


@main.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option("--lever", required=True, help="The field path to move, e.g. sites.0.referral_rate_per_month.")
@click.option(
    "--target",
    "target_text",
    required=True,
    help='The target, e.g. "P(lplv_by 2027-12-31) >= 0.8" or "P(product_wait) <= 0.05".',
)
@click.option(
    "--range",
    "lever_range",
    type=FiniteFloat(),
    nargs=2,
    default=None,
    metavar="LOW HIGH",
    help="The lever's range to search [default: a quarter to four times its value].",
)
@_execution_options
@out_option
def solve(
    scenario_file: Path,
    lever: str,
    target_text: str,
    lever_range: tuple[float, float] | None,
    replicates: int,
    seed: int,
    workers: int | None,
    chunk_size: int | None,
    scheduler: str | None,
    quiet: bool,
    out: Path | None,
) -> None:
    """What would it take: the value of a lever (a field of SCENARIO_FILE) at which a target is met,
    by bisection on common random numbers, with the values at which its 95% interval meets it."""
    from ctdild_sim.views.solve import solve_view

    scenario_file = _scenario_path(scenario_file)
    scenario = _load(scenario_file, out)
    try:
        target = parse_target(target_text, scenario)
        low, high = lever_bounds(scenario, lever, lever_range)
    except SolveError as exc:
        _fail(f"{scenario_file}: {exc}")
    options = _run_options(workers, chunk_size, scheduler)
    with _guarded(scenario_file):
        try:
            solution = _with_progress(
                quiet,
                f"Solving {lever} for {target_text}",
                None,
                lambda advance: run_solve(
                    scenario, lever, target, replicates, seed, (low, high), on_replicate=advance, **options
                ),
            )
        except SolveError as exc:
            _fail(f"{scenario_file}: {exc}")
        view = solve_view(scenario.name, solution, replicates, seed)
        console = _console()
        view_report(console, view)
        _write(console, out, view.exports)


@main.command()
@click.option(
    "--scenarios",
    "scenarios_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of scenario files the dashboard offers [default: ./scenarios, else the shipped ones].",
)
@_results_option("Results store the dashboard reads and writes.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback exposes the app to the network.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(1, 1024),
    default=None,
    help="Worker processes per run started from the page [default: the cores but one, at most 4].",
)
@click.option(
    "--max-replicates",
    type=click.IntRange(1, MAX_REPLICATES),
    default=DASHBOARD_MAX_REPLICATES,
    show_default=True,
    help="Most replicates one job from the page may ask for (checked by the server).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="Host name the page may be reached by, besides localhost, 127.0.0.1 and ::1 (repeat for "
    "several); requests naming any other host are refused (DNS rebinding).",
)
@click.option(
    "--actuals",
    "actuals_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of trials' records folders the Forecast tab offers "
    "[default: the actuals folder of the scenarios folder].",
)
def dashboard(
    scenarios_dir: Path | None,
    results_root: Path,
    host: str,
    port: int,
    workers: int | None,
    max_replicates: int,
    allowed_hosts: tuple[str, ...],
    actuals_dir: Path | None,
) -> None:
    """Open the Dash dashboard over a scenarios folder and the results store."""
    if scenarios_dir is None:
        scenarios_dir = Path("scenarios") if Path("scenarios").is_dir() else shipped_scenarios_dir()
        if scenarios_dir is None:
            _fail("scenarios: no such folder of scenario files, and no shipped ones; pass --scenarios DIR")
    if not scenarios_dir.is_dir():
        _fail(f"{scenarios_dir}: no such folder of scenario files")
    from dashboard import create_app  # dash is slow to import: only this command needs it

    if host not in LOOPBACK:
        click.echo(f"warning: listening on {host}: anyone who can reach it can run simulations", err=True)
        allowed_hosts = (*allowed_hosts, host)
    if actuals_dir is not None and not actuals_dir.is_dir():
        _fail(f"--actuals: {actuals_dir}: no such folder of records folders")
    _writable_store(results_root)
    try:
        app = create_app(
            scenarios_dir,
            results_root,
            workers=workers,
            max_replicates=max_replicates,
            allowed_hosts=allowed_hosts,
            actuals_dir=actuals_dir,
        )
    except (OSError, sqlite3.Error) as exc:  # the job cache is an SQLite file in the store
        _fail(
            f"--results: {results_root}: the dashboard's job cache cannot be written there ({exc}); pick a "
            "folder it can write with --results"
        )
    click.echo(f"ctdild-sim dashboard on http://{host}:{port}/ over {scenarios_dir} (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt):  # the server takes Ctrl-C itself, and returns
        app.run(host=host, port=port, debug=False)
    click.echo("The dashboard stopped (Ctrl-C).", err=True)
    sys.exit(INTERRUPTED)
