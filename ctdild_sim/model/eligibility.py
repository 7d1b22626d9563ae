"""The listing's inclusion and exclusion criteria as named rules.

Each rule answers one question of the NCT06574581 listing about one candidate, with the
listing's own thresholds. Screening evaluates every rule and records every one that fails, so
the screen-failure rate and its reasons come out of the criteria (and the population the scenario
describes), never out of a single failure probability. The thresholds are the scenario's
``eligibility`` section (``ctdild_sim.scenario.eligibility``), whose defaults are the listing's, so
a protocol amendment is a scenario; the rules and their wording below are the listing's.

Readings of the listing's wording (documented, tested at the boundaries):
- "between 20 and 80 years" includes 20 and 80.
- "more than 24 months", "above 0.8 mg/kg/day", "more than 3 months", "more than 10%/5%/15%/10%"
  are strict; "an FVC decline of 5-10%" includes both 5 and 10.
- "onset of pulmonary symptoms within one month" is 30 days or fewer, and must come with worsening
  dyspnoea and falling oxygen, or with enlarging lesions on CT.
- Liver: GOT *or* GPT above 2 x 40 = 80 U/L excludes, unless the rise is attributed to
  inflammatory myopathy. Kidney: creatinine above 1.4 mg/dL excludes.
- Exclusion 2's age clause repeats inclusion 1, so it is evaluated once, as inclusion 1 (age);
  exclusion 2 here is the improvement after 6 months or more of treatment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ctdild_sim.model.candidates import Candidate
from ctdild_sim.scenario.eligibility import Eligibility
from ctdild_sim.scenario.trial import Scenario

ELIGIBLE_CTD = frozenset(
    {"dermatomyositis", "polymyositis", "systemic_sclerosis", "sle", "rheumatoid_arthritis", "sjogren"}
)
MYOPATHIES = frozenset({"dermatomyositis", "polymyositis"})
LISTING = Eligibility()
"""The listing's thresholds (a scenario's ``eligibility`` section may change them)."""


def pathways(rules: Eligibility) -> tuple[Callable[[Candidate], bool], ...]:
    """The three ILD pathways of inclusion 2 under ``rules``' thresholds."""
    fib_months, fib_fvc, fib_dlco = (
        rules.fibrotic_min_treatment_months,
        rules.fibrotic_fvc_decline_pct,
        rules.fibrotic_dlco_decline_pct,
    )
    low, high = rules.fibrotic_fvc_band_low_pct, rules.fibrotic_fvc_band_high_pct
    rapid_months, rapid_steroid = rules.rapid_min_treatment_months, rules.rapid_min_steroid_mg_per_kg_day
    rapid_fvc, rapid_dlco, onset = rules.rapid_fvc_decline_pct, rules.rapid_dlco_decline_pct, rules.worsening_onset_days

    def refractory_fibrotic(c: Candidate) -> bool:
        """> 24 months of steroids + potent immunosuppressants and continued deterioration."""
        deteriorating = (
            c.fvc_decline_pct > fib_fvc
            or (low <= c.fvc_decline_pct <= high and c.dlco_decline_pct > fib_dlco)
            or c.ct_enlarging
        )
        return c.on_potent_immunosuppressant and c.treatment_months > fib_months and deteriorating

    def rapidly_progressive(c: Candidate) -> bool:
        """High-dose steroids (> 0.8 mg/kg/day) + immunosuppressants for > 3 months and deterioration."""
        deteriorating = c.fvc_decline_pct > rapid_fvc or c.dlco_decline_pct > rapid_dlco or c.ct_enlarging
        return (
            c.on_potent_immunosuppressant
            and c.steroid_mg_per_kg_day > rapid_steroid
            and c.treatment_months > rapid_months
            and deteriorating
        )

    def rapidly_worsening(c: Candidate) -> bool:
        """Pulmonary symptoms began within a month, with dyspnoea and falling oxygen, or enlarging lesions."""
        return c.symptom_onset_days <= onset and (c.worsening_dyspnoea_and_hypoxaemia or c.ct_enlarging)

    return refractory_fibrotic, rapidly_progressive, rapidly_worsening


refractory_fibrotic, rapidly_progressive, rapidly_worsening = pathways(LISTING)


@dataclass(frozen=True)
class Criterion:
    """One rule of the listing; ``fails(candidate)`` is True when the candidate is screened out by it."""

    name: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    fails: Callable[[Candidate], bool]


@functools.lru_cache(maxsize=64)
def criteria(rules: Eligibility = LISTING) -> tuple[Criterion, ...]:
    """Every rule, in the listing's order, with ``rules``' thresholds."""
    min_age, max_age = rules.min_age_years, rules.max_age_years
    fibrotic, rapid, worsening = pathways(rules)
    improvement, enzymes, creatinine = (
        rules.improvement_min_treatment_months,
        rules.enzyme_limit_u_per_l,
        rules.creatinine_limit_mg_dl,
    )
    return (
        Criterion(
            "I1_age", "inclusion", f"Aged {min_age:g} to {max_age:g} years", lambda c: not (min_age <= c.age <= max_age)
        ),
        Criterion(
            "I1_ctd_diagnosis",
            "inclusion",
            "Dermatomyositis, polymyositis, scleroderma, SLE, rheumatoid arthritis or Sjogren's syndrome",
            lambda c: c.ctd_type not in ELIGIBLE_CTD,
        ),
        Criterion(
            "I2_ild_pathway",
            "inclusion",
            "Refractory/progressive fibrotic, rapidly progressive or rapidly worsening ILD",
            lambda c: not (fibrotic(c) or rapid(c) or worsening(c)),
        ),
        Criterion(
            "I3_family_support",
            "inclusion",
            "Family support confirmed by the PI and a social worker",
            lambda c: not c.family_support,
        ),
        Criterion(
            "I4_pregnancy_test",
            "inclusion",
            "Negative high-sensitivity urine pregnancy test",
            lambda c: c.pregnant,
        ),
        Criterion(
            "I5_contraception",
            "inclusion",
            "Agrees to effective contraception during the trial",
            lambda c: c.childbearing_potential and not c.agrees_to_contraception,
        ),
        Criterion("E1_no_consent", "exclusion", "Unwilling to sign informed consent", lambda c: not c.consents),
        Criterion(
            "E2_improving_on_treatment",
            "exclusion",
            f"Lung function or CT improving after {improvement:g} months of steroids + immunosuppressants",
            lambda c: c.improving_under_treatment and c.treatment_months >= improvement,
        ),
        Criterion(
            "E3_pregnancy_or_no_contraception",
            "exclusion",
            "Pregnant or breastfeeding, or of childbearing potential without contraception",
            lambda c: c.pregnant or c.breastfeeding or (c.childbearing_potential and not c.agrees_to_contraception),
        ),
        Criterion(
            "E4_liver_function",
            "exclusion",
            f"GOT or GPT above {enzymes:g} U/L, unless caused by inflammatory myopathy",
            lambda c: (
                (c.got_u_per_l > enzymes or c.gpt_u_per_l > enzymes)
                and not (c.enzymes_from_myopathy and c.ctd_type in MYOPATHIES)
            ),
        ),
        Criterion(
            "E4_kidney_function",
            "exclusion",
            f"Serum creatinine above {creatinine:g} mg/dL",
            lambda c: c.creatinine_mg_dl > creatinine,
        ),
        Criterion(
            "E5_immune_deficiency_or_infection",
            "exclusion",
            "Immune deficiency (HIV/AIDS) or a notifiable infectious disease",
            lambda c: c.immune_deficiency_or_notifiable_infection,
        ),
    )


CRITERIA: tuple[Criterion, ...] = criteria(LISTING)
"""Every rule with the listing's thresholds, in the listing's order."""

CRITERION_NAMES: tuple[str, ...] = tuple(c.name for c in CRITERIA)


@functools.lru_cache(maxsize=64)
def failed_criteria_for(rules: Eligibility) -> Callable[[Candidate], tuple[str, ...]]:
    """The screening rule under ``rules``: a candidate's failed criteria (empty when eligible)."""
    rules_list = criteria(rules)
    return lambda candidate: tuple(rule.name for rule in rules_list if rule.fails(candidate))


@functools.lru_cache(maxsize=64)
def passes_for(rules: Eligibility) -> Callable[[Candidate], bool]:
    """Whether a candidate passes every criterion under ``rules``, stopping at the first it fails:
    for drawing records conditioned on the outcome, where the failed criteria's names are not read."""
    rules_list = criteria(rules)
    return lambda candidate: not any(rule.fails(candidate) for rule in rules_list)


NOT_ELIGIBLE = "not_eligible"
"""What a failed screening of a trial screened by a pass probability alone fails: no modelled criterion."""


def _plain_failed(candidate: Candidate) -> tuple[str, ...]:
    return () if candidate.eligible else (NOT_ELIGIBLE,)


def _plain_passes(candidate: Candidate) -> bool:
    return candidate.eligible


def screening_rule(
    scenario: Scenario,
) -> tuple[Callable[[Candidate], tuple[str, ...]], Callable[[Candidate], bool]]:
    """A scenario's screening: a candidate's failed criteria, and the verdict alone. The criteria
    under its thresholds; a pass probability's drawn verdict for a trial without a population."""
    if scenario.screened_by_criteria:
        return failed_criteria_for(scenario.eligibility), passes_for(scenario.eligibility)
    return _plain_failed, _plain_passes


failed_criteria = failed_criteria_for(LISTING)
"""Names of every criterion the candidate fails under the listing's thresholds; empty when eligible."""
