"""Timeouts that lose every tie: the end of a validity window is inclusive.

simpy processes the events of one moment in the order they were scheduled, so a passed screen
that expires at the very moment a cohort opens (or a lot is released) would be lost or kept
depending on which event happened to be scheduled first. A window that is valid *through* its
last moment needs its end to come after everything else at that moment: ``LateTimeout`` is
scheduled with a priority below simpy's normal one, so it is processed after every normal event
of the same time, including events scheduled later at that time.
"""

from __future__ import annotations

import simpy
from simpy.events import NORMAL, EventPriority

LATE = EventPriority(NORMAL + 1)
"""Priority below simpy's URGENT (0) and NORMAL (1): processed last within its moment."""


class LateTimeout(simpy.Timeout):
    """A ``simpy.Timeout`` processed after every other event of the moment it falls on."""

    def __init__(self, env: simpy.Environment, delay: float):
        if delay < 0:
            raise ValueError(f"delay (={delay}) must be >= 0")
        # as simpy.Timeout.__init__, but with the LATE priority
        self.env = env
        self.callbacks = []
        self._value = None
        self._delay = delay
        self._ok = True
        env.schedule(self, LATE, delay)
