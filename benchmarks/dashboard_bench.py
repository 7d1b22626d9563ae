"""Dashboard benchmark (a script that prints figures, not a test).

    python benchmarks/dashboard_bench.py [--replicates 1000] [--repeats 3]

Stores three runs of ``--replicates`` replicates (base, long review, optimistic; one seed, so they
pair), starts ``ctdild-sim dashboard`` on them, and times, in headless Chromium, opening the
Compare page for the three runs until both of its graphs are drawn. Target: under 3 s. The first
opening reads the runs from Parquet; later ones find them in the server's cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctdild_sim.runs.results import save_run  # noqa: E402
from ctdild_sim.runs.runner import run_scenario  # noqa: E402
from ctdild_sim.scenario.loading import load_scenario  # noqa: E402

SCENARIOS = ROOT / "scenarios"
FILES = ("nct06574581.yaml", "nct06574581_long_review.yaml", "nct06574581_optimistic.yaml")


def store_runs(root: Path, replicates: int, workers: int) -> list[str]:
    ids = []
    for name in FILES:
        path = SCENARIOS / name
        scenario = load_scenario(path)
        tables = run_scenario(scenario, replicates, seed=1, workers=workers)
        saved = save_run(
            root,
            tables.items(),
            scenario=scenario,
            scenario_file=path,
            scenario_text=path.read_text(),
            seed=1,
            replicates=replicates,
            options={},
            command=sys.argv,
            started=dt.datetime.now(dt.UTC),
        )
        ids.append(saved.name)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="openings timed after the first")
    args = parser.parse_args()
    os.environ["DASH_TEST_CHROMEPATH"] = "/usr/bin/chromium"
    from dash.testing.browser import Browser
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "results"
        start = time.perf_counter()
        ids = store_runs(root, args.replicates, workers=os.cpu_count() or 1)
        print(f"stored 3 runs of {args.replicates} replicates in {time.perf_counter() - start:.1f} s")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ctdild_sim",
                "dashboard",
                "--scenarios",
                str(SCENARIOS),
                "--results",
                str(root),
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(url, timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            with Browser("Chrome", headless=True, options=None, download_path=tmp, wait_timeout=60) as browser:
                page = f"{url}/?runs={','.join(ids)}&tab=compare"
                for attempt in range(1 + args.repeats):
                    browser.driver.get("about:blank")
                    start = time.perf_counter()
                    browser.driver.get(page)
                    while (
                        len(browser.driver.find_elements(By.CSS_SELECTOR, "#view-compare .js-plotly-plot .main-svg"))
                        < 2
                    ):
                        if time.perf_counter() - start > 60:
                            raise SystemExit("the Compare graphs were not drawn within 60 s")
                        time.sleep(0.02)
                    seconds = time.perf_counter() - start
                    kind = "first (runs read from Parquet)" if attempt == 0 else "again (runs cached by the server)"
                    print(
                        f"Compare for 3 runs x {args.replicates} replicates, {kind}: {seconds:.2f} s   (target < 3 s)"
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
