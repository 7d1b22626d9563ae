"""Timeouts that lose every tie (the end of a validity window is inclusive), and the end of a day.

simpy processes the events of one moment in the order they were scheduled, so a passed screen
that expires at the very moment a cohort opens (or a lot is released) would be lost or kept
depending on which event happened to be scheduled first. A window that is valid *through* its
last moment needs its end to come after everything else at that moment: ``LateTimeout`` is
scheduled with a priority below simpy's normal one, so it is processed after every normal event
of the same time, including events scheduled later at that time.
"""

from __future__ import annotations

import math

import simpy
from simpy.events import NORMAL, URGENT, EventPriority

LATE = EventPriority(NORMAL + 1)
"""Priority below simpy's URGENT (0) and NORMAL (1): processed last within its moment."""


class LateTimeout(simpy.Timeout):
    """A ``simpy.Timeout`` processed after every other event of the moment it falls on."""

    def __init__(self, env: simpy.Environment, delay: float):
        if delay < 0:
            raise ValueError(f"delay (={delay}) must be >= 0")
        # as simpy.Timeout.__init__, but with the LATE priority
        simpy.Event.__init__(self, env)
        self._value = None
        self._delay = delay
        self._ok = True
        env.schedule(self, LATE, delay)


def end_of_day(env: simpy.Environment) -> simpy.Event:
    """An event at the end of the current day: at the start of the next one, before anything
    else scheduled then. Records hold days, not hours, so whether a recorded step kept to the
    protocol (a gate passed the same day it was taken) is known only when its day is over."""
    event = simpy.Event(env)
    event._ok = True
    event._value = None
    env.schedule(event, URGENT, math.floor(env.now) + 1 - env.now)
    return event
