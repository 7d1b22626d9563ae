"""Synthetic referred candidates, drawn from the scenario's population prevalences.

A candidate is the record a screening visit would produce: demographics, the CTD diagnosis, the
facts the ILD inclusion rule reads, the laboratory values the exclusions read, and body weight
(the dose is per kg). Candidates are drawn in batches, every fact for every candidate in a
fixed order, even facts that do not apply (a man's pregnancy draw is discarded), so candidate *n*
is the same person in two scenarios that share a population (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from ctdild_sim.scenario.distributions import LogNormal, Normal, lognormal_from_normals, normal_from_normals
from ctdild_sim.scenario.trial import IldProfile, Population


@dataclass(slots=True)
class Candidate:
    """One referred person, as screening sees them; read-only by convention (not ``frozen``: a
    frozen dataclass of 28 fields costs 9x as much to build, and thousands are built per run)."""

    candidate_id: int
    site: str
    age: float
    female: bool
    childbearing_potential: bool
    pregnant: bool
    breastfeeding: bool
    agrees_to_contraception: bool
    ctd_type: str
    ild_profile: str
    treatment_months: float
    on_potent_immunosuppressant: bool
    steroid_mg_per_kg_day: float
    fvc_decline_pct: float
    dlco_decline_pct: float
    ct_enlarging: bool
    symptom_onset_days: float
    worsening_dyspnoea_and_hypoxaemia: bool
    improving_under_treatment: bool
    family_support: bool
    consents: bool
    got_u_per_l: float
    gpt_u_per_l: float
    enzymes_from_myopathy: bool
    creatinine_mg_dl: float
    immune_deficiency_or_notifiable_infection: bool
    body_weight_kg: float


MATCH_TRIES = 1000
"""Records drawn at most to find one that passes (or fails) screening as wanted."""
BATCH = 32
"""Candidates drawn at once: the draws are vectorised, and candidate n is still the same person
in every scenario with the same population (the batches come from the stream in a fixed order)."""

_PROFILE_DISTRIBUTIONS = ("treatment_months", "steroid_mg_per_kg_day", "fvc_decline_pct", "dlco_decline_pct",
                          "symptom_onset_days")  # fmt: skip
_PROFILE_PROBABILITIES = ("on_potent_immunosuppressant", "ct_enlarging", "worsening_dyspnoea_and_hypoxaemia",
                          "improving_under_treatment")  # fmt: skip
MYOPATHIES = ("dermatomyositis", "polymyositis")
_FACTS = [f.name for f in fields(Candidate)][2:]  # every field after candidate_id and site


class CandidateFactory:
    """Draws candidate records from a population, numbering them in order."""

    def __init__(
        self,
        population: Population,
        rng: np.random.Generator,
        limit: int = 10**9,
        on_limit: Callable[[], Exception] | None = None,
    ):
        self.population = population
        self.rng = rng
        self.limit = limit  # candidates a replicate may draw (its budget); on_limit's error past it
        self.on_limit = on_limit
        self._ctd_names = list(population.ctd_type)
        self._ctd_cumulative = np.cumsum([population.ctd_type[n] for n in self._ctd_names])
        self._profile_names = list(population.ild_profiles)
        self._profiles: list[IldProfile] = [population.ild_profiles[n] for n in self._profile_names]
        self._profile_cumulative = np.cumsum([p.weight for p in self._profiles])
        # per-batch lookups, made once: each profile's probabilities, and which CTD types are myopathies
        self._profile_thresholds = {name: np.array([getattr(p, name) for p in self._profiles])
                                    for name in _PROFILE_PROBABILITIES}  # fmt: skip
        self._ctd_is_myopathy = np.array([c in MYOPATHIES for c in self._ctd_names])
        self._from_normals = {name: _from_normals([getattr(p, name) for p in self._profiles])
                              for name in _PROFILE_DISTRIBUTIONS}  # fmt: skip
        self._next_id = 1
        self._batch: list[tuple] = []
        self._position = BATCH
        self._aim: tuple[float, Callable[[Candidate], bool]] | None = None

    def draw(self, site: str, candidate_id: int | None = None) -> Candidate:
        """The next candidate, numbered in order; or, with ``candidate_id``, a fresh record for a
        candidate a trial's records already numbered (a restart), without using a new number.
        With a share aimed at (``aim``), the candidate passes screening with that chance."""
        if self._aim is not None:
            share, passes = self._aim
            return self.draw_matching(site, candidate_id, self.rng.random() < share, passes)
        return self._candidate(site, candidate_id, self._facts())

    def draw_matching(
        self, site: str, candidate_id: int | None, eligible: bool, passes: Callable[[Candidate], bool]
    ) -> Candidate:
        """A candidate who passes screening (``eligible``) or fails it, drawn from the population
        conditioned on that (``passes``: the screening rule's verdict); the last one drawn if none matches."""
        facts = self._facts()
        for _ in range(MATCH_TRIES - 1):
            if passes(Candidate(0, site, *facts)) == eligible:
                break
            facts = self._facts()
        return self._candidate(site, candidate_id, facts)

    def aim(self, share: float, passes: Callable[[Candidate], bool]) -> None:
        """From now on, a drawn candidate passes screening with chance ``share`` (a forecast's drawn
        belief), facts drawn from the population conditioned on passing or failing."""
        self._aim = (share, passes)

    def _facts(self) -> tuple:
        if self._position == BATCH:
            if self._next_id > self.limit and self.on_limit is not None:
                raise self.on_limit()
            self._batch = self._draw_batch()
            self._position = 0
        facts = self._batch[self._position]
        self._position += 1
        return facts

    def _candidate(self, site: str, candidate_id: int | None, facts: tuple) -> Candidate:
        if candidate_id is not None:
            return Candidate(candidate_id, site, *facts)
        candidate = Candidate(self._next_id, site, *facts)
        self._next_id += 1
        return candidate

    def continue_from(self, next_id: int) -> None:
        """Number new candidates from ``next_id`` (the records of a trial under way used the rest)."""
        self._next_id = next_id

    def _draw_batch(self) -> list[tuple]:
        """BATCH candidates' facts, each a tuple in the order of Candidate's fields after site."""
        pop, rng, n = self.population, self.rng, BATCH
        age = np.round(pop.age_years.sample_many(rng, n), 1)
        u = rng.random((n, 11))
        female = u[:, 0] < pop.female
        childbearing = female & (age < pop.menopause_age) & (u[:, 1] < pop.childbearing_potential)
        ctd = np.minimum(np.searchsorted(self._ctd_cumulative, u[:, 5] * self._ctd_cumulative[-1], "right"),
                         len(self._ctd_names) - 1)  # fmt: skip
        profile = np.minimum(
            np.searchsorted(self._profile_cumulative, u[:, 6] * self._profile_cumulative[-1], "right"),
            len(self._profiles) - 1,
        )
        ctd_names = [self._ctd_names[k] for k in ctd]
        rows = np.arange(n)
        facts = {}
        drawn = np.empty((len(self._profiles), n))
        for name in _PROFILE_DISTRIBUTIONS:  # every profile's draw for every candidate, in a fixed order
            transform = self._from_normals[name]
            if transform is not None:  # all at once: the same draws, in the same order, as one call a profile
                facts[name] = transform(rng.standard_normal((len(self._profiles), n)))[profile, rows]
                continue
            for k, p in enumerate(self._profiles):
                drawn[k] = getattr(p, name).sample_many(rng, n)
            facts[name] = drawn[profile, rows]
        profile_u = rng.random((len(_PROFILE_PROBABILITIES), n))
        for k, name in enumerate(_PROFILE_PROBABILITIES):
            facts[name] = profile_u[k] < self._profile_thresholds[name][profile]
        myopathy = self._ctd_is_myopathy[ctd]
        columns = {
            "age": age,
            "female": female,
            "childbearing_potential": childbearing,
            "pregnant": (u[:, 2] < pop.pregnant) & childbearing,
            "breastfeeding": (u[:, 3] < pop.breastfeeding) & childbearing,
            "agrees_to_contraception": u[:, 4] < pop.agrees_to_contraception,
            "ctd_type": ctd_names,
            "ild_profile": [self._profile_names[k] for k in profile],
            **facts,
            "family_support": u[:, 8] < pop.family_support,
            "consents": u[:, 9] < pop.consents,
            "got_u_per_l": pop.got_u_per_l.sample_many(rng, n),
            "gpt_u_per_l": pop.gpt_u_per_l.sample_many(rng, n),
            "enzymes_from_myopathy": (u[:, 7] < pop.enzymes_from_myopathy) & myopathy,
            "creatinine_mg_dl": pop.creatinine_mg_dl.sample_many(rng, n),
            "immune_deficiency_or_notifiable_infection": u[:, 10] < pop.immune_deficiency_or_notifiable_infection,
            "body_weight_kg": pop.body_weight_kg.sample_many(rng, n),
        }
        ordered = (columns[name] for name in _FACTS)
        return list(zip(*(v.tolist() if isinstance(v, np.ndarray) else v for v in ordered), strict=True))


def _from_normals(dists: list) -> Callable[[np.ndarray], np.ndarray] | None:
    """For one fact, a function from a block of standard normals (a row a profile) to every
    profile's draws, by the arithmetic of each distribution's ``sample_many`` with its parameters
    as columns (so the values are the same, byte for byte); None unless every profile's
    distribution is a lognormal or every one a normal."""
    if all(isinstance(d, LogNormal) for d in dists):
        median = np.array([d.median for d in dists])[:, None]
        sigma = np.array([d.sigma for d in dists])[:, None]
        return lambda z: lognormal_from_normals(median, sigma, z)
    if all(isinstance(d, Normal) for d in dists):
        mean = np.array([d.mean_value for d in dists])[:, None]
        sd = np.array([d.sd for d in dists])[:, None]
        low = np.array([-np.inf if d.low is None else d.low for d in dists])[:, None]  # max(x, -inf) is x
        high = np.array([np.inf if d.high is None else d.high for d in dists])[:, None]
        return lambda z: normal_from_normals(mean, sd, low, high, z)
    return None
