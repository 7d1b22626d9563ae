"""Candidate records: the block draws equal each distribution's own draws, and the facts of many
candidates match the population's prevalences and distributions (closed forms, Monte Carlo error)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctdild_sim import load_scenario
from ctdild_sim.model.candidates import MYOPATHIES, CandidateFactory, DrawBlock
from ctdild_sim.scenario.distributions import Exponential, Fixed, Gamma, LogNormal, Normal, Uniform

from conftest import SCENARIOS

N = 40_000
"""Candidates drawn for the statistical checks (a few tenths of a second)."""


def dists(*specs: dict) -> list:
    kinds = {
        "lognormal": LogNormal,
        "normal": Normal,
        "gamma": Gamma,
        "fixed": Fixed,
        "uniform": Uniform,
        "exponential": Exponential,
    }
    return [kinds[s["dist"]].model_validate(s) for s in specs]


NORMAL_BASED = dists(
    {"dist": "lognormal", "median": 48, "p90": 96},
    {"dist": "normal", "mean": 11, "sd": 5},
    {"dist": "normal", "mean": 55, "sd": 12, "low": 50, "high": 60},
    {"dist": "lognormal", "median": 0.15, "p90": 0.4},
)
# fmt: off
MIXED = [*NORMAL_BASED[:2], *dists({"dist": "gamma", "mean": 3, "sd": 1}, {"dist": "fixed", "value": 7},
                                   {"dist": "uniform", "low": 1, "high": 2}, {"dist": "exponential", "mean": 4}),
         NORMAL_BASED[2]]
# fmt: on


@pytest.mark.parametrize("block", [NORMAL_BASED, NORMAL_BASED[:1], NORMAL_BASED[1:3], MIXED], ids=str)
def test_block_draws_equal_each_distribution_in_turn(block):
    """One block of normals gives, byte for byte, what each distribution's sample_many gives in turn
    from the same generator, and leaves the generator where they leave it."""
    together, apart = np.random.default_rng(5), np.random.default_rng(5)
    drawn = DrawBlock(block).draw(together, 32)
    expected = np.array([d.sample_many(apart, 32) for d in block])
    assert drawn.shape == (len(block), 32)
    assert drawn.tobytes() == expected.tobytes()
    assert together.random() == apart.random()


@pytest.fixture(scope="module")
def drawn():
    scenario = load_scenario(SCENARIOS / "nct06574581.yaml")
    factory = CandidateFactory(scenario.population, np.random.default_rng(2024))
    candidates = [factory.draw("S") for _ in range(N)]
    return scenario.population, candidates


def close(hits: int, n: int, p: float) -> bool:
    """A count within 4.5 binomial standard errors of n p."""
    return abs(hits - n * p) <= 4.5 * math.sqrt(n * p * (1 - p)) + 1e-9


def test_numbered_in_order(drawn):
    _, candidates = drawn
    assert [c.candidate_id for c in candidates[:5]] == [1, 2, 3, 4, 5]
    assert candidates[-1].candidate_id == N


def test_demographics(drawn):
    pop, candidates = drawn
    women = [c for c in candidates if c.female]
    assert close(len(women), N, pop.female)
    age = pop.age_years
    # ages are rounded to 0.1 year: below menopause_age (a whole year) means below it less 0.05
    below = 0.5 * math.erfc(-((pop.menopause_age - 0.05 - age.mean_value) / age.sd) / math.sqrt(2))
    childbearing = [c for c in women if c.childbearing_potential]
    assert close(len(childbearing), len(women), below * pop.childbearing_potential)
    assert all(c.age < pop.menopause_age for c in childbearing)
    assert not any(c.childbearing_potential or c.pregnant or c.breastfeeding for c in candidates if not c.female)
    assert close(sum(c.pregnant for c in childbearing), len(childbearing), pop.pregnant)
    assert close(sum(c.breastfeeding for c in childbearing), len(childbearing), pop.breastfeeding)
    assert close(sum(c.agrees_to_contraception for c in candidates), N, pop.agrees_to_contraception)
    assert all(c.age == round(c.age, 1) and age.low <= c.age <= age.high for c in candidates)
    ages = np.array([c.age for c in candidates])
    assert abs(ages.mean() - age.mean_value) <= 4.5 * ages.std() / math.sqrt(N)


def test_ctd_types_and_myopathy_enzymes(drawn):
    pop, candidates = drawn
    for name, share in pop.ctd_type.items():
        assert close(sum(c.ctd_type == name for c in candidates), N, share), name
    myopathic = [c for c in candidates if c.ctd_type in MYOPATHIES]
    assert close(sum(c.enzymes_from_myopathy for c in myopathic), len(myopathic), pop.enzymes_from_myopathy)
    assert not any(c.enzymes_from_myopathy for c in candidates if c.ctd_type not in MYOPATHIES)


def test_shares_of_everyone(drawn):
    pop, candidates = drawn
    for fact in ("family_support", "consents", "immune_deficiency_or_notifiable_infection"):
        assert close(sum(getattr(c, fact) for c in candidates), N, getattr(pop, fact)), fact


def test_ild_profiles_and_their_facts(drawn):
    """Each profile is picked by its weight, and its candidates' facts follow that profile's
    distributions (means, before clipping for the normals, whose clipping here is negligible) and
    chances."""
    pop, candidates = drawn
    total = sum(p.weight for p in pop.ild_profiles.values())
    for name, profile in pop.ild_profiles.items():
        mine = [c for c in candidates if c.ild_profile == name]
        assert close(len(mine), N, profile.weight / total), name
        for fact in (
            "on_potent_immunosuppressant",
            "ct_enlarging",
            "worsening_dyspnoea_and_hypoxaemia",
            "improving_under_treatment",
        ):
            assert close(sum(getattr(c, fact) for c in mine), len(mine), getattr(profile, fact)), (name, fact)
        for fact in (
            "treatment_months",
            "steroid_mg_per_kg_day",
            "fvc_decline_pct",
            "dlco_decline_pct",
            "symptom_onset_days",
        ):
            values = np.array([getattr(c, fact) for c in mine])
            assert abs(values.mean() - getattr(profile, fact).mean) <= 4.5 * values.std() / math.sqrt(len(mine)), (
                name,
                fact,
            )


def test_laboratory_values_and_weight(drawn):
    pop, candidates = drawn
    for fact, dist in (
        ("got_u_per_l", pop.got_u_per_l),
        ("gpt_u_per_l", pop.gpt_u_per_l),
        ("creatinine_mg_dl", pop.creatinine_mg_dl),
        ("body_weight_kg", pop.body_weight_kg),
    ):
        values = np.array([getattr(c, fact) for c in candidates])
        assert abs(values.mean() - dist.mean) <= 4.5 * values.std() / math.sqrt(N), fact
