"""Synthetic referred candidates, drawn from the scenario's population prevalences.

A candidate is the record a screening visit would produce: demographics, the CTD diagnosis, the
facts the ILD inclusion rule reads, the laboratory values the exclusions read, and body weight
(the dose is per kg). Every candidate consumes the same number of draws in the same order, even
for facts that do not apply (a man's pregnancy draw is discarded), so candidate *n* is the same
person in two scenarios that share a population (common random numbers).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from ctdild_sim.scenario import IldProfile, Population


@dataclass(frozen=True, slots=True)
class Candidate:
    """One referred person, as screening sees them."""

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


def _choose(rng: np.random.Generator, names: list[str], cumulative: list[float]) -> str:
    """One name, picked with the probabilities whose running totals are ``cumulative``."""
    u = rng.random() * cumulative[-1]
    index = bisect.bisect_right(cumulative, u)
    return names[min(index, len(names) - 1)]


class CandidateFactory:
    """Draws candidate records one at a time from a population, numbering them in order."""

    def __init__(self, population: Population, rng: np.random.Generator):
        self.population = population
        self.rng = rng
        self._ctd_names = list(population.ctd_type)
        self._ctd_cumulative = list(accumulate(population.ctd_type[n] for n in self._ctd_names))
        self._profile_names = list(population.ild_profiles)
        self._profile_cumulative = list(accumulate(population.ild_profiles[n].weight for n in self._profile_names))
        self._next_id = 1

    def draw(self, site: str) -> Candidate:
        pop, rng = self.population, self.rng
        age = round(pop.age_years.sample(rng), 1)
        female = rng.random() < pop.female
        fertile_draw = rng.random() < pop.childbearing_potential
        childbearing = bool(female and age < pop.menopause_age and fertile_draw)
        pregnant = bool(rng.random() < pop.pregnant) and childbearing
        breastfeeding = bool(rng.random() < pop.breastfeeding) and childbearing
        agrees = bool(rng.random() < pop.agrees_to_contraception)
        ctd = _choose(rng, self._ctd_names, self._ctd_cumulative)
        profile_name = _choose(rng, self._profile_names, self._profile_cumulative)
        profile: IldProfile = pop.ild_profiles[profile_name]
        myopathy_draw = rng.random() < pop.enzymes_from_myopathy
        candidate = Candidate(
            candidate_id=self._next_id,
            site=site,
            age=age,
            female=bool(female),
            childbearing_potential=childbearing,
            pregnant=pregnant,
            breastfeeding=breastfeeding,
            agrees_to_contraception=agrees,
            ctd_type=ctd,
            ild_profile=profile_name,
            treatment_months=profile.treatment_months.sample(rng),
            on_potent_immunosuppressant=bool(rng.random() < profile.on_potent_immunosuppressant),
            steroid_mg_per_kg_day=profile.steroid_mg_per_kg_day.sample(rng),
            fvc_decline_pct=profile.fvc_decline_pct.sample(rng),
            dlco_decline_pct=profile.dlco_decline_pct.sample(rng),
            ct_enlarging=bool(rng.random() < profile.ct_enlarging),
            symptom_onset_days=profile.symptom_onset_days.sample(rng),
            worsening_dyspnoea_and_hypoxaemia=bool(rng.random() < profile.worsening_dyspnoea_and_hypoxaemia),
            improving_under_treatment=bool(rng.random() < profile.improving_under_treatment),
            family_support=bool(rng.random() < pop.family_support),
            consents=bool(rng.random() < pop.consents),
            got_u_per_l=pop.got_u_per_l.sample(rng),
            gpt_u_per_l=pop.gpt_u_per_l.sample(rng),
            enzymes_from_myopathy=bool(myopathy_draw and ctd in ("dermatomyositis", "polymyositis")),
            creatinine_mg_dl=pop.creatinine_mg_dl.sample(rng),
            immune_deficiency_or_notifiable_infection=bool(
                rng.random() < pop.immune_deficiency_or_notifiable_infection
            ),
            body_weight_kg=pop.body_weight_kg.sample(rng),
        )
        self._next_id += 1
        return candidate
