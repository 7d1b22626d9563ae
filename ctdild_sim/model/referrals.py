"""Sites and the candidates they refer.

Each site is activated after a drawn delay, then refers candidates as a Poisson process. Its
rate is drawn once per replicate from a Gamma with the scenario's mean and coefficient of
variation (Poisson-Gamma: we do not know the true rate in advance), and with
``never_enrols_probability`` the site refers nobody at all. Referrals stop while recruitment is
closed (the last cohort is full) and resume if a slot reopens; by the memoryless property a
closed spell simply removes arrivals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from ctdild_sim.scenario.trial import Site
from ctdild_sim.sim.events import EventName

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial

DAYS_PER_MONTH = 365.25 / 12


class Recruitment:
    """Whether sites are still asked to refer candidates."""

    def __init__(self, trial: Trial):
        self.trial = trial
        self.closed = False
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


def site_referrals(trial: Trial, site_name: str, activation_days: float, rate_per_day: float, regular: bool):
    """simpy process: one activated site referring candidates until the trial ends."""
    env, rng = trial.env, trial.streams.referrals
    yield env.timeout(activation_days)
    trial.log.record(EventName.SITE_ACTIVATED, site=site_name, value=rate_per_day * DAYS_PER_MONTH)
    if rate_per_day <= 0:
        return
    while True:
        gap = 1.0 / rate_per_day if regular else rng.exponential(1.0 / rate_per_day)
        yield env.timeout(gap)
        if trial.recruitment.closed:
            yield trial.recruitment.reopened
            continue
        candidate = trial.candidates.draw(site_name)
        trial.log.record(EventName.REFERRED, site=site_name, patient_id=candidate.candidate_id)
        trial.screening.screen(candidate)


def start_sites(trial: Trial) -> None:
    """Draw every site's activation delay and rate, and start its referral process."""
    rng = trial.streams.sites
    for site in trial.scenario.sites:
        for k in range(site.count):
            name = site.name if site.count == 1 else f"{site.name}-{k + 1}"
            activation = site.activation_days.sample(rng)
            rate = draw_site_rate(site, rng)
            if rng.random() < site.never_enrols_probability:
                rate = 0.0
            regular = site.referral_process == "regular"
            trial.env.process(site_referrals(trial, name, activation, rate, regular))
