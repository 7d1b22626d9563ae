"""Where users wait: the sweeps, timed in one run against a bare simpy replicate (a script that
prints figures, not a test; the machine is noisy, so compare ratios measured in one run).

    python benchmarks/sweeps.py            # every figure (a few minutes)
    python benchmarks/sweeps.py --quick    # smaller sizes
    python benchmarks/sweeps.py --seeds 6  # the forecast with its lot plan on 5 more seeds too

Figures, against the speed issue's targets:
- metrics-only replicates/s of the base scenario on 2 workers, the whole command
  (``ctdild-sim run --keep-events 0 --no-store``), over a bare simpy replicate's rate on 1 core
  (30 processes x 10 exponential timeouts)                                   target ratio >= 0.45
- ``ctdild-sim supply --target-stockout 0.05`` (200 replicates a candidate) on 2 workers   < 10 s
- a 15-assumption tornado at 500 replicates a value on 2 workers                            < 60 s
- a forecast from the shipped example records as of their date, with learning, 1,000 replicates (with and
  without the lot-plan search)                                                              < 10 s
Each command's peak memory (maximum resident set of the process and its workers) is printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "nct06574581.yaml"
ACTUALS = ROOT / "scenarios" / "actuals" / "nct06574581-2026-11-25"
AS_OF = "2026-11-25"
"""The records' own date. The forecast's default, today, moves the restart to a later day the
records say nothing of, so its lot-plan search (and its time) changed from day to day: seed 4 of
the shipped forecast simulated 19 candidates as of 2026-11-25 and 39 as of 2026-11-26."""
RANGES = """ranges:
  sites.0.referral_rate_per_month: {scale: [0.5, 1.5]}
  sites.0.activation_days: {scale: [0.5, 1.5]}
  population.consents: [0.7, 0.95]
  population.family_support: [0.8, 0.97]
  screening.duration_days: {scale: [0.5, 1.5]}
  screening.window_days: [28, 56]
  dosing.enrolment_to_first_infusion_days: {scale: [0.5, 1.5]}
  dosing.repeat_interval_days.value: [21, 35]
  safety.hold_days: [21, 35]
  safety.review_days: {scale: [0.5, 1.5]}
  retention.withdrawal_hazard_per_year: [0.05, 0.2]
  product.lots.lead_time_days: {scale: [0.5, 1.5]}
  product.lots.shelf_life_days: [180, 730]
  product.lots.failure_probability: [0.02, 0.27]
  product.policy.reorder_point_vials: [6, 18]
"""


def bare_simpy_rate(replicates: int) -> float:
    """Replicates/s of a bare simpy model: 30 processes of 10 exponential timeouts each, 1 core."""

    def process(env: simpy.Environment, rng: np.random.Generator):
        for _ in range(10):
            yield env.timeout(rng.exponential(5.0))

    started = time.perf_counter()
    for r in range(replicates):
        env = simpy.Environment()
        rng = np.random.default_rng([1, r])
        for _ in range(30):
            env.process(process(env, rng))
        env.run()
    return replicates / (time.perf_counter() - started)


def installed_model() -> str:
    """Whether the package the commands run (the installed one) has its model compiled (setup.py)."""
    code = (
        "import ctdild_sim.model.engine as e; from ctdild_sim.model.compiled import model_build as b; "
        "print(b(), e.__file__, sep=': ')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir(), check=True
    ).stdout.strip()


def timed(command: list[str]) -> tuple[float, float]:
    """Seconds of a command, and the largest resident memory (MB) of any process it or an earlier
    command of this script ran (the kernel keeps only the maximum over finished children)."""
    seconds, peak, _ = timed_with_output(command)
    return seconds, peak


def timed_with_output(command: list[str]) -> tuple[float, float, str]:
    """``timed``, and what the command printed (on a 200-column console: table rows stay whole)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return seconds, peak, result.stdout


def searched(report: str) -> str:
    """How many candidates a lot-plan search simulated and on how many replicates in all, read off
    its table in the report (its time depends on these: they vary with the seed, not the code)."""
    rows = [
        line.strip("│ ").split("│") for line in report.splitlines() if line.startswith(("│ search ", "│ validation "))
    ]
    return f"{len(rows)} candidates, {sum(int(row[-1]) for row in rows):,} replicates"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="also time the forecast with its lot plan on seeds "
        "1..N-1 besides the default (a search's length varies with the seed)",
    )
    args = parser.parse_args()
    cli = [sys.executable, "-m", "ctdild_sim"]
    n_run = 1000 if args.quick else 4000
    print(f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    print(f"The installed package's model: {installed_model()}")

    bare = bare_simpy_rate(2000 if args.quick else 5000)
    seconds, peak = timed(
        [*cli, "run", str(BASE), "-n", str(n_run), "-j", "2", "--keep-events", "0", "--no-store", "--quiet"]
    )
    rate = n_run / seconds
    print(f"bare simpy replicate (30 processes x 10 timeouts), 1 core: {bare:,.0f} replicates/s")
    print(
        f"ctdild-sim run --keep-events 0 --no-store, {n_run:,} replicates, 2 workers: {seconds:.1f} s, "
        f"{rate:,.0f} replicates/s, max RSS so far {peak:.0f} MB; ratio to bare simpy {rate / bare:.2f} "
        "(target >= 0.45)"
    )

    seconds, peak, report = timed_with_output(
        [*cli, "supply", str(BASE), "--target-stockout", "0.05", "-n", "200", "-j", "2", "--quiet"]
    )
    print(
        f"supply --target-stockout 0.05, 200 replicates a candidate, 2 workers: {seconds:.1f} s ({searched(report)} "
        f"and the fresh check), max RSS so far {peak:.0f} MB (target < 10 s)"
    )

    with tempfile.TemporaryDirectory() as folder:
        ranges = Path(folder) / "ranges.yaml"
        ranges.write_text(RANGES)
        per_arm = 100 if args.quick else 500
        seconds, peak = timed(
            [
                *cli,
                "sensitivity",
                str(BASE),
                "--ranges",
                str(ranges),
                "-n",
                str(per_arm),
                "-j",
                "2",
                "--no-store",
                "--quiet",
            ]
        )
    print(
        f"sensitivity, 15 assumptions at {per_arm} replicates a value ({31 * per_arm:,} replicates), 2 workers: "
        f"{seconds:.1f} s, max RSS so far {peak:.0f} MB (target < 60 s at 500)"
    )

    n_forecast = 200 if args.quick else 1000
    forecast = [
        *cli,
        "forecast",
        str(BASE),
        "--actuals",
        str(ACTUALS),
        "--as-of",
        AS_OF,
        "-n",
        str(n_forecast),
        "-j",
        "2",
        "--no-store",
        "--quiet",
    ]
    for extra, what in (
        (["--no-lot-plan"], "without the lot plan"),
        ([], "with the lot-plan search (200 replicates a candidate, the default)"),
    ):
        seconds, peak, report = timed_with_output([*forecast, *extra])
        search = f" ({searched(report)} and the fresh check)" if not extra else ""
        print(
            f"forecast with learning, {n_forecast:,} replicates, {what}, 2 workers: {seconds:.1f} s{search}, "
            f"max RSS so far {peak:.0f} MB (target < 10 s)"
        )
    times = []
    for seed in range(1, args.seeds):
        seconds, _, report = timed_with_output([*forecast, "--seed", str(seed)])
        times.append(seconds)
        print(f"  the same with --seed {seed}: {seconds:.1f} s ({searched(report)} and the fresh check)")
    if times:
        print(f"  seeds 1-{args.seeds - 1}: median {np.median(times):.1f} s, longest {max(times):.1f} s")


if __name__ == "__main__":
    main()
