"""Sites and the candidates they refer.

Each site is activated after a drawn delay, then refers candidates as a Poisson process. Its
rate is drawn once per replicate from a Gamma with the scenario's mean and coefficient of
variation (Poisson-Gamma: we do not know the true rate in advance), and with
``never_enrols_probability`` the site refers nobody at all. Referrals stop while recruitment is
closed (the last cohort is full) and resume if a slot reopens; by the memoryless property a
closed spell simply removes arrivals.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.scenario.trial import Site
from ctdild_sim.sim.events import EventName

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.state import SiteState, TrialState

DAYS_PER_MONTH = 365.25 / 12


class Recruitment:
    """Whether sites are still asked to refer candidates."""

    def __init__(self, trial: Trial, closed: bool = False):
        self.trial = trial
        self.closed = closed  # a trial restarted with its last cohort full starts closed
        self._reopened = trial.env.event()

    @property
    def reopened(self) -> simpy.Event:
        return self._reopened

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._reopened = self.trial.env.event()
            self.trial.log.record(EventName.RECRUITMENT_CLOSED)

    def reopen(self) -> None:
        if self.closed:
            self.closed = False
            self._reopened.succeed()
            self.trial.log.record(EventName.RECRUITMENT_REOPENED)


def draw_site_rate(site: Site, rng) -> float:
    """Referrals per day for one site in this replicate (Gamma around the scenario mean)."""
    mean = site.referral_rate_per_month / DAYS_PER_MONTH
    if site.referral_rate_cv == 0:
        return mean
    shape = 1.0 / site.referral_rate_cv**2
    return float(rng.gamma(shape, mean / shape))


def site_referrals(
    trial: Trial, site_name: str, activation_days: float, rate_per_day: float, regular: bool,
    first_gap: float | None = None,
):  # fmt: skip
    """simpy process: one site referring candidates until the trial ends. A site already active at a
    restart passes ``first_gap`` (the wait for its next referral) and is not activated again."""
    env, rng = trial.env, trial.streams.referrals
    yield env.timeout(activation_days)
    if first_gap is None:
        trial.log.record(EventName.SITE_ACTIVATED, site=site_name, value=rate_per_day * DAYS_PER_MONTH)
    if rate_per_day <= 0:
        return
    while True:
        if first_gap is not None:
            gap, first_gap = first_gap, None
        else:
            gap = 1.0 / rate_per_day if regular else rng.exponential(1.0 / rate_per_day)
        yield env.timeout(gap)
        if trial.recruitment.closed:
            yield trial.recruitment.reopened
            continue
        candidate = trial.candidates.draw(site_name)
        trial.log.record(EventName.REFERRED, site=site_name, patient_id=candidate.candidate_id)
        trial.screening.screen(candidate)


def site_names(trial: Trial) -> list[tuple[Site, str]]:
    """Each site entry and the names of the sites it stands for (``S-1``, ``S-2`` for a count of 2)."""
    return [
        (site, site.name if site.count == 1 else f"{site.name}-{k + 1}")
        for site in trial.scenario.sites
        for k in range(site.count)
    ]


DRAWN = "drawn: "
"""Metrics columns of what a replicate draws once start with this (``drawn: CMUH referral_rate_per_month``)."""


def drawn_column(site: str, what: str) -> str:
    return f"{DRAWN}{site} {what}"


def start_sites(trial: Trial, state: TrialState | None = None) -> None:
    """Draw every site's activation delay and rate, and start its referral process. For a trial
    under way (``state``), a site already active refers on from the restart (a Poisson site after
    a fresh gap, being memoryless; a regular one when its next referral is due), a site not yet
    active is activated after what is left of its activation delay, and a site that has referred
    anyone cannot be one that never enrols."""
    rng, now = trial.streams.sites, trial.env.now
    for site, name in site_names(trial):
        activation = site.activation_days.sample(rng)  # always drawn, in the same order
        rate = draw_site_rate(site, rng)
        never = rng.random() < site.never_enrols_probability
        regular = site.referral_process == "regular"
        known = state.sites.get(name) if state is not None else None
        if never and not (known is not None and known.referrals):
            rate = 0.0
        trial.drawn[drawn_column(name, "referral_rate_per_month")] = rate * DAYS_PER_MONTH
        trial.drawn[drawn_column(name, "activation_days")] = activation
        first_gap = None
        if state is not None:
            if known is not None and known.activated_day is not None:
                activation, first_gap = 0.0, _first_gap(trial, known, rate, regular, state)
            else:
                activation = site.activation_days.remaining(rng, now)
        trial.env.process(site_referrals(trial, name, activation, rate, regular, first_gap))


def _first_gap(trial: Trial, site: SiteState, rate: float, regular: bool, state: TrialState) -> float:
    """Days from the restart to an active site's next referral."""
    if rate <= 0:
        return math.inf
    if not regular:
        return float(trial.streams.referrals.exponential(1.0 / rate))  # memoryless
    # A regular site refers every 1/rate days from its activation; a closed spell restarts the
    # count from the reopening (see ``site_referrals``).
    anchor = site.last_referral_day if site.last_referral_day is not None else site.activated_day
    assert anchor is not None, "called for an active site only"
    reopened = state.recruitment_reopened_day
    if reopened is not None and reopened > anchor:
        anchor = reopened
    return max(0.0, anchor + 1.0 / rate - trial.env.now)
