"""``python -m ctdild_sim`` is the ``ctdild-sim`` command."""

from ctdild_sim.cli import run_command

run_command()
