"""A fixed number of places taken first come, first served: infusion beds and the sentinel slot
of a cohort.

Like ``simpy.Resource`` but without an event when a place is free: a replicate takes a bed
hundreds of times and almost never waits, so granting at once halves the events a stay costs.
"""

from __future__ import annotations

from collections import deque

import simpy


class Capacity:
    """``capacity`` places; ``take`` one, ``give_back`` it when done."""

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env = env
        self.capacity = capacity
        self.in_use = 0
        self.queue: deque[simpy.Event] = deque()

    def take(self) -> simpy.Event | None:
        """Take a place: None when one was free (taken now), else an event that fires when granted."""
        if self.in_use < self.capacity and not self.queue:
            self.in_use += 1
            return None
        grant = self.env.event()
        self.queue.append(grant)
        return grant

    def take_now(self) -> None:
        """Take a place whatever the capacity and the queue: a trial's records say it was taken."""
        self.in_use += 1

    def withdraw(self, grant: simpy.Event) -> None:
        """Give up a place asked for with ``take``, granted or not."""
        if grant.triggered:
            self.give_back()
        else:
            self.queue.remove(grant)

    def give_back(self) -> None:
        """Free a place; the longest waiter, if any, gets it."""
        if self.queue:
            self.queue.popleft().succeed()
        else:
            self.in_use -= 1
