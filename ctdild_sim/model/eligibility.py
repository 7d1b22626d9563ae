"""The listing's inclusion and exclusion criteria as named rules.

Each rule answers one question of the NCT06574581 listing about one candidate, with the
listing's own thresholds. Screening evaluates every rule and records every one that fails, so
the screen-failure rate and its reasons come out of the criteria (and the population the scenario
describes), never out of a single failure probability. Thresholds are the protocol's, not
assumptions, so they are constants here rather than scenario fields.

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ctdild_sim.model.candidates import Candidate

MIN_AGE, MAX_AGE = 20.0, 80.0
ELIGIBLE_CTD = frozenset(
    {"dermatomyositis", "polymyositis", "systemic_sclerosis", "sle", "rheumatoid_arthritis", "sjogren"}
)
MYOPATHIES = frozenset({"dermatomyositis", "polymyositis"})
FIBROTIC_MIN_MONTHS = 24.0
FIBROTIC_FVC_DECLINE = 10.0
FIBROTIC_FVC_BAND = (5.0, 10.0)
FIBROTIC_DLCO_DECLINE = 15.0
RAPID_MIN_MONTHS = 3.0
RAPID_MIN_STEROID = 0.8
RAPID_FVC_DECLINE = 5.0
RAPID_DLCO_DECLINE = 10.0
WORSENING_ONSET_DAYS = 30.0
IMPROVEMENT_MIN_MONTHS = 6.0
ENZYME_LIMIT = 2 * 40.0
CREATININE_LIMIT = 1.4


def refractory_fibrotic(c: Candidate) -> bool:
    """> 24 months of steroids + potent immunosuppressants and continued deterioration."""
    low, high = FIBROTIC_FVC_BAND
    deteriorating = (
        c.fvc_decline_pct > FIBROTIC_FVC_DECLINE
        or (low <= c.fvc_decline_pct <= high and c.dlco_decline_pct > FIBROTIC_DLCO_DECLINE)
        or c.ct_enlarging
    )
    return c.on_potent_immunosuppressant and c.treatment_months > FIBROTIC_MIN_MONTHS and deteriorating


def rapidly_progressive(c: Candidate) -> bool:
    """High-dose steroids (> 0.8 mg/kg/day) + immunosuppressants for > 3 months and deterioration."""
    deteriorating = c.fvc_decline_pct > RAPID_FVC_DECLINE or c.dlco_decline_pct > RAPID_DLCO_DECLINE or c.ct_enlarging
    return (
        c.on_potent_immunosuppressant
        and c.steroid_mg_per_kg_day > RAPID_MIN_STEROID
        and c.treatment_months > RAPID_MIN_MONTHS
        and deteriorating
    )


def rapidly_worsening(c: Candidate) -> bool:
    """Pulmonary symptoms began within a month, with dyspnoea and falling oxygen, or enlarging lesions."""
    return c.symptom_onset_days <= WORSENING_ONSET_DAYS and (c.worsening_dyspnoea_and_hypoxaemia or c.ct_enlarging)


@dataclass(frozen=True)
class Criterion:
    """One rule of the listing; ``fails(candidate)`` is True when the candidate is screened out by it."""

    name: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    fails: Callable[[Candidate], bool]


CRITERIA: tuple[Criterion, ...] = (
    Criterion("I1_age", "inclusion", "Aged 20 to 80 years", lambda c: not (MIN_AGE <= c.age <= MAX_AGE)),
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
        lambda c: not (refractory_fibrotic(c) or rapidly_progressive(c) or rapidly_worsening(c)),
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
        "Lung function or CT improving after 6 months of steroids + immunosuppressants",
        lambda c: c.improving_under_treatment and c.treatment_months >= IMPROVEMENT_MIN_MONTHS,
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
        "GOT or GPT above 80 U/L, unless caused by inflammatory myopathy",
        lambda c: (
            (c.got_u_per_l > ENZYME_LIMIT or c.gpt_u_per_l > ENZYME_LIMIT)
            and not (c.enzymes_from_myopathy and c.ctd_type in MYOPATHIES)
        ),
    ),
    Criterion(
        "E4_kidney_function",
        "exclusion",
        "Serum creatinine above 1.4 mg/dL",
        lambda c: c.creatinine_mg_dl > CREATININE_LIMIT,
    ),
    Criterion(
        "E5_immune_deficiency_or_infection",
        "exclusion",
        "Immune deficiency (HIV/AIDS) or a notifiable infectious disease",
        lambda c: c.immune_deficiency_or_notifiable_infection,
    ),
)
"""Every rule, in the listing's order."""

CRITERION_NAMES: tuple[str, ...] = tuple(c.name for c in CRITERIA)


def failed_criteria(candidate: Candidate) -> tuple[str, ...]:
    """Names of every criterion the candidate fails; empty when eligible."""
    return tuple(rule.name for rule in CRITERIA if rule.fails(candidate))
