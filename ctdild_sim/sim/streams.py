"""Random streams: one per replicate and model component, all spawned from one seed.

Replicate ``r`` of a run seeded with ``seed`` uses ``SeedSequence(seed, spawn_key=(r, c))`` for
component ``c`` -- exactly the children ``SeedSequence(seed).spawn(...)[r].spawn(...)[c]`` -- so a
replicate's draws depend only on (seed, r, component), never on how many workers ran, in what
order or in what chunks. Giving each component its own stream also means two scenarios that
differ only in, say, the safety review still see the same candidates (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPONENTS = (
    "sites",
    "referrals",
    "candidates",
    "screening",
    "dosing",
    "safety",
    "retention",
    "manufacturing",
    "thaw",
)
"""Model components with a stream of their own; append only, never reorder (it changes results)."""


@dataclass(frozen=True)
class ReplicateStreams:
    """The generators of one replicate, one attribute per component."""

    sites: np.random.Generator
    referrals: np.random.Generator
    candidates: np.random.Generator
    screening: np.random.Generator
    dosing: np.random.Generator
    safety: np.random.Generator
    retention: np.random.Generator
    manufacturing: np.random.Generator
    thaw: np.random.Generator

    @classmethod
    def for_replicate(cls, seed: int, replicate: int) -> ReplicateStreams:
        return cls(
            **{
                name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate, i)))
                for i, name in enumerate(COMPONENTS)
            }
        )


PARAMETERS = len(COMPONENTS)
"""Spawn index of the stream a forecast replicate draws its parameters from (apart from every
component's, so a replicate's own draws do not depend on whether it learns)."""


def parameter_stream(seed: int, replicate: int) -> np.random.Generator:
    """The generator replicate ``replicate`` draws its parameters (a posterior's beliefs) from."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replicate, PARAMETERS)))
