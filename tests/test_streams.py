"""The replicate's random streams are numpy's SeedSequence children, state for state."""

from __future__ import annotations

import numpy as np
import pytest

from ctdild_sim.sim.streams import COMPONENTS, PARAMETERS, ReplicateStreams, parameter_stream, spawned_pool

SEEDS = (0, 1, 7, 20240820, 2**32 - 1, 2**32 + 5, 2**64 - 1, 2**130 + 7)
"""Seeds of one, two, three and five 32-bit words (a seed longer than the pool mixes in after it)."""
REPLICATES = (0, 1, 255, 2**32, 10**12)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_pool_equals_numpys_seed_sequence(seed):
    for replicate in REPLICATES:
        for component in range(PARAMETERS + 2):
            ours = spawned_pool(seed, (replicate,)).spawned(component)
            numpys = np.random.SeedSequence(seed, spawn_key=(replicate, component))
            for n_words, dtype in ((4, np.uint64), (5, np.uint32), (1, np.uint32), (7, np.uint64)):
                assert np.array_equal(ours.generate_state(n_words, dtype), numpys.generate_state(n_words, dtype))
    longer_key = np.random.SeedSequence(seed, spawn_key=(3, 2**33, 9)).generate_state(4, np.uint64)
    assert np.array_equal(spawned_pool(seed, (3, 2**33, 9)).generate_state(4, np.uint64), longer_key)


def test_the_generators_draw_what_numpys_draw():
    streams = ReplicateStreams.for_replicate(20240820, 17)
    for c, name in enumerate(COMPONENTS):
        expected = np.random.default_rng(np.random.SeedSequence(20240820, spawn_key=(17, c)))
        assert getattr(streams, name).random(8).tolist() == expected.random(8).tolist()
        assert getattr(streams, name).standard_normal(3).tolist() == expected.standard_normal(3).tolist()
    expected = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(2, PARAMETERS)))
    assert parameter_stream(5, 2).random(4).tolist() == expected.random(4).tolist()


def test_streams_differ_between_components_and_replicates():
    a, b = ReplicateStreams.for_replicate(1, 0), ReplicateStreams.for_replicate(1, 1)
    firsts = {getattr(s, name).random() for s in (a, b) for name in COMPONENTS}
    assert len(firsts) == 2 * len(COMPONENTS)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        spawned_pool(-1, (0,))
    with pytest.raises(ValueError, match=r"uint32 and np\.uint64"):
        spawned_pool(1, (0,)).generate_state(2, np.int64)


def _kinds(*onsets: dict, probability=0.5) -> list:
    from ctdild_sim.scenario.trial import AdverseEventType

    specs = [
        {"name": f"ae{i}", "probability": probability, "triggers_review": i % 2 == 0, "onset_days": onset}
        for i, onset in enumerate(onsets)
    ]
    return [AdverseEventType.model_validate(spec) for spec in specs]


UNIFORM = {"dist": "uniform", "low": 0, "high": 28}
FIXED = {"dist": "fixed", "value": 3}
LOGNORMAL = {"dist": "lognormal", "median": 2, "p90": 5}


@pytest.mark.parametrize(
    "kinds",
    [
        _kinds(UNIFORM, UNIFORM),
        _kinds(UNIFORM, FIXED, UNIFORM),
        _kinds(LOGNORMAL, UNIFORM),
        _kinds(),
        _kinds(UNIFORM, probability=[[0.1], [0.2, 0.9]]),
    ],
    ids=["uniform", "with fixed", "lognormal", "none", "per cohort"],
)
def test_adverse_event_draws_equal_each_kinds_own_draws_in_turn(kinds):
    """Occurrence then onset, kind after kind: what the generator gives when each kind draws with
    its own methods, however the uniforms are fetched."""
    from ctdild_sim.model.safety import AdverseEventDraws

    together, apart = np.random.default_rng(3), np.random.default_rng(3)
    draws = AdverseEventDraws(kinds)
    for cohort, infusion in ((0, 0), (1, 1), (1, 0)) * 5:
        expected = []
        for ae in kinds:
            occurs = apart.random() < ae.probability_for(cohort, infusion)
            expected.append((ae, occurs, ae.onset_days.sample(apart)))
        assert draws.for_infusion(together, cohort, infusion) == expected
    assert together.random() == apart.random()


def test_a_stream_pickles_and_copies_with_its_seed():
    import copy
    import pickle

    stream = ReplicateStreams.for_replicate(5, 3).safety
    stream.random(3)
    for twin in (pickle.loads(pickle.dumps(stream)), copy.deepcopy(stream)):
        assert twin.random(4).tolist() == copy.deepcopy(stream).random(4).tolist()
