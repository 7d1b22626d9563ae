"""The ``ctdild-sim`` command (``python -m ctdild_sim`` too): Ctrl-C while it loads its modules
ends it at once, quietly, with status 130, as it does later."""

import os
import signal


def _interrupted_while_loading(signum: int, frame: object) -> None:
    os.write(2, b"Interrupted: nothing was written.\n")
    os._exit(130)


def main() -> None:
    """Load the command (pandas, numpy, click: about half a second) with Ctrl-C taken, then run it."""
    signal.signal(signal.SIGINT, _interrupted_while_loading)
    from ctdild_sim.cli import run_command

    signal.signal(signal.SIGINT, signal.default_int_handler)
    run_command()


if __name__ == "__main__":
    main()
