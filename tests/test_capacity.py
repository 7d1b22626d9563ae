"""Capacity: places granted first come, first served, without an event when one is free."""

from __future__ import annotations

import simpy

from ctdild_sim.sim.capacity import Capacity


def test_free_places_are_granted_at_once_then_waiters_in_order():
    env = simpy.Environment()
    beds = Capacity(env, 2)
    assert beds.take() is None and beds.take() is None  # two free places, no events
    first, second = beds.take(), beds.take()
    assert not first.triggered and not second.triggered
    beds.give_back()
    assert first.triggered and not second.triggered  # the longest waiter gets the place
    assert beds.in_use == 2
    beds.give_back()
    assert second.triggered
    beds.give_back()
    beds.give_back()
    assert beds.in_use == 0 and beds.take() is None


def test_withdrawing_a_waiting_request_leaves_the_queue_and_a_granted_one_frees_its_place():
    env = simpy.Environment()
    slot = Capacity(env, 1)
    assert slot.take() is None
    waiting, later = slot.take(), slot.take()
    slot.withdraw(waiting)  # left before being served
    slot.give_back()
    assert later.triggered and not waiting.triggered
    slot.withdraw(later)  # granted, then given up: the place is free again
    assert slot.in_use == 0 and slot.take() is None


def test_a_process_waits_for_the_place_it_was_promised():
    env = simpy.Environment()
    bed = Capacity(env, 1)
    log = []

    def patient(name: str, stay: float):
        grant = bed.take()
        if grant is not None:
            yield grant
        log.append((env.now, name, "in"))
        yield env.timeout(stay)
        bed.give_back()

    for name, stay in (("a", 3), ("b", 2), ("c", 1)):
        env.process(patient(name, stay))
    env.run()
    assert log == [(0, "a", "in"), (3, "b", "in"), (5, "c", "in")]
