"""Random streams: one per replicate and model component, all spawned from one seed.

Replicate ``r`` of a run seeded with ``seed`` uses ``SeedSequence(seed, spawn_key=(r, c))`` for
component ``c`` -- exactly the children ``SeedSequence(seed).spawn(...)[r].spawn(...)[c]`` -- so a
replicate's draws depend only on (seed, r, component), never on how many workers ran, in what
order or in what chunks. Giving each component its own stream also means two scenarios that
differ only in, say, the safety review still see the same candidates (common random numbers).

Those seed sequences are computed here in Python integers (``SpawnedSeed``), by numpy's own fixed
algorithm, the part that depends on the seed alone once, the replicate's once for its components:
numpy's ``SeedSequence`` builds arrays for each word and took a tenth of a replicate (nine streams,
105 us); the generators are the same, state for state (``tests/test_streams.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.random.bit_generator import ISeedSequence

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
        pool = spawned_pool(seed, (replicate,))
        return cls(**{name: _generator(pool.spawned(i)) for i, name in enumerate(COMPONENTS)})


PARAMETERS = len(COMPONENTS)
"""Spawn index of the stream a forecast replicate draws its parameters from (apart from every
component's, so a replicate's own draws do not depend on whether it learns)."""


def parameter_stream(seed: int, replicate: int) -> np.random.Generator:
    """The generator replicate ``replicate`` draws its parameters (a posterior's beliefs) from."""
    return _generator(spawned_pool(seed, (replicate, PARAMETERS)))


def _generator(pool: SpawnedSeed) -> np.random.Generator:
    # a bit generator takes any ISeedSequence (numpy's type stubs name SeedSequence only)
    return np.random.Generator(np.random.PCG64(cast(np.random.SeedSequence, pool)))


# -- numpy's SeedSequence, in Python integers -------------------------------------------------------

MASK32 = 0xFFFFFFFF
INIT_A, MULT_A = 0x43B0D7E5, 0x931E8875
INIT_B, MULT_B = 0x8B51F9DD, 0x58F38DED
MIX_MULT_L, MIX_MULT_R = 0xCA01F9DD, 0x4973F715
POOL_SIZE = 4
"""The constants of numpy's SeedSequence (``numpy/random/bit_generator.pyx``; fixed since numpy
1.17, the padding of a short entropy before a spawn key since 1.19)."""


def _uint32_words(n: int) -> list[int]:
    """An integer's 32-bit words, least significant first (numpy's ``_int_to_uint32_array``)."""
    if n < 0:
        raise ValueError(f"expected a non-negative integer, got {n}")
    words = [n & MASK32]
    n >>= 32
    while n:
        words.append(n & MASK32)
        n >>= 32
    return words


def _mix(x: int, y: int) -> int:
    result = (MIX_MULT_L * x - MIX_MULT_R * y) & MASK32
    return result ^ (result >> 16)


class SpawnedSeed:
    """A seed sequence's entropy pool after some of its words, and the hash constant reached: the
    pool of ``SeedSequence(seed, spawn_key=key)`` once every word is in. It is an
    ``ISeedSequence`` (a bit generator seeds itself from ``generate_state``)."""

    def __init__(self, pool: list[int], hash_const: int) -> None:
        self.pool = pool
        self.hash_const = hash_const

    def __reduce__(self) -> tuple[type[SpawnedSeed], tuple[list[int], int]]:
        """Pickled with its generator (numpy pickles a bit generator's seed sequence too)."""
        return SpawnedSeed, (self.pool, self.hash_const)

    def _hashmix(self, value: int) -> int:
        value ^= self.hash_const
        self.hash_const = (self.hash_const * MULT_A) & MASK32
        value = (value * self.hash_const) & MASK32
        return value ^ (value >> 16)

    def with_words(self, words: list[int]) -> SpawnedSeed:
        """This pool with more entropy words mixed in, each into every pool word."""
        mixed = SpawnedSeed(list(self.pool), self.hash_const)
        for word in words:
            for i in range(POOL_SIZE):
                mixed.pool[i] = _mix(mixed.pool[i], mixed._hashmix(word))
        return mixed

    def spawned(self, index: int) -> SpawnedSeed:
        """The child spawned at ``index`` (the spawn key one longer)."""
        return self.with_words(_uint32_words(index))

    def generate_state(self, n_words: int, dtype: type = np.uint32) -> np.ndarray:
        """``SeedSequence.generate_state``: ``n_words`` words of ``dtype`` (uint32 or uint64)."""
        wide = dtype is np.uint64 or np.dtype(dtype) == np.dtype(np.uint64)
        if not wide and np.dtype(dtype) != np.dtype(np.uint32):
            raise ValueError("only np.uint32 and np.uint64 are supported")
        n = 2 * n_words if wide else n_words
        constants = _state_constants(n)
        words = []
        for i in range(n):
            value = ((self.pool[i % POOL_SIZE] ^ constants[i]) * constants[i + 1]) & MASK32
            words.append(value ^ (value >> 16))
        if wide:  # little-endian pairs, as numpy views them
            return np.array([words[2 * k] | (words[2 * k + 1] << 32) for k in range(n_words)], dtype=np.uint64)
        return np.array(words, dtype=np.uint32)


ISeedSequence.register(SpawnedSeed)


@functools.lru_cache(maxsize=8)
def _state_constants(n: int) -> list[int]:
    """The hash constants ``generate_state`` steps through (they depend on the word's place only)."""
    constants = [INIT_B]
    for _ in range(n):
        constants.append((constants[-1] * MULT_B) & MASK32)
    return constants


@functools.lru_cache(maxsize=16)
def _seeded(seed: int) -> SpawnedSeed:
    """The pool once the seed's words are in (padded to the pool size: a spawn key follows)."""
    entropy = _uint32_words(seed)
    entropy += [0] * (POOL_SIZE - len(entropy))
    pool = SpawnedSeed([0] * POOL_SIZE, INIT_A)
    for i in range(POOL_SIZE):
        pool.pool[i] = pool._hashmix(entropy[i])
    for source in range(POOL_SIZE):  # mix all bits together so late bits can affect earlier bits
        for target in range(POOL_SIZE):
            if source != target:
                pool.pool[target] = _mix(pool.pool[target], pool._hashmix(pool.pool[source]))
    return pool.with_words(entropy[POOL_SIZE:])


def spawned_pool(seed: int, spawn_key: tuple[int, ...]) -> SpawnedSeed:
    """``SeedSequence(seed, spawn_key=spawn_key)``'s pool (a non-empty spawn key)."""
    return _seeded(seed).with_words([word for part in spawn_key for word in _uint32_words(part)])
