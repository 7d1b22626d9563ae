"""The package installs what it needs: every package folder, the dashboard's assets and the shipped
scenario files, so the README's examples work outside the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile

from click.testing import CliRunner

from ctdild_sim.cli import main
from ctdild_sim.scenario.loading import shipped_scenarios_dir

from conftest import ROOT, SCENARIOS


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("ctdild_sim", "dashboard")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"not installed: {sorted(found - listed)}"
    assert "ctdild_sim.scenario_files" in listed


def test_the_wheel_holds_the_scenarios_and_the_dashboard_assets(tmp_path):
    source = tmp_path / "source"  # a copy: building leaves build/ and *.egg-info behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "results", "build", "*.egg-info", ".tox"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path)],
                   check=True, capture_output=True)  # fmt: skip
    [wheel] = tmp_path.glob("ctdild_sim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for file in SCENARIOS.glob("*.yaml"):
        assert f"ctdild_sim/scenario_files/{file.name}" in names
    for file in SCENARIOS.glob("actuals/*/*"):
        assert f"ctdild_sim/scenario_files/{file.relative_to(SCENARIOS)}" in names
    assert "dashboard/assets/plotly-cartesian.min.js" in names


def test_the_shipped_scenarios_are_found_and_used_outside_the_repository():
    # the tests run in a scratch folder (conftest): there is no ./scenarios here
    folder = shipped_scenarios_dir()
    assert folder is not None and {p.name for p in folder.glob("*.yaml")} == {p.name for p in SCENARIOS.glob("*.yaml")}
    result = CliRunner().invoke(main, ["run", "scenarios/nct06574581.yaml", "-n", "2", "-j", "1", "--no-store",
                                       "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "using the copy installed with ctdild-sim" in result.stderr
    assert CliRunner().invoke(main, ["validate", "nct06574581_two_sites.yaml"]).exit_code == 2  # validate reads only
    missing = CliRunner().invoke(main, ["run", "scenarios/no_such_file.yaml", "-n", "1"])
    assert missing.exit_code == 2 and "scenarios/no_such_file.yaml: file not found" in missing.stderr
