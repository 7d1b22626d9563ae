"""Synthetic referred candidates, drawn from the scenario's population prevalences.

A candidate is the record a screening visit would produce: demographics, the CTD diagnosis, the
facts the ILD inclusion rule reads, the laboratory values the exclusions read, and body weight
(the dose is per kg). Candidates are drawn in batches, every fact for every candidate in a
fixed order, even facts that do not apply (a man's pregnancy draw is discarded), so candidate *n*
is the same person in two scenarios that share a population (common random numbers).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from ctdild_sim.scenario.distributions import LogNormal, Normal, lognormal_from_normals, normal_from_normals
from ctdild_sim.scenario.trial import IldProfile, Population
from ctdild_sim.sim.memo import IdentityMemo


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
    eligible: bool = True  # a plain trial's verdict (``PlainCandidateFactory``); criteria decide otherwise


MATCH_TRIES = 1000
"""Records drawn at most to find one that passes (or fails) screening as wanted."""
BATCH = 32
"""Candidates drawn at once: the draws are vectorised, and candidate n is still the same person
in every scenario with the same population (the batches come from the stream in a fixed order)."""

# fmt: off
_PROFILE_DISTRIBUTIONS = ("treatment_months", "steroid_mg_per_kg_day", "fvc_decline_pct", "dlco_decline_pct",
                          "symptom_onset_days")
# fmt: on
# fmt: off
_PROFILE_PROBABILITIES = ("on_potent_immunosuppressant", "ct_enlarging", "worsening_dyspnoea_and_hypoxaemia",
                          "improving_under_treatment")
# fmt: on
MYOPATHIES = ("dermatomyositis", "polymyositis")


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
        self._lookups = population_lookups(population)
        self._next_id = 1
        self._numbered = 0  # candidates numbered by this factory (recorded ones keep their own ids)
        self._batch: list[tuple] = []
        self._position = BATCH
        self._aim: tuple[float, Callable[[Candidate], bool]] | None = None

    def draw(self, site: str, candidate_id: int | None = None) -> Candidate:
        """The next candidate, numbered in order; or, with ``candidate_id``, a fresh record for a
        candidate a trial's records already numbered, without using a new number.
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
            if self._numbered >= self.limit and self.on_limit is not None:
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
        self._numbered += 1
        return candidate

    def continue_from(self, next_id: int) -> None:
        """Number new candidates from ``next_id`` (a trial's records used the numbers below it; ids
        are labels, so they count nothing against the budget)."""
        self._next_id = next_id

    def _draw_batch(self) -> list[tuple]:
        """BATCH candidates' facts, each a tuple in the order of Candidate's fields after site. The
        draws are made a block at a time, in a fixed order (every profile's draws for every
        candidate, so a candidate's draws do not depend on profiles); each candidate's facts are then
        read off the blocks as plain values (forty array operations on 32 values cost more)."""
        look, rng, n = self._lookups, self.rng, BATCH
        age: list[float] = np.round(look.age.draw(rng, n)[0], 1).tolist()
        u = rng.random((n, 11))
        below: list[list[bool]] = (u < look.shares).tolist()  # a candidate's row: u[:, j] < shares[j]
        picks: list[list[float]] = u[:, 5:7].tolist()  # CTD type and ILD profile
        facts: list[list[float]] = look.profile_facts.draw(rng, n).tolist()  # row f * profiles + k
        profile_u: list[list[float]] = rng.random((len(_PROFILE_PROBABILITIES), n)).tolist()
        got, gpt, creatinine, weight = look.labs.draw(rng, n).tolist()
        potent, enlarging, worsening, improving = look.profile_thresholds
        ctd_cumulative, profile_cumulative = look.ctd_cumulative, look.profile_cumulative
        last_ctd, last_profile = len(ctd_cumulative) - 1, len(profile_cumulative) - 1
        profiles, menopause = len(look.profile_names), self.population.menopause_age
        batch = []
        for i in range(n):
            b = below[i]
            childbearing = b[0] and age[i] < menopause and b[1]
            ctd = min(bisect_right(ctd_cumulative, picks[i][0] * ctd_cumulative[last_ctd]), last_ctd)
            k = min(bisect_right(profile_cumulative, picks[i][1] * profile_cumulative[last_profile]), last_profile)
            batch.append(
                (
                    age[i],
                    b[0],
                    childbearing,
                    childbearing and b[2],
                    childbearing and b[3],
                    b[4],
                    look.ctd_names[ctd],
                    look.profile_names[k],
                    facts[k][i],
                    profile_u[0][i] < potent[k],
                    facts[profiles + k][i],
                    facts[2 * profiles + k][i],
                    facts[3 * profiles + k][i],
                    profile_u[1][i] < enlarging[k],
                    facts[4 * profiles + k][i],
                    profile_u[2][i] < worsening[k],
                    profile_u[3][i] < improving[k],
                    b[8],
                    b[9],
                    got[i],
                    gpt[i],
                    b[7] and look.ctd_is_myopathy[ctd],
                    creatinine[i],
                    b[10],
                    weight[i],
                )
            )
        return batch


# fmt: off
UNKNOWN_FACTS = (
    math.nan, False, False, False, False, False, "", "", math.nan, False, math.nan, math.nan, math.nan, False,
    math.nan, False, False, False, False, math.nan, math.nan, False, math.nan, False, math.nan,
)
# fmt: on
"""A plain trial's candidate facts: none drawn (its screening reads a pass probability alone)."""


class PlainCandidateFactory:
    """Candidates of a trial screened by a pass probability (no population): each passes with
    that chance, one uniform draw each, and carries no facts."""

    def __init__(
        self,
        pass_probability: float,
        rng: np.random.Generator,
        limit: int = 10**9,
        on_limit: Callable[[], Exception] | None = None,
    ):
        self.share = pass_probability
        self.rng = rng
        self.limit = limit
        self.on_limit = on_limit
        self._next_id = 1
        self._numbered = 0

    def draw(self, site: str, candidate_id: int | None = None) -> Candidate:
        return self._candidate(site, candidate_id, bool(self.rng.random() < self.share))

    def draw_matching(
        self, site: str, candidate_id: int | None, eligible: bool, passes: Callable[[Candidate], bool]
    ) -> Candidate:
        return self._candidate(site, candidate_id, eligible)

    def aim(self, share: float, passes: Callable[[Candidate], bool]) -> None:
        self.share = share

    def continue_from(self, next_id: int) -> None:
        self._next_id = next_id

    def _candidate(self, site: str, candidate_id: int | None, eligible: bool) -> Candidate:
        if candidate_id is not None:
            return Candidate(candidate_id, site, *UNKNOWN_FACTS, eligible)
        if self._numbered >= self.limit and self.on_limit is not None:
            raise self.on_limit()
        candidate = Candidate(self._next_id, site, *UNKNOWN_FACTS, eligible)
        self._next_id += 1
        self._numbered += 1
        return candidate


class PopulationLookups:
    """What drawing a population's candidates reads, worked out once per population (a replicate
    builds its factory afresh: these took a third of a replicate's candidate draws)."""

    def __init__(self, population: Population) -> None:
        pop = population
        self.ctd_names = list(pop.ctd_type)
        self.ctd_cumulative = list(accumulate(pop.ctd_type[n] for n in self.ctd_names))  # as np.cumsum adds
        self.ctd_is_myopathy = [c in MYOPATHIES for c in self.ctd_names]
        self.profile_names = list(pop.ild_profiles)
        profiles: list[IldProfile] = [pop.ild_profiles[n] for n in self.profile_names]
        self.profile_cumulative = list(accumulate(p.weight for p in profiles))
        self.profile_thresholds = [[getattr(p, name) for p in profiles] for name in _PROFILE_PROBABILITIES]
        # the chances each candidate's row of uniforms is compared with (columns 5 and 6 pick the
        # CTD type and the ILD profile instead)
        self.shares = np.array(
            [
                pop.female,
                pop.childbearing_potential,
                pop.pregnant,
                pop.breastfeeding,
                pop.agrees_to_contraception,
                0.0,
                0.0,
                pop.enzymes_from_myopathy,
                pop.family_support,
                pop.consents,
                pop.immune_deficiency_or_notifiable_infection,
            ]
        )
        # distributions drawn one after another from one block of normals where they allow it
        self.age = draw_block([pop.age_years])
        self.profile_facts = draw_block([getattr(p, name) for name in _PROFILE_DISTRIBUTIONS for p in profiles])
        self.labs = draw_block([pop.got_u_per_l, pop.gpt_u_per_l, pop.creatinine_mg_dl, pop.body_weight_kg])


class DrawBlock:
    """Draws of several distributions, ``n`` values each, one after another from one generator: a
    row a distribution. When every one is a lognormal or a normal, all rows come from one block of
    standard normals with each distribution's own arithmetic as columns (the same values, byte for
    byte, as each ``sample_many`` in turn: a generator's standard normals are the same however the
    calls split them); otherwise each distribution draws in turn."""

    def __init__(self, dists: list) -> None:
        self.dists = dists
        self.normal_based = all(isinstance(d, LogNormal | Normal) for d in dists)
        if not self.normal_based:
            return
        lognormal = [isinstance(d, LogNormal) for d in dists]
        self.any_lognormal, self.any_normal = any(lognormal), not all(lognormal)
        self.is_lognormal = np.array(lognormal)[:, None]
        self.median = np.array([d.median if ln else 1.0 for d, ln in zip(dists, lognormal, strict=True)])[:, None]
        self.sigma = np.array([d.sigma if ln else 0.0 for d, ln in zip(dists, lognormal, strict=True)])[:, None]
        normals = [
            (0.0, 1.0, None, None) if ln else (d.mean_value, d.sd, d.low, d.high)
            for d, ln in zip(dists, lognormal, strict=True)
        ]
        self.mean = np.array([m for m, _, _, _ in normals])[:, None]
        self.sd = np.array([sd for _, sd, _, _ in normals])[:, None]
        self.low = np.array([-np.inf if lo is None else lo for _, _, lo, _ in normals])[:, None]  # max(x, -inf) is x
        self.high = np.array([np.inf if hi is None else hi for _, _, _, hi in normals])[:, None]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if not self.normal_based:
            return np.array([d.sample_many(rng, n) for d in self.dists], dtype=float)
        z = rng.standard_normal((len(self.dists), n))
        lognormal = lognormal_from_normals(self.median, self.sigma, z) if self.any_lognormal else z
        if not self.any_normal:
            return lognormal
        normal = normal_from_normals(self.mean, self.sd, self.low, self.high, z)
        return np.where(self.is_lognormal, lognormal, normal) if self.any_lognormal else normal


population_lookups: IdentityMemo[Population, PopulationLookups] = IdentityMemo(PopulationLookups)
"""A population's lookups, made once (a forecast draws a population a replicate, its death hazards
changed and its distributions shared: their blocks are made once all the same)."""
draw_block: IdentityMemo[list, DrawBlock] = IdentityMemo(DrawBlock)
"""The draw block of a list of distributions (the same objects), made once."""
