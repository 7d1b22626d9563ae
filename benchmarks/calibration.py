"""Simulation-based calibration of the forecast (a script that prints figures, not a test).

    python benchmarks/calibration.py [--trials 200] [--replicates 200] [--cuts 180,540,900] [--workers 2]

For each of ``--trials`` true trials drawn from the prior (``studies.calibration``), cut at each
day of ``--cuts`` from the study's start, forecast from its records with learning and without it
(the scenario's assumptions as written), and print where the truths fall: the share inside the
forecasts' 50% and 80% intervals (calibrated: 50% and 80%, within the binomial standard error
shown) and the intervals' median widths.

    python benchmarks/calibration.py --scenario scenarios/cdiscpilot01.yaml --drift halving,stop,ramp \
        [--models homogeneous,piecewise,ramp_decay,auto] [--trials 60] [--replicates 100] [--cuts 270,450]

Calibration when the model is wrong: the true trials' referral rates drift (``studies.calibration
.DRIFTS``: halving over two years, a six-month stop, a ramp-up; ``none``: steady), the forecasts are
not told, and each is made under each enrolment model and the automatic choice, with learning;
printed per drift, model, cut day and measure, with how often auto chose each model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctdild_sim import load_scenario  # noqa: E402
from ctdild_sim.studies.calibration import DRIFTS, calibration, coverage_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "nct06574581.yaml"))
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--cuts", default="180,540,900", help="cut days from the study's start, comma-separated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240820)
    parser.add_argument(
        "--drift", default=None, help="drifts of the true trials: none, halving, stop, ramp (comma-separated)"
    )
    parser.add_argument(
        "--models", default="homogeneous,piecewise,ramp_decay,auto", help="enrolment models (with --drift)"
    )
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    cuts = [float(c) for c in args.cuts.split(",")]
    pd.set_option("display.width", 200)
    pd.set_option("display.float_format", lambda x: f"{x:.3f}")
    if args.drift:
        drifted(scenario, args, cuts)
        return
    tables = {}
    for learning in (True, False):
        started = time.perf_counter()
        results = calibration(
            scenario, args.trials, cuts, args.replicates, args.seed, learning=learning, workers=args.workers
        )
        tables[learning] = table = coverage_table(results)
        name = "with learning" if learning else "without learning (the scenario's assumptions as written)"
        print(
            f"\n{scenario.name}: {args.trials} true trials from the prior, {args.replicates} forecast replicates "
            f"each, {name} ({time.perf_counter() - started:.0f} s)"
        )
        print(table.to_string(index=False))
    both = tables[True].merge(tables[False], on=["cut_day", "measure"], suffixes=("_learning", "_plain"))
    ratio = both["median_width80_learning"] / both["median_width80_plain"]
    both["width80_ratio"] = ratio.astype(object).where(ratio.notna(), "both unbounded")
    print("\nMedian 80% interval width with learning / without (unbounded: over half the intervals end at never):")
    print(both[["cut_day", "measure", "in80_learning", "in80_plain", "width80_ratio"]].to_string(index=False))


def drifted(scenario, args, cuts: list[float]) -> None:
    """Coverage under each drift, for each enrolment model and the automatic choice."""
    models = tuple(args.models.split(","))
    for name in args.drift.split(","):
        what, trend = ("steady referral rates", None) if name == "none" else DRIFTS[name]
        started = time.perf_counter()
        results = calibration(
            scenario, args.trials, cuts, args.replicates, args.seed, drift=trend, models=models, workers=args.workers
        )
        table = coverage_table(results, by=("model", "cut_day"))
        print(
            f"\n{scenario.name}, true trials with {what}: {args.trials} trials, {args.replicates} forecast "
            f"replicates each ({time.perf_counter() - started:.0f} s)"
        )
        print(table.to_string(index=False))
        auto = results[results["model"] == "auto"]
        if len(auto):
            print("auto chose:", auto.groupby("cut_day")["chosen"].value_counts().to_dict())
        overall = coverage_table(results.assign(all="all"), by=("model", "all"))
        print(overall.drop(columns="all").to_string(index=False))


if __name__ == "__main__":
    main()
