"""Where users wait: the sweeps, timed in one run against a bare simpy replicate (a script that
prints figures, not a test; the machine is noisy, so compare ratios measured in one run).

    python benchmarks/sweeps.py            # every figure (a few minutes)
    python benchmarks/sweeps.py --quick    # smaller sizes

Figures, against the speed issue's targets:
- metrics-only replicates/s of the base scenario on 2 workers, the whole command
  (``ctdild-sim run --keep-events 0 --no-store``), over a bare simpy replicate's rate on 1 core
  (30 processes x 10 exponential timeouts)                                   target ratio >= 0.45
- ``ctdild-sim supply --target-stockout 0.05`` (200 replicates a candidate) on 2 workers   < 10 s
- a 15-assumption tornado at 500 replicates a value on 2 workers                            < 60 s
- a forecast from the shipped example records, with learning, 1,000 replicates (with and
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
    code = "import ctdild_sim.model.engine as e; print(e.__file__)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir(),
                           check=True).stdout.strip()  # fmt: skip
    kind = "compiled with mypyc" if found.endswith(".so") else "pure Python (an editable install, or not compiled)"
    return f"{kind}: {found}"


def timed(command: list[str]) -> tuple[float, float]:
    """Seconds of a command, and the largest resident memory (MB) of any process it or an earlier
    command of this script ran (the kernel keeps only the maximum over finished children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=tempfile.gettempdir(), check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "ctdild_sim"]
    n_run = 1000 if args.quick else 4000
    print(f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    print(f"The installed package's model: {installed_model()}")

    bare = bare_simpy_rate(2000 if args.quick else 5000)
    seconds, peak = timed([*cli, "run", str(BASE), "-n", str(n_run), "-j", "2", "--keep-events", "0", "--no-store",
                           "--quiet"])  # fmt: skip
    rate = n_run / seconds
    print(f"bare simpy replicate (30 processes x 10 timeouts), 1 core: {bare:,.0f} replicates/s")
    print(
        f"ctdild-sim run --keep-events 0 --no-store, {n_run:,} replicates, 2 workers: {seconds:.1f} s, "
        f"{rate:,.0f} replicates/s, max RSS so far {peak:.0f} MB; ratio to bare simpy {rate / bare:.2f} "
        "(target >= 0.45)"
    )

    seconds, peak = timed([*cli, "supply", str(BASE), "--target-stockout", "0.05", "-n", "200", "-j", "2", "--quiet"])
    print(f"supply --target-stockout 0.05, 200 replicates a candidate, 2 workers: {seconds:.1f} s, max RSS so far "
          f"{peak:.0f} MB (target < 10 s)")  # fmt: skip

    with tempfile.TemporaryDirectory() as folder:
        ranges = Path(folder) / "ranges.yaml"
        ranges.write_text(RANGES)
        per_arm = 100 if args.quick else 500
        seconds, peak = timed([*cli, "sensitivity", str(BASE), "--ranges", str(ranges), "-n", str(per_arm), "-j", "2",
                               "--no-store", "--quiet"])  # fmt: skip
    print(f"sensitivity, 15 assumptions at {per_arm} replicates a value ({31 * per_arm:,} replicates), 2 workers: "
          f"{seconds:.1f} s, max RSS so far {peak:.0f} MB (target < 60 s at 500)")  # fmt: skip

    n_forecast = 200 if args.quick else 1000
    for extra, what in ((["--no-lot-plan"], "without the lot plan"),
                        ([], "with the lot-plan search (200 replicates a candidate, the default)")):  # fmt: skip
        seconds, peak = timed([*cli, "forecast", str(BASE), "--actuals", str(ACTUALS), "-n", str(n_forecast), "-j", "2",
                               "--no-store", "--quiet", *extra])  # fmt: skip
        print(f"forecast with learning, {n_forecast:,} replicates, {what}, 2 workers: {seconds:.1f} s, "
              f"max RSS so far {peak:.0f} MB (target < 10 s)")  # fmt: skip


if __name__ == "__main__":
    main()
