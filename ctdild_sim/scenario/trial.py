"""The scenario: every parameter of one simulated trial, validated.

A scenario file is the single source of truth. The listing of NCT06574581 fixes the design
(cohorts, dose, hold, eligibility thresholds); everything it leaves open is a named field here
with a description, and the shipped YAML files say why each default was chosen. Models are
strict (unknown keys are errors) and cross-field rules live in validators that name the field
and the bad value, so ``ctdild-sim validate`` can say exactly what is wrong.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Annotated, Literal

from pydantic import (
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ctdild_sim.scenario.base import PROBABILITY_CHECKS, Label, Probability, StrictModel, check_probability
from ctdild_sim.scenario.distributions import MAX_DAYS, Days, ranged
from ctdild_sim.scenario.eligibility import Eligibility
from ctdild_sim.scenario.product import MAX_VIALS_PER_DOSE, Product, StockPolicy

CTD_TYPES = (
    "dermatomyositis",
    "polymyositis",
    "systemic_sclerosis",
    "sle",
    "rheumatoid_arthritis",
    "sjogren",
    "uctd",
    "mctd",
)
"""CTD diagnoses a referred candidate may carry; the listing admits the first six only."""

# Plausible ranges. Every field is checked against one at validation: wide enough for any what-if
# a planner makes, narrow enough that no value can overflow a draw, exhaust memory or make a
# replicate run for hours.
MAX_HORIZON_DAYS = 36525.0
"""Longest simulated horizon, follow-up visit day and symptom history: 100 years."""
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
MAX_SITES = 1000
"""Most recruiting sites, counting each entry's ``count``."""


def _parse_ae_probability(value: object) -> float | list[list[float]]:
    """One probability for every infusion, or one list per cohort of per-infusion probabilities."""
    shape_hint = "one probability, or one list per cohort of per-infusion probabilities like [[0.02], [0.02, 0.03]]"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return check_probability(float(value), "probability")
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ValueError(f"must be {shape_hint} (got {value!r})")
    parsed = []
    for i, row in enumerate(value):
        if not all(isinstance(p, int | float) and not isinstance(p, bool) for p in row):
            raise ValueError(f"must be {shape_hint} (got {value!r})")
        parsed.append([check_probability(float(p), f"[{i}][{j}]") for j, p in enumerate(row)])
    return parsed


AeProbability = Annotated[
    float | list[list[float]],
    PlainValidator(_parse_ae_probability),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}},
                },
            ]
        }
    ),
]
"""An AE probability per infusion: one number, or a list per cohort with one per infusion number."""
PROBABILITY_CHECKS.add(_parse_ae_probability)


def _sums_to_one(weights: dict[str, float], what: str) -> None:
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1 (they sum to {total:.6g})")


class Site(StrictModel):
    """A recruiting site (or a group of identical sites)."""

    name: Label = Field(description="Site label used in the event table.")
    count: int = Field(default=1, ge=1, le=MAX_SITES, description="Number of identical sites this entry stands for.")
    activation_days: Days = Field(
        description="Days from study start until the site can refer candidates (contracts, IRB, training)."
    )
    referral_rate_per_month: float = Field(
        gt=0, le=1000, description="Mean rate of referred candidates per site per month (30.4375 days)."
    )
    referral_rate_cv: float = Field(
        ge=0,
        le=10,
        description=(
            "Coefficient of variation of the site's rate across replicates: each replicate draws the "
            "rate from a Gamma with this CV (Poisson-Gamma); 0 gives a known, constant rate."
        ),
    )
    referral_process: Literal["poisson", "regular"] = Field(
        default="poisson",
        description=(
            "How referrals arrive: 'poisson' (random, memoryless) or 'regular' (exactly every "
            "1/rate days, for planning what-ifs and hand-checkable runs)."
        ),
    )
    never_enrols_probability: Probability = Field(
        default=0.0, description="Probability that the site, once activated, refers nobody at all."
    )


class ReferralTrend(StrictModel):
    """A trial-wide factor on every site's referral rate that changes over time (sites ramping up,
    referral networks tiring, a pause): piecewise constant from the study's start, the last
    factor holding from its start on. A forecast that learns a drifting enrolment model sets it."""

    start_months: list[float] = Field(
        min_length=1,
        max_length=2000,
        description="Months from the study's start at which each factor begins: 0 first, then increasing.",
    )
    factors: list[float] = Field(
        min_length=1,
        max_length=2000,
        description="The factor on every site's referral rate from each start (0: no referrals then).",
    )

    @model_validator(mode="after")
    def _pieces(self) -> ReferralTrend:
        starts, factors = self.start_months, self.factors
        if len(starts) != len(factors):
            raise ValueError(f"start_months has {len(starts)} entries and factors {len(factors)}: one factor a start")
        if starts[0] != 0 or any(b <= a for a, b in itertools.pairwise(starts)) or starts[-1] > MAX_HORIZON_DAYS / 30:
            raise ValueError(f"start_months must start at 0 and increase, within 100 years (got {starts[:6]})")
        if any(not 0 <= f <= 100 or math.isnan(f) for f in factors):
            raise ValueError(f"factors must be between 0 and 100 (got {[f for f in factors if not 0 <= f <= 100][:3]})")
        return self


class IldProfile(StrictModel):
    """How candidates with one clinical ILD picture look on the facts the ILD inclusion rule reads."""

    weight: Probability = Field(description="Share of referred candidates with this profile.")
    treatment_months: ranged(0, 1200, "months") = Field(
        description="Months on steroids + immunosuppressants before referral."
    )
    on_potent_immunosuppressant: Probability = Field(
        description="Probability the candidate is on a potent immunosuppressant as well as steroids."
    )
    steroid_mg_per_kg_day: ranged(0, 100, "mg/kg/day") = Field(description="Current steroid dose in mg/kg/day.")
    fvc_decline_pct: ranged(-100, 100, "percent", non_negative=False) = Field(
        description="FVC decline from baseline, percent."
    )
    dlco_decline_pct: ranged(-100, 100, "percent", non_negative=False) = Field(
        description="DLCO decline from baseline, percent."
    )
    ct_enlarging: Probability = Field(description="Probability that CT shows enlarging lesions.")
    symptom_onset_days: ranged(0, MAX_HORIZON_DAYS, "days") = Field(
        description="Days since onset of pulmonary symptoms."
    )
    worsening_dyspnoea_and_hypoxaemia: Probability = Field(
        description="Probability of gradually worsening dyspnoea with falling blood oxygen."
    )
    improving_under_treatment: Probability = Field(
        description="Probability that lung function or CT improved under treatment (exclusion 2)."
    )
    death_hazard_per_year: float = Field(
        ge=0, le=100, description="Constant hazard of death after enrolment, per year, for this profile."
    )


class Population(StrictModel):
    """Who gets referred: the prevalences from which every candidate record is drawn."""

    age_years: ranged(0, 120, "years") = Field(description="Age at referral, years.")
    female: Probability = Field(description="Probability the candidate is female.")
    childbearing_potential: Probability = Field(
        description="Probability a woman younger than menopause_age can become pregnant."
    )
    menopause_age: float = Field(
        gt=0, le=120, description="Age from which women are taken as not of childbearing potential."
    )
    pregnant: Probability = Field(description="Probability a woman of childbearing potential is pregnant.")
    breastfeeding: Probability = Field(description="Probability a woman of childbearing potential is breastfeeding.")
    agrees_to_contraception: Probability = Field(
        description="Probability a person of childbearing potential agrees to effective contraception."
    )
    ctd_type: dict[Literal[CTD_TYPES], Probability] = Field(  # type: ignore[valid-type]
        description="Share of each CTD diagnosis among referred candidates; must sum to 1."
    )
    ild_profiles: dict[Label, IldProfile] = Field(
        min_length=1,
        max_length=50,
        description=(
            "Clinical ILD pictures among referred candidates, by any name (e.g. fibrotic_progressive, "
            "rapidly_progressive); their weights must sum to 1."
        ),
    )
    family_support: Probability = Field(
        description="Probability the PI and social worker confirm a family support system."
    )
    consents: Probability = Field(description="Probability the candidate signs the informed consent.")
    got_u_per_l: ranged(0, 100_000, "U/L") = Field(description="Serum GOT (AST), U/L.")
    gpt_u_per_l: ranged(0, 100_000, "U/L") = Field(description="Serum GPT (ALT), U/L.")
    enzymes_from_myopathy: Probability = Field(
        description=(
            "Probability that raised GOT/GPT in a dermato-/polymyositis patient is attributed to the "
            "myopathy (the listing's exception to exclusion 4)."
        )
    )
    creatinine_mg_dl: ranged(0, 100, "mg/dL") = Field(description="Serum creatinine, mg/dL.")
    immune_deficiency_or_notifiable_infection: Probability = Field(
        description="Probability of HIV/AIDS or a notifiable infectious disease (exclusion 5)."
    )
    body_weight_kg: ranged(0, 500, "kg") = Field(description="Body weight, kg (the dose is per kg).")

    @field_validator("ctd_type")
    @classmethod
    def _ctd_shares(cls, v: dict[str, float]) -> dict[str, float]:
        _sums_to_one(v, "CTD type shares")
        return v

    @field_validator("ild_profiles")
    @classmethod
    def _profile_weights(cls, v: dict[str, IldProfile]) -> dict[str, IldProfile]:
        _sums_to_one({k: p.weight for k, p in v.items()}, "ILD profile weights")
        return v


class Screening(StrictModel):
    """Pre-treatment evaluation: how long it takes and how long a passed screen stays valid."""

    duration_days: Days = Field(
        description="Days from referral to the screening decision, social-worker interview included."
    )
    window_days: float = Field(
        gt=0,
        le=MAX_DAYS,
        description=(
            "Days a passed screen stays valid while waiting for a slot; the end is inclusive (a slot "
            "that opens at that very moment can still take the candidate)."
        ),
    )
    on_expiry: Literal["rescreen", "lost"] = Field(
        description="What happens to a candidate whose passed screen expires before enrolment."
    )
    max_rescreens: int = Field(ge=0, le=100, description="Rescreens allowed per candidate before they are lost.")
    pass_probability: Probability | None = Field(
        default=None,
        description=(
            "Share of screened candidates who pass, for a trial screened by a pass probability instead of "
            "this trial's criteria model. Without a population, a candidate passes with this chance and a "
            "failure names no modelled criterion; with one, candidates are drawn from it conditioned on "
            "passing or failing at this share. Empty: the criteria decide (the population's share)."
        ),
    )


class Cohort(StrictModel):
    """One dose cohort of the sequential design."""

    name: Label = Field(description="Cohort label.")
    size: int = Field(ge=1, le=10_000, description="Number of evaluable subjects the cohort needs.")
    infusions: int = Field(ge=1, le=100, description="Infusions each subject receives.")
    dose_cells_per_kg: float | None = Field(
        default=None,
        gt=0,
        le=1e10,
        description="Cells per kg body weight per infusion; required with a cell product, empty for another treatment.",
    )


class Dosing(StrictModel):
    """Admission and infusion logistics."""

    enrolment_to_first_infusion_days: Days = Field(
        description="Days from enrolment to the first admission for infusion."
    )
    repeat_interval_days: Days = Field(
        description="Days between consecutive infusions of one subject (cohorts with 2+ infusions)."
    )
    stagger_days: float = Field(
        ge=0,
        le=MAX_DAYS,
        description=(
            "Sentinel dosing: minimum days between the first infusions of consecutive subjects in "
            "a cohort; 0 doses subjects as soon as they are ready."
        ),
    )
    beds: int = Field(ge=1, le=10_000, description="Inpatient beds available for infusion admissions at once.")
    length_of_stay_days: Days = Field(description="Days in hospital for one infusion admission.")


class AdverseEventType(StrictModel):
    """A kind of adverse event that can follow an infusion."""

    name: Label = Field(description="Label, e.g. transient_fever or serious_related.")
    serious: bool = Field(
        default=False,
        description=(
            "Whether this kind is a serious AE (SDTM AESER = Y): an imported AE whose term names no kind "
            "takes the one kind of its seriousness."
        ),
    )
    probability: AeProbability = Field(
        description=(
            "Probability per infusion: one number for every infusion, or one list per cohort with "
            "one probability per infusion number."
        )
    )
    triggers_review: bool = Field(
        description=("Whether this AE stops escalation: it pauses the trial for a safety review and blocks the gate.")
    )
    onset_days: Days = Field(description="Days from infusion to the AE being observed.")

    def probability_for(self, cohort_index: int, infusion_index: int) -> float:
        """Probability at a given cohort (0-based) and infusion number (0-based)."""
        if isinstance(self.probability, list):
            return self.probability[cohort_index][infusion_index]
        return float(self.probability)


class ReviewOutcomes(StrictModel):
    """Probabilities of the safety review's decision after a triggering AE."""

    resume: Probability = Field(description="The AE is judged acceptable; dosing and enrolment resume.")
    repeat_cohort: Probability = Field(
        description="The dose level is repeated: the cohort takes another `size` subjects."
    )
    stop: Probability = Field(description="The trial is stopped.")

    @model_validator(mode="after")
    def _sum(self) -> ReviewOutcomes:
        _sums_to_one(
            {"resume": self.resume, "repeat_cohort": self.repeat_cohort, "stop": self.stop},
            "review outcome probabilities (resume + repeat_cohort + stop)",
        )
        return self


class Safety(StrictModel):
    """The cohort gate, adverse events and the pause they trigger."""

    hold_days: float = Field(
        ge=0,
        le=MAX_DAYS,
        description=(
            "Days every subject of a cohort is observed after their last infusion before the next "
            "cohort may open (the listing's 4 weeks)."
        ),
    )
    adverse_events: list[AdverseEventType] = Field(max_length=50, description="AE kinds drawn after each infusion.")
    death_triggers_review: bool = Field(
        description="Whether a death on study counts as a triggering serious AE (pause and review)."
    )
    review_days: Days = Field(description="Days the safety review (DSMB / PI and IRB) takes.")
    review_outcomes: ReviewOutcomes = Field(description="What the review decides.")
    max_cohort_repeats: int = Field(
        ge=0, le=100, description="Times one cohort may be repeated; a further repeat decision stops the trial."
    )


class Retention(StrictModel):
    """Leaving the study early, and whether such subjects are replaced."""

    withdrawal_hazard_per_year: float = Field(
        ge=0, le=100, description="Constant hazard of withdrawal after enrolment, per year."
    )
    death_hazard_per_year: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description=(
            "Constant hazard of death after enrolment, per year, for every subject; empty: each ILD "
            "profile's own hazard (the population's). Required without a population."
        ),
    )
    replace_non_evaluable: bool = Field(
        description=(
            "Whether a subject who withdraws or dies before completing infusions and the hold is "
            "replaced by a new subject in the same cohort."
        )
    )


class FollowUp(StrictModel):
    """Post-infusion visit schedule; the last visit of the last subject is LPLV."""

    visit_days: list[float] = Field(
        min_length=1,
        max_length=100,
        description="Days after the subject's last infusion of each follow-up visit, increasing.",
    )
    last_visit_delay_days: ranged(-365, 365, "days", non_negative=False) | None = Field(  # type: ignore[valid-type]
        default=None,
        description=(
            "Days a subject's last visit comes after its planned day (its visit window; negative: early), "
            "drawn per subject; empty: on its day. Never before the visit before it."
        ),
    )

    @field_validator("visit_days")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(not 0 <= d <= MAX_HORIZON_DAYS for d in v):
            raise ValueError(f"visit days must be between 0 and {MAX_HORIZON_DAYS:g} (got {v})")
        if any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError(f"visit days must be strictly increasing (got {v})")
        return v


class Learning(StrictModel):
    """How much each planning guess is worth when a forecast learns from a trial's records: its
    prior strength, in observations of the kind the records hold. A referral rate's strength is
    its own ``referral_rate_cv`` (a Gamma prior of shape 1/CV^2 is worth 1/CV^2 referrals)."""

    eligibility_screenings: float = Field(
        default=20,
        gt=0,
        le=10_000,
        description=(
            "Screenings the planned share of candidates who pass screening is worth (the population model's "
            "share). 20: the base population's share comes from a handful of small cohort studies, about as "
            "informative as the first year of screening."
        ),
    )
    duration_observations: float = Field(
        default=5,
        gt=0,
        le=10_000,
        description=(
            "Observed durations each planned duration is worth (screening, enrolment to first infusion, stay, "
            "safety review, site activation, campaign lead time, QC release). 5: most are marked WEAK guesses."
        ),
    )
    probability_observations: float = Field(
        default=20,
        gt=0,
        le=10_000,
        description=(
            "Trials each planned probability per event is worth (an AE kind per infusion, a lot failing QC). "
            "20: the AE rates come from meta-analyses of other cell products, the failure rate from one bank."
        ),
    )
    review_outcome_observations: float = Field(
        default=5,
        gt=0,
        le=10_000,
        description="Reviews the planned review outcome probabilities are worth (5: a WEAK guess).",
    )
    hazard_events: float = Field(
        default=2,
        gt=0,
        le=10_000,
        description=(
            "Events the planned death and withdrawal hazards are worth. 2: the death hazards come from other "
            "ILD cohorts, the withdrawal hazard is a WEAK guess."
        ),
    )
    yield_observations: float = Field(
        default=5,
        gt=0,
        le=10_000,
        description="Lots the planned lot yield is worth (5: one academic bank's figures).",
    )
    enrolment_model: Literal["auto", "homogeneous", "piecewise", "ramp_decay"] = Field(
        default="auto",
        description=(
            "How a forecast models referral rates over time: homogeneous (each site's rate constant), piecewise "
            "(a trial-wide factor per piece of piece_months, the recent one carried forward), ramp_decay "
            "(a trial-wide ramp-up to a plateau times an exponential decline, eventPred's time-decay form with "
            "a decline), or auto: the one whose forecast of the last holdout_months of the records, made from "
            "the months before, scores best (a drifting one only if it beats homogeneous by more than "
            "drift_evidence in log score). docs/learning.md says how."
        ),
    )
    piece_months: float = Field(
        default=6,
        ge=1,
        le=60,
        description="The piecewise model's pieces: this many months each, counted back from the as-of date.",
    )
    holdout_months: float = Field(
        default=6,
        ge=1,
        le=60,
        description=(
            "Months at the end of the records each enrolment model forecasts from the months before, when the "
            "model is chosen (at most a third of the records' referral history)."
        ),
    )
    drift_evidence: float = Field(
        default=2.0,
        ge=0,
        le=100,
        description=(
            "How much better (in log predictive score over the holdout) a drifting model must forecast than the "
            "homogeneous one to be chosen: 2, a predictive density about 7 times as high."
        ),
    )


class Scenario(StrictModel):
    """One trial scenario: design from the listing plus every assumption it leaves open."""

    name: Label = Field(description="Short scenario name shown in reports.")
    description: str = Field(default="", max_length=4000, description="What this scenario represents.")
    start_date: dt.date = Field(
        ge=EARLIEST_DATE, le=LATEST_DATE, description="Study start date; day 0 of the simulation."
    )
    registered_completion_date: dt.date | None = Field(
        default=None, le=LATEST_DATE, description="Registered completion date to test the timeline against."
    )
    horizon_days: float = Field(
        default=3652.5,
        gt=0,
        le=MAX_HORIZON_DAYS,
        description="Days after which a replicate is cut off if the trial has not ended.",
    )
    sites: list[Site] = Field(min_length=1, max_length=MAX_SITES, description="Recruiting sites.")
    referral_trend: ReferralTrend | None = Field(
        default=None,
        description=(
            "A factor on every site's referral rate that changes over time (a ramp-up, a decline, a pause); "
            "empty: each site's rate is the same throughout."
        ),
    )
    population: Population | None = Field(
        default=None,
        description=(
            "Who is referred: the facts this trial's criteria read, body weight and death hazards. May be "
            "left out of a trial screened by a pass probability (screening.pass_probability) with no cell "
            "product (the dose is per kg)."
        ),
    )
    screening: Screening = Field(description="Screening logistics.")
    cohorts: list[Cohort] = Field(min_length=1, max_length=50, description="Dose cohorts, in the order they open.")
    dosing: Dosing = Field(description="Admission and infusion logistics.")
    safety: Safety = Field(description="Cohort gate, AEs and safety pauses.")
    retention: Retention = Field(description="Withdrawal and replacement.")
    follow_up: FollowUp = Field(description="Follow-up visits.")
    product: Product | None = Field(
        default=None,
        description="The cell product and its supply; without it the product is never limiting.",
    )
    eligibility: Eligibility = Field(
        default_factory=Eligibility,
        description="The listing's eligibility thresholds (defaults: the listing's); change one for a what-if.",
    )
    learning: Learning = Field(
        default_factory=Learning,
        description="Prior strengths of the planning guesses, for forecasts that learn from a trial's records.",
    )
    ranges: dict[str, list[float] | dict[str, list[float]]] | None = Field(
        default=None,
        max_length=500,
        description=(
            "Low and high values of assumptions for ctdild-sim sensitivity: a field path and [low, high], "
            "or {scale: [low factor, high factor]} (a distribution is scaled whole)."
        ),
    )

    @field_validator("registered_completion_date")
    @classmethod
    def _after_start(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start_date")
        if v is not None and start is not None and v <= start:
            raise ValueError(f"{v} is not after start_date {start}")
        return v

    @field_validator("sites")
    @classmethod
    def _site_count(cls, v: list[Site]) -> list[Site]:
        total = sum(s.count for s in v)
        if total > MAX_SITES:
            raise ValueError(f"{total} sites in all (counting each entry's count); at most {MAX_SITES}")
        return v

    @field_validator("cohorts")
    @classmethod
    def _unique_names(cls, v: list[Cohort]) -> list[Cohort]:
        names = [c.name for c in v]
        if len(set(names)) != len(names):
            raise ValueError(f"cohort names must be unique (got {names})")
        return v

    @field_validator("safety")
    @classmethod
    def _ae_shape_matches_cohorts(cls, v: Safety, info: ValidationInfo) -> Safety:
        cohorts = info.data.get("cohorts")
        if not cohorts:
            return v
        shape = [c.infusions for c in cohorts]
        for i, ae in enumerate(v.adverse_events):
            if isinstance(ae.probability, list):
                got = [len(row) for row in ae.probability]
                if got != shape:
                    raise ValueError(
                        f"adverse_events[{i}].probability needs one list per cohort with one "
                        f"probability per infusion, shaped {shape} like the cohorts; got {got}"
                    )
        return v

    @field_validator("product")
    @classmethod
    def _doses_fit_vials(cls, v: Product | None, info: ValidationInfo) -> Product | None:
        cohorts, population = info.data.get("cohorts"), info.data.get("population")
        if v is None or not cohorts or population is None:
            return v
        weight = population.body_weight_kg.mean
        for k, cohort in enumerate(cohorts):
            if cohort.dose_cells_per_kg is None:
                raise ValueError(f"cohorts[{k}].dose_cells_per_kg is needed with a cell product (the vials per dose)")
            vials = v.vials_per_dose(weight, cohort.dose_cells_per_kg)
            if vials > MAX_VIALS_PER_DOSE:
                raise ValueError(
                    f"cohorts[{k}] needs {vials:,} vials of vial_cells={v.vial_cells:.3g} per infusion at the mean "
                    f"body weight; at most {MAX_VIALS_PER_DOSE:,}"
                )
        return v

    @model_validator(mode="after")
    def _plain_design(self) -> Scenario:
        """A scenario without a population screens by a pass probability, gives every subject one
        death hazard and has no cell product (its doses are per kg of the population's weight)."""
        if self.population is not None:
            return self
        if self.screening.pass_probability is None:
            raise ValueError(
                "population: required unless screening.pass_probability is set (the criteria read the population)"
            )
        if self.retention.death_hazard_per_year is None:
            raise ValueError(
                "retention.death_hazard_per_year: required without a population (its ILD profiles give it otherwise)"
            )
        if self.product is not None:
            raise ValueError("product: needs a population (the dose is per kg of its body weight)")
        dosed = [k for k, c in enumerate(self.cohorts) if c.dose_cells_per_kg is not None]
        if dosed:
            raise ValueError(
                f"cohorts[{dosed[0]}].dose_cells_per_kg: a dose per kg needs a population (its body weight); "
                "leave it out of a trial without one"
            )
        return self

    @property
    def screened_by_criteria(self) -> bool:
        """Whether screening evaluates this trial's criteria on drawn candidates (not a pass probability alone)."""
        return self.population is not None

    def vials_per_dose(self, cohort: Cohort) -> int:
        """Vials one infusion of ``cohort`` takes at the population's mean body weight (a scenario
        with a product, whose validation says a population and every dose are there)."""
        assert self.product is not None and self.population is not None and cohort.dose_cells_per_kg is not None
        return self.product.vials_per_dose(self.population.body_weight_kg.mean, cohort.dose_cells_per_kg)

    @property
    def target_enrolment(self) -> int:
        """Evaluable subjects the design needs (10 for the listing)."""
        return sum(c.size for c in self.cohorts)

    @property
    def planned_infusions(self) -> int:
        """Infusions the design gives without replacements (20 for the listing)."""
        return sum(c.size * c.infusions for c in self.cohorts)

    def day_of(self, date: dt.date) -> float:
        """Simulation day of a calendar date."""
        return float((date - self.start_date).days)

    def site_entries(self) -> list[tuple[Site, str]]:
        """Each site entry and the name of each site it stands for (``S-1``, ``S-2`` for a count of 2)."""
        return [
            (site, site.name if site.count == 1 else f"{site.name}-{k + 1}")
            for site in self.sites
            for k in range(site.count)
        ]

    @property
    def site_names(self) -> list[str]:
        """Every site's name, as the engine, the records and the tables give it."""
        return [name for _, name in self.site_entries()]


def with_stock_policy(scenario: Scenario, policy: StockPolicy | None) -> Scenario:
    """The scenario with its product's stock policy replaced (one without a product as it is):
    what a lot plan varies, and the one part of a scenario a posterior's draws never read."""
    if scenario.product is None:
        return scenario
    return scenario.model_copy(update={"product": scenario.product.model_copy(update={"policy": policy})})


SUPPLY_DECISIONS = ("policy", "fill_vials")
"""The product's fields a lot plan decides (when lots start, how many vials each fills); no
posterior draw reads them."""


def with_supply_decisions(scenario: Scenario, decided: Scenario) -> Scenario:
    """``scenario`` with ``decided``'s stock policy and lot size (``SUPPLY_DECISIONS``)."""
    if scenario.product is None or decided.product is None:
        return scenario
    update = {name: getattr(decided.product, name) for name in SUPPLY_DECISIONS}
    if all(getattr(scenario.product, name) == value for name, value in update.items()):
        return scenario
    return scenario.model_copy(update={"product": scenario.product.model_copy(update=update)})


def with_lot_size(scenario: Scenario, fill_vials: int | None) -> Scenario:
    """The scenario with its product's lot size (vials a campaign fills) replaced."""
    if scenario.product is None:
        return scenario
    return scenario.model_copy(update={"product": scenario.product.model_copy(update={"fill_vials": fill_vials})})
