"""A worker's memory of posterior draws across the stock policies of one search.

A lot plan simulates dozens of reorder policies and lot sizes on the same replicates (common
random numbers), and replicate r draws the same parameters from the posterior whatever the policy:
no learned assumption is about the supply decisions. So a worker keeps each replicate's draw, keyed
by the posterior, the scenario without its decisions, the seed and the replicate, and hands the
next candidate that draw with its own decisions put in: the scenario drawing again would have
made, without drawing.
"""

from __future__ import annotations

import hashlib

from ctdild_sim.learning.posterior import Posterior
from ctdild_sim.scenario.trial import SUPPLY_DECISIONS, Scenario, with_supply_decisions
from ctdild_sim.sim.streams import parameter_stream

Draw = tuple[Scenario, float | None, dict[str, float]]
"""A replicate's drawn scenario, its share of candidates passing screening, and the drawn values."""
MEMORY_SIZE = 2_000
"""Draws a process keeps (about 21 kB each: 42 MB at most); a search remembers two per replicate a
candidate (its search and validation seeds). Past that, draws are made afresh and not kept."""
_MEMORY: dict[tuple[bytes, int, int], Draw] = {}


def draw_key(scenario: Scenario, posterior: Posterior) -> bytes | None:
    """What a draw depends on, for scenarios that differ only in their stock policy (None if the
    posterior learns something about the policy itself: then every draw is made afresh)."""
    decided = {("product", name) for name in SUPPLY_DECISIONS}
    if any(tuple(a.target.path[:2]) in decided for a in posterior.assumptions):
        return None
    # the scenario by its fields' values: a pickle also holds what its models have cached (a
    # lognormal's sigma, once read), so one scenario would digest differently once simulated
    content = scenario.model_dump_json(exclude={"product": set(SUPPLY_DECISIONS)}).encode()
    return hashlib.blake2b(content + posterior.digest, digest_size=16).digest()


def draw(posterior: Posterior, scenario: Scenario, seed: int, replicate: int, key: bytes | None = None) -> Draw:
    """Replicate ``replicate``'s draw from the posterior for ``scenario``: remembered under ``key``
    (``draw_key``) and reused, with ``scenario``'s policy, for any scenario of the same key."""
    if key is not None and (remembered := _MEMORY.get((key, seed, replicate))) is not None:
        drawn, share, learned = remembered
        return _with_policy_of(scenario, drawn), share, dict(learned)
    learned: dict[str, float] = {}
    drawn, share = posterior.draw(scenario, parameter_stream(seed, replicate), learned)
    if key is not None and len(_MEMORY) < MEMORY_SIZE:
        _MEMORY[(key, seed, replicate)] = (drawn, share, dict(learned))
    return drawn, share, learned


def _with_policy_of(scenario: Scenario, drawn: Scenario) -> Scenario:
    return with_supply_decisions(drawn, scenario)
