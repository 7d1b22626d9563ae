"""Which build of the model is running: compiled with mypyc (``pip install .``) or pure Python
(an editable install, ``CTDILD_SIM_PURE=1``, or a build that could not compile, which says so on
stderr). ``ctdild-sim --version`` and ``benchmarks/sweeps.py`` print it, so a pure build is never
silent."""

from __future__ import annotations

from ctdild_sim.model import engine


def model_build() -> str:
    """``compiled with mypyc`` or ``pure Python``, from the module that runs a replicate."""
    return "compiled with mypyc" if str(engine.__file__).endswith((".so", ".pyd")) else "pure Python"
