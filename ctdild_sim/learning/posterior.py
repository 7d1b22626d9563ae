"""The scenario's assumptions as beliefs, updated by a trial's records, and drawn per replicate.

``learn`` turns every assumption the records speak to into a belief: its prior from the scenario
value and the ``learning`` section's prior strength, updated by the evidence (``evidence``). With
no records it gives the prior. ``Posterior.draw`` makes one replicate's scenario: each belief
drawn from its own generator, so the uncertainty about the parameters widens the forecast's
intervals as it should (a forecast that treats guessed rates as known is too sure of itself).

What is learned, and how (docs/learning.md says why):

- each site's referral rate (Gamma prior of shape 1/CV^2 from ``referral_rate_cv``; referrals over
  its active months, closed spells excluded); a site that has referred nobody yet may be one that
  never enrols, with the posterior chance of that;
- the share of candidates who pass screening (Beta; each candidate's first screening). A
  replicate draws candidates from the population conditioned on passing or failing as that share
  says, so failures keep the population model's mix of criteria; the per-criterion counts are
  shown against the model's shares, not used;
- the scale of each duration (screening, enrolment to first infusion, stay, safety review, each
  site entry's activation, campaign lead time, QC release) and of the lot yield: a grid posterior
  with interval- and right-censored observations. A ``fixed`` duration is not learned;
- each AE kind's probability per infusion (Beta, infusions counted by the chance their AE would
  have been seen by now; per-cohort lists are not learned), the review outcomes (Dirichlet), a
  lot's chance of failing QC (Beta);
- the withdrawal hazard (Gamma) and a factor on every ILD profile's death hazard (Gamma, the
  exposure weighted by the hazard of a candidate who passes screening).
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel

from ctdild_sim.learning.beliefs import BetaBelief, DirichletBelief, GammaBelief, ScaleBelief, log_spread
from ctdild_sim.learning.enrolment import Choice, Referrals, choose
from ctdild_sim.learning.evidence import Durations, Evidence, gather
from ctdild_sim.model.candidates import CandidateFactory
from ctdild_sim.model.eligibility import LISTING, failed_criteria_for
from ctdild_sim.model.referrals import DAYS_PER_MONTH, DRAWN
from ctdild_sim.model.trace import Observed, Trace
from ctdild_sim.scenario.distributions import Fixed
from ctdild_sim.scenario.eligibility import Eligibility
from ctdild_sim.scenario.notation import fmt_cells, fmt_name, fmt_quantity, fmt_share
from ctdild_sim.scenario.trial import Population, ReferralTrend, ReviewOutcomes, Scenario

POPULATION_SAMPLE = 20_000
"""Candidates drawn (with a fixed seed) to measure what the population model implies."""

DURATIONS = {
    "screening.duration_days": "Screening duration",
    "dosing.enrolment_to_first_infusion_days": "Enrolment to first infusion",
    "dosing.length_of_stay_days": "Length of stay",
    "safety.review_days": "Safety review",
    "product.lots.lead_time_days": "Campaign lead time",
    "product.lots.qc_release_days": "QC release",
}


@dataclass(frozen=True)
class Assumption:
    """One learned assumption: what was planned, the prior and posterior (mean and 90% interval),
    the data that moved it, and ``target``: how a replicate draws it and where it goes in the
    scenario (plain data, so a posterior can be sent to worker processes)."""

    key: str
    label: str
    unit: str
    planned: str
    prior: tuple[float, float, float]
    posterior: tuple[float, float, float]
    data: str
    target: Target = field(repr=False)


@dataclass(frozen=True)
class Target:
    """Where a drawn value goes: ``path`` in the scenario, as it is."""

    belief: object
    path: tuple = ()

    def draw(self, rng: np.random.Generator):
        return self.belief.draw(rng)

    def change(self, scenario: Scenario, value, extra: dict) -> Change | None:
        """Where the drawn ``value`` goes in the (planned) scenario, and what goes there; a value
        that does not go into the scenario goes into ``extra`` instead (and None is returned)."""
        return self.path, value


@dataclass(frozen=True)
class ScaleTarget(Target):
    """A drawn factor scales the distribution at ``path``."""

    def change(self, scenario: Scenario, value, extra: dict) -> Change | None:
        return self.path, get(scenario, self.path).scaled(value)


@dataclass(frozen=True)
class SiteTarget(Target):
    """A site's drawn rate (and whether it never refers); the sites are put together at the end,
    each an entry of its own with a known rate."""

    index: int = 0
    name: str = ""
    never: float = 0.0
    planned_rate: float = 0.0

    def draw(self, rng: np.random.Generator) -> tuple[float, bool]:
        never_enrols = bool(rng.random() < self.never)
        return (self.belief.draw(rng) if self.belief is not None else self.planned_rate), never_enrols

    def change(self, scenario: Scenario, value: tuple[float, bool], extra: dict) -> Change | None:
        extra.setdefault("sites", []).append((self.index, self.name, *value))
        return None


def _sites(scenario: Scenario, drawn: list[tuple[int, str, float, bool]]):
    """Each site an entry of its own, with its drawn rate known (and its entry's activation, as
    drawn too)."""
    return [
        scenario.sites[index].model_copy(
            update={
                "name": name,
                "count": 1,
                "referral_rate_per_month": rate,
                "referral_rate_cv": 0.0,
                "never_enrols_probability": 1.0 if never_enrols else 0.0,
            }
        )
        for index, name, rate, never_enrols in drawn
    ]


@dataclass(frozen=True)
class EligibilityTarget(Target):
    def change(self, scenario: Scenario, value: float, extra: dict) -> Change | None:
        extra["eligible"] = value
        return None


@dataclass(frozen=True)
class OutcomesTarget(Target):
    """Drawn review outcome probabilities (outcomes planned impossible stay impossible)."""

    possible: tuple[int, ...] = ()

    def draw(self, rng: np.random.Generator) -> tuple[float, ...]:
        drawn = dict(zip(self.possible, self.belief.draw(rng), strict=True))
        return tuple(drawn.get(i, 0.0) for i in range(len(OUTCOMES)))

    def change(self, scenario: Scenario, value: tuple[float, ...], extra: dict) -> Change | None:
        return ("safety", "review_outcomes"), ReviewOutcomes.model_construct(**dict(zip(OUTCOMES, value, strict=True)))


@dataclass(frozen=True)
class DeathFactorTarget(Target):
    """A drawn factor on every ILD profile's death hazard (or on the scenario's one hazard)."""

    def change(self, scenario: Scenario, factor: float, extra: dict) -> Change | None:
        one = scenario.retention.death_hazard_per_year
        if one is not None:  # one hazard for every subject
            return ("retention", "death_hazard_per_year"), one * factor
        assert scenario.population is not None, "a scenario without a population has one death hazard"
        profiles = {
            name: p.model_copy(update={"death_hazard_per_year": p.death_hazard_per_year * factor})
            for name, p in scenario.population.ild_profiles.items()
        }
        return ("population", "ild_profiles"), profiles


@dataclass(frozen=True)
class Posterior:
    """Every learned assumption; ``learned`` is False for a prior (no records)."""

    assumptions: tuple[Assumption, ...]
    learned: bool
    enrolment: Choice | None = None  # the enrolment model the records chose (None: a prior)
    trend: ReferralTrend | None = None  # the referral trend it carries forward from the restart
    digest: bytes = field(init=False, repr=False, compare=False)
    """A fingerprint of the beliefs, made once: what a search's draw memory keys on (``draws``),
    sent to the workers with the posterior instead of made again for every chunk."""

    def __post_init__(self) -> None:
        content = pickle.dumps((self.assumptions, self.learned, self.trend), protocol=pickle.HIGHEST_PROTOCOL)
        object.__setattr__(self, "digest", hashlib.blake2b(content, digest_size=16).digest())

    def draw(
        self, scenario: Scenario, rng: np.random.Generator, record: dict[str, float] | None = None
    ) -> tuple[Scenario, float | None]:
        """One replicate's scenario, and the share of candidates who pass screening it draws;
        ``record`` gets each drawn value (a site's rate is recorded by the replicate itself)."""
        extra: dict = {}
        changes: dict[tuple, object] = {}
        for assumption in self.assumptions:
            target = assumption.target
            value = target.draw(rng)
            if record is not None and isinstance(value, int | float) and not isinstance(value, bool):
                record[f"{DRAWN}{assumption.label}"] = float(value)
            change = target.change(scenario, value, extra)  # each assumption its own place
            if change is not None:
                changes[change[0]] = change[1]
        if self.enrolment is not None:  # the chosen model's trend from the restart (None: constant rates)
            changes[("referral_trend",)] = self.trend
        scenario = replace_all(scenario, changes)  # one copy of each model along the paths
        if "sites" in extra:  # built from the sites as changed (a site's activation may be drawn)
            scenario = scenario.model_copy(update={"sites": _sites(scenario, extra["sites"])})
        return scenario, extra.get("eligible")

    def table(self) -> pd.DataFrame:
        """Prior against posterior, one row per assumption."""
        return pd.DataFrame(
            [
                {
                    "assumption": a.key,
                    "label": a.label,
                    "unit": a.unit,
                    "planned": a.planned,
                    "prior_mean": a.prior[0],
                    "prior_low": a.prior[1],
                    "prior_high": a.prior[2],
                    "data": a.data,
                    "posterior_mean": a.posterior[0],
                    "posterior_low": a.posterior[1],
                    "posterior_high": a.posterior[2],
                }
                for a in self.assumptions
            ],
            columns=[
                "assumption",
                "label",
                "unit",
                "planned",
                "prior_mean",
                "prior_low",
                "prior_high",
                "data",
                "posterior_mean",
                "posterior_low",
                "posterior_high",
            ],
        )


def learn(
    scenario: Scenario,
    trace: Trace | None = None,
    observed: Observed | None = None,
    enrolment_model: str | None = None,
) -> Posterior:
    """The posterior of the scenario's assumptions given a trial's records (their ``trace`` and
    the history the engine ``observed`` in them; the prior without them), with referral rates
    under the enrolment model the records choose (``enrolment``), or ``enrolment_model``."""
    evidence = gather(scenario, trace, observed) if trace is not None and observed is not None else None
    choice = None
    if evidence is not None and trace is not None:
        history = Referrals(evidence.active_spells, evidence.referral_days, trace.restart_day)
        choice = choose(scenario, history, enrolment_model)
    assumptions = [
        *_site_rates(scenario, evidence, choice),
        _eligibility(scenario, evidence),
        *_scales(scenario, evidence),
        *_adverse_events(scenario, evidence),
        _review_outcomes(scenario, evidence),
        _lot_failure(scenario, evidence),
        _withdrawal(scenario, evidence),
        _deaths(scenario, evidence),
    ]
    trend = choice.fit.trend(trace.restart_day, scenario.horizon_days) if choice is not None and trace else None
    return Posterior(tuple(a for a in assumptions if a is not None), evidence is not None, choice, trend)


# -- applying a drawn value to a scenario ---------------------------------------------------------


Change = tuple[tuple, object]
"""A path in a scenario (attribute names, list indexes, dict keys) and the value to put there."""


def replace_all(obj, changes: dict[tuple, object]):
    """``obj`` with the value at each path replaced, copying each model, list or dict along the
    paths once (no validation: each value is of its field's own type). No path may lie inside
    another (each assumption has a place of its own)."""
    if () in changes:
        if len(changes) > 1:
            raise ValueError(f"paths {list(changes)} overlap: a value would replace another")
        return changes[()]
    below: dict = {}
    for path, value in changes.items():
        below.setdefault(path[0], {})[path[1:]] = value
    if isinstance(obj, BaseModel):
        return obj.model_copy(update={head: replace_all(getattr(obj, head), rest) for head, rest in below.items()})
    copy = list(obj) if isinstance(obj, list) else dict(obj)
    for head, rest in below.items():
        copy[head] = replace_all(obj[head], rest)
    return copy


def get(obj, path: tuple):
    for step in path:
        obj = getattr(obj, step) if isinstance(obj, BaseModel) else obj[step]
    return obj


def _path(dotted: str) -> tuple:
    return tuple(dotted.split("."))


def _summary(belief) -> tuple[float, float, float]:
    return (belief.mean, *belief.interval())


# -- referral rates -------------------------------------------------------------------------------


def _site_rates(scenario: Scenario, evidence: Evidence | None, choice: Choice | None) -> list[Assumption]:
    """One assumption per site; the drawn rates (and never-enrolling sites) are put together into
    one sites list, each site an entry of its own. Under a drifting enrolment model a site's
    active months are weighted by the model's factor (1 at the restart): its rate is today's."""
    out = []
    names = iter(scenario.site_names)
    for index, site in enumerate(scenario.sites):
        for _ in range(site.count):
            name = next(names)
            out.append(_site_rate(scenario, index, name, evidence, choice))
    return out


def _site_rate(
    scenario: Scenario, index: int, name: str, evidence: Evidence | None, choice: Choice | None
) -> Assumption:
    site = scenario.sites[index]
    planned = f"{site.referral_rate_per_month:g}/month (CV {site.referral_rate_cv:g})"
    never = site.never_enrols_probability
    if site.referral_rate_cv == 0:
        prior = posterior = None
        data = "a known rate (CV 0): not learned"
        summary = (site.referral_rate_per_month,) * 3
        post_summary = summary
    else:
        shape = 1.0 / site.referral_rate_cv**2
        prior = GammaBelief(shape, shape / site.referral_rate_per_month)
        posterior = prior
        summary = _summary(prior)
        data = "not active yet"
        if evidence is not None and name in evidence.referrals:
            count, months = evidence.referrals[name]
            weighted = months
            if choice is not None and choice.model != "homogeneous":
                weighted = choice.fit.exposure(evidence.active_spells[name]) / DAYS_PER_MONTH
            posterior = prior.update(count, weighted)
            if count:
                never = 0.0
            elif never > 0:  # no referral yet: it may be a site that never refers
                quiet = prior.p_no_events(months)
                never = never / (never + (1 - never) * quiet)
            data = f"{count} referrals in {months:.1f} active months"
            if weighted != months:
                data += f", {weighted:.1f} at today's rate ({choice.model if choice else ''} model)"
        post_summary = _summary(posterior)

    target = SiteTarget(posterior, (), index, name, never, site.referral_rate_per_month)
    return Assumption(
        f"sites.{name}.referral_rate_per_month",
        f"Referral rate, {name}",
        "/month",
        planned,
        summary,
        post_summary,
        data,
        target,
    )


# -- who passes screening -------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _population_facts(population_json: str, rules_json: str) -> tuple[float, float, dict[str, float]]:
    """The share of candidates who pass screening (under the scenario's thresholds), their mean
    death hazard, and each criterion's share of failed candidates, as the population model draws them."""
    population = Population.model_validate_json(population_json)
    failed_criteria = failed_criteria_for(Eligibility.model_validate_json(rules_json))
    factory = CandidateFactory(population, np.random.default_rng(20240820))
    passed, hazards, failures, failed = 0, [], {}, 0
    for _ in range(POPULATION_SAMPLE):
        candidate = factory.draw("population")
        criteria = failed_criteria(candidate)
        if criteria:
            failed += 1
            for c in criteria:
                failures[c] = failures.get(c, 0) + 1
        else:
            passed += 1
            hazards.append(population.ild_profiles[candidate.ild_profile].death_hazard_per_year)
    shares = {c: n / max(failed, 1) for c, n in failures.items()}
    return passed / POPULATION_SAMPLE, float(np.mean(hazards)) if hazards else 0.0, shares


def population_facts(population: Population, rules: Eligibility = LISTING) -> tuple[float, float, dict[str, float]]:
    return _population_facts(population.model_dump_json(), rules.model_dump_json())


def screening_facts(scenario: Scenario) -> tuple[float, float, dict[str, float]]:
    """What the scenario implies for those screened: the share passing, the mean death hazard of
    a subject, each criterion's share of failures. A pass probability gives the share and one
    death hazard gives the hazard (no criteria are modelled without a population)."""
    facts = (
        population_facts(scenario.population, scenario.eligibility)
        if scenario.population is not None
        else (0.0, 0.0, {})
    )
    share = scenario.screening.pass_probability
    hazard = scenario.retention.death_hazard_per_year
    return (facts[0] if share is None else share, facts[1] if hazard is None else hazard, facts[2])


def _eligibility(scenario: Scenario, evidence: Evidence | None) -> Assumption:
    share, _, failure_shares = screening_facts(scenario)
    prior = BetaBelief.from_mean(min(max(share, 1e-4), 1 - 1e-4), scenario.learning.eligibility_screenings)
    posterior, data = prior, "no screenings yet"
    if evidence is not None and sum(evidence.screened):
        passed, failed = evidence.screened
        posterior = prior.update(passed, passed + failed)
        top = (
            ", ".join(
                f"{fmt_name(c)} {n / failed:.0%} (model {failure_shares.get(c, 0):.0%})"
                for c, n in evidence.criteria.most_common(3)
            )
            if failed
            else ""
        )
        data = f"{passed} of {passed + failed} candidates passed" + (f"; failures: {top}" if top else "")

    return Assumption(
        "population (share passing screening)",
        "Share of candidates passing screening",
        "share",
        f"{share:.1%} (" + ("the population model" if scenario.screening.pass_probability is None else "planned") + ")",
        _summary(prior),
        _summary(posterior),
        data,
        EligibilityTarget(posterior),
    )


# -- durations and lot yield -----------------------------------------------------------------------


def _scales(scenario: Scenario, evidence: Evidence | None) -> list[Assumption]:
    strength = scenario.learning.duration_observations
    out = []
    for dotted, label in DURATIONS.items():
        path = _path(dotted)
        if path[0] == "product" and scenario.product is None:
            continue
        seen = evidence.durations.get(dotted, Durations()) if evidence is not None else Durations()
        out.append(_scale(scenario, path, dotted, label, "days", strength, seen))
    for index, site in enumerate(scenario.sites):
        seen = evidence.activation.get(index, Durations()) if evidence is not None else Durations()
        out.append(
            _scale(
                scenario,
                ("sites", index, "activation_days"),
                f"sites.{site.name}.activation_days",
                f"Activation delay, {site.name}",
                "days",
                strength,
                seen,
            )
        )
    if scenario.product is not None:
        seen = evidence.yields if evidence is not None else Durations()
        out.append(
            _scale(
                scenario,
                ("product", "lots", "yield_cells"),
                "product.lots.yield_cells",
                "Lot yield",
                "cells",
                scenario.learning.yield_observations,
                seen,
            )
        )
    return [a for a in out if a is not None]


def _scale(scenario, path, key, label, unit, strength, seen: Durations) -> Assumption | None:
    dist = get(scenario, path)
    if isinstance(dist, Fixed):
        return None  # declared without uncertainty: nothing to learn
    prior = ScaleBelief.prior(log_spread(dist) / np.sqrt(strength))
    posterior = prior.update(dist, seen.within, seen.beyond)
    mean = dist.mean

    def summary(belief: ScaleBelief) -> tuple[float, float, float]:
        low, high = belief.interval()
        return mean * belief.mean, mean * low, mean * high

    data = seen.describe("x 1e6 cells" if unit == "cells" else unit)
    if unit == "cells" and seen.within:
        lots = seen.observed
        filled = sum(low * k for (low, _), k in seen.within.items()) / lots
        data = f"{lots} lots filled (mean {fmt_cells(filled)} cells)"
    return Assumption(
        key,
        label,
        unit,
        f"mean {fmt_cells(mean) if unit == 'cells' else fmt_quantity(mean)} {unit}",
        summary(prior),
        summary(posterior),
        data,
        ScaleTarget(posterior, tuple(path)),
    )


# -- probabilities --------------------------------------------------------------------------------


def _adverse_events(scenario: Scenario, evidence: Evidence | None) -> list[Assumption]:
    out = []
    strength = scenario.learning.probability_observations
    for k, ae in enumerate(scenario.safety.adverse_events):
        if isinstance(ae.probability, list) or not 0 < ae.probability < 1:
            continue  # per-cohort lists, and kinds declared impossible or certain, are not learned
        prior = posterior = BetaBelief.from_mean(ae.probability, strength)
        data = "no infusions yet"
        if evidence is not None and ae.name in evidence.adverse_events:
            events, seen = evidence.adverse_events[ae.name]
            posterior = prior.update(events, max(seen, events))
            data = f"{events} in {evidence.infusions} infusions ({seen:.1f} observed long enough for it)"

        target = Target(posterior, ("safety", "adverse_events", k, "probability"))
        out.append(
            Assumption(
                f"safety.adverse_events.{ae.name}.probability",
                f"AE per infusion, {fmt_name(ae.name)}",
                "probability",
                fmt_share(ae.probability),
                _summary(prior),
                _summary(posterior),
                data,
                target,
            )
        )
    return out


OUTCOMES = ("resume", "repeat_cohort", "stop")


def _review_outcomes(scenario: Scenario, evidence: Evidence | None) -> Assumption | None:
    planned = scenario.safety.review_outcomes
    means = tuple(getattr(planned, o) for o in OUTCOMES)
    possible = [i for i, m in enumerate(means) if m > 0]
    if len(possible) < 2:
        return None
    strength = scenario.learning.review_outcome_observations
    prior = posterior = DirichletBelief.from_means(tuple(means[i] for i in possible), strength)
    data = "no review decided yet"
    if evidence is not None and sum(evidence.review_outcomes.values()):
        counts = tuple(float(evidence.review_outcomes.get(OUTCOMES[i], 0)) for i in possible)
        posterior = prior.update(counts)
        data = ", ".join(f"{int(c)} {fmt_name(OUTCOMES[i])}" for c, i in zip(counts, possible, strict=True))

    first = possible[0]
    return Assumption(
        "safety.review_outcomes",
        f"Review outcome: {fmt_name(OUTCOMES[first])}",
        "probability",
        ", ".join(f"{fmt_name(o)} {fmt_share(m)}" for o, m in zip(OUTCOMES, means, strict=True)),
        (prior.means[0], *prior.intervals()[0]),
        (posterior.means[0], *posterior.intervals()[0]),
        data,
        OutcomesTarget(posterior, (), tuple(possible)),
    )


def _lot_failure(scenario: Scenario, evidence: Evidence | None) -> Assumption | None:
    if scenario.product is None or not 0 < scenario.product.lots.failure_probability < 1:
        return None
    p = scenario.product.lots.failure_probability
    prior = posterior = BetaBelief.from_mean(p, scenario.learning.probability_observations)
    data = "no lot through QC yet"
    if evidence is not None and sum(evidence.lot_qc):
        failed, released = evidence.lot_qc
        posterior = prior.update(failed, failed + released)
        data = f"{failed} of {failed + released} lots failed QC"

    target = Target(posterior, ("product", "lots", "failure_probability"))
    return Assumption(
        "product.lots.failure_probability",
        "Lot failing QC",
        "probability",
        fmt_share(p),
        _summary(prior),
        _summary(posterior),
        data,
        target,
    )


# -- hazards --------------------------------------------------------------------------------------


def _withdrawal(scenario: Scenario, evidence: Evidence | None) -> Assumption | None:
    rate = scenario.retention.withdrawal_hazard_per_year
    if rate <= 0:
        return None
    prior = posterior = GammaBelief.from_mean(rate, scenario.learning.hazard_events)
    data = "no subjects yet"
    if evidence is not None and evidence.withdrawals[1] > 0:
        events, years = evidence.withdrawals
        posterior = prior.update(events, years)
        data = f"{events} withdrawals in {years:.1f} person-years"

    target = Target(posterior, ("retention", "withdrawal_hazard_per_year"))
    return Assumption(
        "retention.withdrawal_hazard_per_year",
        "Withdrawal hazard",
        "/year",
        f"{rate:g}/year",
        _summary(prior),
        _summary(posterior),
        data,
        target,
    )


def _deaths(scenario: Scenario, evidence: Evidence | None) -> Assumption | None:
    _, hazard, _ = screening_facts(scenario)
    if hazard <= 0:
        return None
    strength = scenario.learning.hazard_events
    prior = posterior = GammaBelief.from_mean(1.0, strength)  # a factor on every profile's hazard
    data = "no subjects yet"
    if evidence is not None and evidence.deaths[1] > 0:
        events, years = evidence.deaths
        posterior = prior.update(events, hazard * years)
        data = f"{events} deaths in {years:.1f} person-years (expected {hazard * years:.2f} as planned)"

    one = scenario.retention.death_hazard_per_year is not None
    return Assumption(
        "retention.death_hazard_per_year" if one else "population.ild_profiles.*.death_hazard_per_year",
        "Death hazard (factor on the planned)" if one else "Death hazard (factor on the profiles')",
        "factor",
        f"{hazard:.3f}/year for a subject passing screening",
        _summary(prior),
        _summary(posterior),
        data,
        DeathFactorTarget(posterior),
    )
