"""The model compiled with mypyc (setup.py) gives the pure-Python model's results, byte for byte.

This test process runs the source tree (``python -m pytest`` puts it first on the path); a
subprocess started outside the repository runs the installed package. Where that package is
compiled (``pip install .`` on a machine with a C compiler, as in CI) both compute the same
fingerprints: every shipped scenario with records kept, every table of the run, and a forecast
restarted from the shipped records with learning, counts and progress. An editable install is
never compiled: then there is nothing to compare, and the test says so.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT, compiled_modules

FINGERPRINTS = r"""
import datetime as dt, hashlib, io, json, sys
from pathlib import Path

import ctdild_sim.model.engine as engine
from ctdild_sim.learning.posterior import learn
from ctdild_sim.runs.runner import simulate_chunk
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.actuals.records import read_records


def digest(chunk):
    parts = {}
    for name in ("metrics", "lots", "events", "patients", "screenings", "supply_weekly"):
        buffer = io.BytesIO()
        getattr(chunk, name).to_parquet(buffer)
        parts[name] = hashlib.sha256(buffer.getvalue()).hexdigest()
    parts["bands"] = hashlib.sha256(chunk.bands.table("month").to_csv().encode()).hexdigest()
    return parts


root = Path(sys.argv[1])
found = {"engine": engine.__file__}
for path in sorted((root / "scenarios").glob("*.yaml")):
    found[path.name] = digest(simulate_chunk(load_scenario(path), 11, 0, 30, 6))
scenario = load_scenario(root / "scenarios" / "nct06574581.yaml")
records = read_records(root / "scenarios" / "actuals" / "nct06574581-2026-11-25", scenario, dt.date(2026, 11, 25))
posterior = learn(scenario, records.trace, records.observed)
chunk = simulate_chunk(scenario, 11, 0, 30, 6, trace=records.trace, counts_day=records.restart_day,
                       posterior=posterior, progress=True)
found["forecast"] = digest(chunk)
print(json.dumps(found))
"""
"""Prints, as JSON, which engine module ran and a digest of each table of each run."""


def _fingerprints(python_args: list[str], cwd) -> dict:
    done = subprocess.run(
        [*python_args, "-c", FINGERPRINTS, str(ROOT)], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_the_compiled_model_gives_the_pure_models_results(tmp_path):
    installed = _fingerprints([sys.executable], tmp_path)  # outside the repository: the installed package
    if not installed["engine"].endswith(".so"):
        pytest.skip(f"the installed package is not compiled ({installed['engine']}): an editable install")
    source = _fingerprints([sys.executable], ROOT)  # from the repository: the source tree comes first
    assert source["engine"].endswith(".py") and str(ROOT) in source["engine"], source["engine"]
    for run in source:
        if run != "engine":
            assert installed[run] == source[run], run


def test_every_compiled_module_exists_and_pickled_classes_stay_pure():
    # setup.py's list names real modules, none of those whose objects cross process boundaries
    compiled = compiled_modules()
    assert compiled and all((ROOT / path).is_file() for path in compiled)
    for crossing in ("ctdild_sim/model/trace.py", "ctdild_sim/analysis/bands.py", "ctdild_sim/sim/budget.py"):
        assert crossing not in compiled
    # the build sees simpy as Any (mypy looks at no installed package): a compiled subclass of one of
    # its classes crashed (a segfault) when simpy set an attribute on it
    for path in compiled:
        tree = ast.parse((ROOT / path).read_text())
        bases = [ast.unparse(b) for node in ast.walk(tree) if isinstance(node, ast.ClassDef) for b in node.bases]
        assert not [b for b in bases if b.startswith("simpy.")], (path, bases)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert any(r.startswith("mypy") for r in requires)


def test_the_version_names_the_build_that_runs(tmp_path):
    """A pure build is never silent: ``--version`` says which model the installed command runs."""
    where = subprocess.run(
        [sys.executable, "-c", "import ctdild_sim.model.engine as e; print(e.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shown = subprocess.run(
        [sys.executable, "-m", "ctdild_sim", "--version"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    build = "compiled with mypyc" if where.endswith(".so") else "pure Python"
    assert shown == f"ctdild-sim 0.1.0 ({build})", (shown, where)
