"""Reading, checking and learning from records at the format's limits: time and peak memory.

The README states the limits (``actuals/sources.py``: rows a table, bytes a file and a folder) and
promises that records at them are read, checked, run by the engine to their restart day and learned
from in under 500 MB and 30 s on 2 cores, and that records past them are one clear error, not an
out-of-memory kill. Each case runs in a process of its own, which prints its own peak resident
memory. The cases:

- ``screening``: the shipped example with its screening table at the row limit, every candidate
  added still in screening (20,000 such rows once took 0.96 GB: learning built a grid x observations
  array);
- ``every table``: the screening table at the limit (candidates failing), 20,000 AEs (half of them
  opening a review, with their 10,000 reviews) and 20,000 lots;
- ``every table, as a workbook``: the same records as one .xlsx workbook, a sheet a table (cells
  as text, as a CSV pasted into Excel holds them);
- ``too many rows``: a table one row past the limit;
- ``too large``: a screening file of 700,000 rows (44 MB, which once was killed at 23.9 GB).

    python benchmarks/records_limits.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ctdild_sim.actuals.sources import MAX_FILE_BYTES, MAX_ROWS, MAX_TOTAL_BYTES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "actuals" / "nct06574581-2026-11-25"
SCENARIO = ROOT / "scenarios" / "nct06574581.yaml"
AS_OF = dt.date(2026, 11, 25)

CHILD = """
import datetime as dt, json, resource, sys, time
started = time.perf_counter()
from ctdild_sim.actuals.reader import ActualsError
from ctdild_sim.actuals.records import read_records
from ctdild_sim.learning.posterior import learn
from ctdild_sim.scenario.loading import load_scenario
scenario = load_scenario(sys.argv[1])
out = {}
try:
    records = read_records(sys.argv[2], scenario, dt.date.fromisoformat(sys.argv[3]))
    posterior = learn(scenario, records.trace, records.observed)
    out["history rows"] = len(records.observed.history)
    out["assumptions"] = len(posterior.assumptions)
except ActualsError as exc:
    out["refused"] = exc.problems[:3]
    out["problems"] = len(exc.problems)
out["seconds"] = time.perf_counter() - started
out["peak MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _rows(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _day(k: int, first: dt.date, last: dt.date) -> str:
    return (first + dt.timedelta(days=k % ((last - first).days + 1))).isoformat()


def screening_at_the_limit(folder: Path, outcome: str) -> None:
    """Candidates added up to the row limit, referred over the trial so far: still in screening
    (``outcome`` empty) or failed."""
    header, rows = _rows(folder / "screening.csv")
    first, last = dt.date(2024, 9, 20), AS_OF
    for k in range(MAX_ROWS - len(rows)):
        referred = _day(k, first, last)
        row = {"candidate_id": str(100 + k), "site": "CMUH", "referred_on": referred}
        if outcome == "failed":
            row.update(screened_on=referred, outcome="failed", failed_criteria="I2_ild_pathway")
        rows.append(row)
    _write(folder / "screening.csv", header, rows)


def every_table_at_the_limit(folder: Path) -> None:
    screening_at_the_limit(folder, "failed")
    header, events = _rows(folder / "adverse_events.csv")
    review_header, reviews = _rows(folder / "reviews.csv")
    quiet = (dt.date(2026, 5, 5), dt.date(2026, 9, 29))  # subject 13 has completed; nobody is dosed then
    half = (MAX_ROWS - len(events)) // 2
    for k in range(MAX_ROWS - len(events)):
        day = _day(k, *quiet)
        serious = k < half and len(reviews) < MAX_ROWS
        events.append(
            {
                "subject_id": "13",
                "onset_on": day,
                "triggers_review": "true" if serious else "false",
                "name": "serious_possibly_related" if serious else "transient_fever",
            }
        )
        if serious:
            reviews.append({"opened_on": day, "closed_on": day, "outcome": "resume", "subject_id": "13"})
    _write(folder / "adverse_events.csv", header, events)
    _write(folder / "reviews.csv", review_header, reviews)
    header, lots = _rows(folder / "lots.csv")
    for k in range(MAX_ROWS - len(lots)):
        day = _day(k, dt.date(2024, 9, 1), dt.date(2026, 10, 1))
        lots.append(
            {
                "lot_id": str(100 + k),
                "initial_stock": "false",
                "ordered_on": day,
                "started_on": day,
                "filled_on": day,
                "failed_on": day,
                "expires_on": "2028-01-01",
                "vials": "0",
            }
        )
    _write(folder / "lots.csv", header, lots)


def every_table_in_a_workbook(folder: Path) -> Path:
    """The ``every table`` records as one workbook beside the folder (openpyxl, write-only)."""
    from openpyxl import Workbook

    every_table_at_the_limit(folder)
    book = Workbook(write_only=True)
    for path in sorted(folder.glob("*.csv")):
        sheet = book.create_sheet(path.stem)
        with path.open(newline="") as handle:
            for row in csv.reader(handle):
                sheet.append(row)
    target = folder.with_suffix(".xlsx")
    book.save(target)
    return target


def one_row_too_many(folder: Path) -> None:
    header, rows = _rows(folder / "adverse_events.csv")
    rows += [
        {"subject_id": "13", "onset_on": "2026-06-01", "name": "transient_fever", "triggers_review": "false"}
        for _ in range(MAX_ROWS + 1 - len(rows))
    ]
    _write(folder / "adverse_events.csv", header, rows)


def too_large(folder: Path) -> None:
    header, rows = _rows(folder / "screening.csv")
    with (folder / "screening.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        for k in range(700_000):
            writer.writerow({"candidate_id": str(100 + k), "site": "CMUH", "referred_on": "2025-01-01"})


CASES = {
    "screening": lambda folder: screening_at_the_limit(folder, ""),
    "every table": every_table_at_the_limit,
    "every table, as a workbook": every_table_in_a_workbook,
    "too many rows": one_row_too_many,
    "too large": too_large,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the records folders here.")
    args = parser.parse_args()
    print(
        f"Limits: {MAX_ROWS:,} rows a table, {MAX_FILE_BYTES // 2**20} MB a file, "
        f"{MAX_TOTAL_BYTES // 2**20} MB a folder (targets: under 500 MB and 30 s)"
    )
    scratch = Path(tempfile.mkdtemp(prefix="ctdild-limits-"))
    try:
        for name, build in CASES.items():
            folder = scratch / name.replace(" ", "-").replace(",", "")
            shutil.copytree(EXAMPLE, folder)
            source = build(folder) or folder  # a case may give a workbook instead of the folder
            size = source.stat().st_size if source.is_file() else sum(p.stat().st_size for p in folder.glob("*.csv"))
            rows = {p.name: sum(1 for _ in p.open()) - 1 for p in sorted(folder.glob("*.csv"))}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(SCENARIO), str(source), AS_OF.isoformat()],
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - started
            if done.returncode != 0:
                print(f"{name}: failed ({done.returncode})\n{done.stderr[-2000:]}")
                continue
            out = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"\n{name}: {size / 2**20:.1f} MB of records{' (the workbook)' if source.is_file() else ''}, "
                f"rows {rows}"
            )
            inside, peak = out["seconds"], out["peak MB"]
            print(f"  {wall:.1f} s with the process start ({inside:.1f} s inside), peak {peak:.0f} MB")
            if "refused" in out:
                print(f"  refused ({out['problems']} problem(s)): {out['refused'][0]}")
            else:
                print(f"  accepted: {out['history rows']:,} rows of history, {out['assumptions']} assumptions learned")
            if args.keep is not None:
                shutil.copytree(folder, args.keep / folder.name, dirs_exist_ok=True)
                if source.is_file():
                    shutil.copy(source, args.keep / source.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
