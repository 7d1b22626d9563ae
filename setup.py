"""Build: the replicate's inner loop compiled with mypyc, where it can be.

Everything else about the package is in ``pyproject.toml``. The modules in ``COMPILED`` (the
model, its clock and supply, and the per-replicate metrics) are compiled to C with mypyc when a
wheel is built (``pip install .``): a replicate takes about 30% fewer instructions, its results
are the same byte for byte (``tests/test_compiled.py``). The ``.py`` files are installed beside the
compiled modules, and the package is pure Python where compiling is not possible or not wanted:

- an editable install (``pip install -e .``) is never compiled, so edits take effect at once;
- ``CTDILD_SIM_PURE=1`` in the environment skips compiling;
- if mypyc or the C compiler fails, the build says so on stderr and installs pure Python.
"""

from __future__ import annotations

import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

MODEL = ("candidates", "cohorts", "eligibility", "engine", "patient", "referrals", "safety", "screening")
COMPILED = [
    *[f"ctdild_sim/model/{name}.py" for name in MODEL],
    *[f"ctdild_sim/sim/{name}.py" for name in ("capacity", "events", "memo", "streams")],
    *[f"ctdild_sim/supply/{name}.py" for name in ("chain", "inventory", "manufacturing", "stock_policy")],
    "ctdild_sim/analysis/metrics.py",
    "ctdild_sim/analysis/supply_metrics.py",
]
"""Modules compiled with mypyc. Left out on purpose: classes whose instances cross process
boundaries (``model/trace.py``'s records, ``analysis/bands.py``'s histograms, ``sim/budget.py``'s
exception), since compiled classes do not unpickle; ``sim/timing.py``, whose ``LateTimeout``
subclasses simpy's ``Timeout``, which the build sees as Any (compiled so, its instances crashed
when simpy set their attributes); and everything that is not run per replicate."""

MYPY_OPTIONS = ["--ignore-missing-imports", "--follow-imports=silent", "--no-site-packages"]
"""numpy, simpy and pydantic are seen as Any, always: an isolated build's environment holds mypy and
setuptools only, but mypy also looks in the interpreter's site-packages, so a build where simpy was
installed typed the model against simpy's annotations and one in a fresh venv did not (a module that
passed in one failed in the other, and the fresh venv installed pure Python)."""

BUILDS_WHEEL = {"bdist_wheel", "build", "build_ext", "install"}
"""setup.py commands that compile (an editable install runs ``editable_wheel``, metadata
``egg_info`` or ``dist_info``: those never do)."""


def _warn(message: str) -> None:
    print(f"ctdild-sim build: {message}; installing pure Python", file=sys.stderr)


def compiled_extensions() -> list:
    if os.environ.get("CTDILD_SIM_PURE"):
        return []
    if not BUILDS_WHEEL & set(sys.argv[1:]):
        return []
    # a build starts clean: pip builds in the source tree, and setuptools packs what an earlier
    # build left in build/ (a module compiled then, no longer listed, crashed the installed model)
    shutil.rmtree("build", ignore_errors=True)
    try:
        from mypyc.build import mypycify

        return mypycify([*MYPY_OPTIONS, *COMPILED], opt_level="3")
    except (Exception, SystemExit) as error:  # mypyc exits on a type error
        _warn(f"mypyc could not compile the model ({error or type(error).__name__})")
        return []


class OptionalBuildExt(build_ext):
    """Compile the extensions; on any compiler failure, drop them (the ``.py`` files remain)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:
            _warn(f"compiling the model failed ({error})")
            self.extensions = []
            self.distribution.ext_modules = []


if __name__ == "__main__":  # as setuptools runs it (the tests read COMPILED only)
    setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
