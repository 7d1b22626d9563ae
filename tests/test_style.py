"""ruff keeps the style: the lint and format checks run with the tests, so CI enforces them."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import ROOT

PATHS = ["ctdild_sim", "dashboard", "tests", "benchmarks"]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed by the [test] extra")
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command):
    proc = subprocess.run(["ruff", *command, *PATHS], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_formatter_applies_line_by_line_everywhere():
    """665 statements once turned the formatter off one by one (``# fmt: skip``); a table whose
    alignment says something is kept whole between ``# fmt: off`` and ``# fmt: on`` instead."""
    skipped = [
        f"{path.relative_to(ROOT)}:{n}"
        for top in PATHS
        for path in (ROOT / top).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.rstrip().endswith("# fmt: skip")
    ]
    assert skipped == []
