"""The package installs what it needs: every package folder, the dashboard's assets and the shipped
scenario files, so the README's examples work outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
from click.testing import CliRunner

from ctdild_sim.cli import main
from ctdild_sim.scenario.loading import shipped_scenarios_dir

from conftest import ROOT, SCENARIOS, compiled_modules


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("ctdild_sim", "dashboard")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"not installed: {sorted(found - listed)}"
    assert "ctdild_sim.scenario_files" in listed


def _wheel(tmp_path, **environment) -> tuple[set[str], str]:
    """Build a wheel from a copy of the repository (building leaves build/ and *.egg-info behind)
    as ``pip install .`` does in a fresh venv, where nothing the package needs is installed yet:
    the names it holds, and what the build printed."""
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", "results", "build", "*.egg-info", ".tox", "test-artifacts", "*.so"),
    )
    stale = source / "build" / "lib.linux-x86_64-cpython-311" / "ctdild_sim" / "sim"
    stale.mkdir(parents=True)  # what an earlier build left behind: never packed
    (stale / "stale.cpython-311-x86_64-linux-gnu.so").write_bytes(b"an old build's module")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    built = subprocess.run(
        [str(python), "-m", "pip", "wheel", str(source), "--no-deps", "-v", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = tmp_path.glob("ctdild_sim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [n for n in names if "stale" in n], "the wheel packed an earlier build's files"
    return names, built.stdout + built.stderr


@pytest.mark.build
def test_the_wheel_holds_the_scenarios_the_dashboard_assets_and_the_compiled_model(tmp_path):
    names, printed = _wheel(tmp_path)
    compiled = compiled_modules()
    assert all(path in names for path in compiled)  # the .py files, always
    if shutil.which(os.environ.get("CC", "cc")):  # and, where there is a C compiler, the modules compiled
        for path in compiled:
            stem = path.removesuffix(".py")
            assert any(n.startswith(stem + ".cpython-") and n.endswith(".so") for n in names), (
                f"{path} not compiled; the build said:\n"
                + "\n".join(line for line in printed.splitlines() if "error" in line or "ctdild-sim build" in line)
            )
    for file in SCENARIOS.glob("*.yaml"):
        assert f"ctdild_sim/scenario_files/{file.name}" in names
    for file in SCENARIOS.glob("actuals/*/*"):
        assert f"ctdild_sim/scenario_files/{file.relative_to(SCENARIOS)}" in names
    assert "dashboard/assets/plotly-cartesian.min.js" in names


@pytest.mark.build
def test_without_a_working_compiler_the_wheel_is_pure_python(tmp_path):
    names, printed = _wheel(tmp_path, CC="false")  # a "compiler" that always fails
    assert "ctdild-sim build: compiling the model failed" in printed and "installing pure Python" in printed
    assert not [n for n in names if n.endswith(".so")]
    # the wheel was meant for compiled modules, so its Python files sit under .data/purelib (pip
    # installs them to site-packages all the same)
    files = {name.split("/purelib/", 1)[-1] for name in names}
    assert all(path in files for path in compiled_modules())


def test_the_shipped_scenarios_are_found_and_used_outside_the_repository():
    # the tests run in a scratch folder (conftest): there is no ./scenarios here
    folder = shipped_scenarios_dir()
    assert folder is not None and {p.name for p in folder.glob("*.yaml")} == {p.name for p in SCENARIOS.glob("*.yaml")}
    result = CliRunner().invoke(
        main, ["run", "scenarios/nct06574581.yaml", "-n", "2", "-j", "1", "--no-store", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "using the copy installed with ctdild-sim" in result.stderr
    assert CliRunner().invoke(main, ["validate", "nct06574581_two_sites.yaml"]).exit_code == 2  # validate reads only
    missing = CliRunner().invoke(main, ["run", "scenarios/no_such_file.yaml", "-n", "1"])
    assert missing.exit_code == 2 and "scenarios/no_such_file.yaml: file not found" in missing.stderr
