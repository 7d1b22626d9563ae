"""Sites and the candidates they refer.

Each site is activated after a drawn delay, then refers candidates as a Poisson process. Its
rate is drawn once per replicate from a Gamma with the scenario's mean and coefficient of
variation (Poisson-Gamma: we do not know the true rate in advance), and with
``never_enrols_probability`` the site refers nobody at all. Referrals stop while recruitment is
closed (the last cohort is full) and resume if a slot reopens; by the memoryless property a
closed spell simply removes arrivals.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

import simpy

from ctdild_sim.scenario.trial import ReferralTrend, Site
from ctdild_sim.sim.events import EventName

if TYPE_CHECKING:
    from ctdild_sim.model.engine import Trial
    from ctdild_sim.model.trace import CandidateRecord

DAYS_PER_MONTH = 365.25 / 12


class Recruitment:
    """Whether sites are still asked to refer candidates."""

    def __init__(self, trial: Trial):
        self.trial = trial
        self.closed = False
        self.reopened_day: float | None = None  # the last time recruitment reopened
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
            self.reopened_day = self.trial.env.now
            self._reopened.succeed()
            self.trial.log.record(EventName.RECRUITMENT_REOPENED)


class RateProfile:
    """A scenario's referral trend on the simulation's days: a piecewise-constant factor on every
    site's rate (``ReferralTrend``), the last piece holding on. Referrals under it are a Poisson
    process of rate ``rate * factor(t)``: the next comes when the integrated rate reaches a unit
    exponential draw (a time change), so a factor of 1 throughout gives the homogeneous process's
    very gaps."""

    def __init__(self, trend: ReferralTrend):
        self.starts = [m * DAYS_PER_MONTH for m in trend.start_months]
        self.factors = list(trend.factors)

    def _piece(self, day: float) -> int:
        return max(0, bisect.bisect_right(self.starts, day) - 1)

    def factor(self, day: float) -> float:
        return self.factors[self._piece(day)]

    def integral(self, a: float, b: float) -> float:
        """The factor integrated from day ``a`` to day ``b`` (days at full rate)."""
        if b <= a:
            return 0.0
        total, k = 0.0, self._piece(a)
        while a < b:
            end = self.starts[k + 1] if k + 1 < len(self.starts) else math.inf
            upto = min(b, end)
            total += self.factors[k] * (upto - a)
            a, k = upto, k + 1
        return total

    def after(self, day: float, rate: float, work: float) -> float:
        """The day the integrated rate from ``day`` reaches ``work`` (a unit exponential draw for a
        Poisson site, 1 for a regular one); inf if it never does (factors 0 from some day on)."""
        k = self._piece(day)
        while True:
            end = self.starts[k + 1] if k + 1 < len(self.starts) else math.inf
            speed = rate * self.factors[k]
            if speed > 0 and day + work / speed <= end:
                return day + work / speed
            if end == math.inf:
                return math.inf
            work -= speed * (end - day)
            day, k = end, k + 1


def draw_site_rate(site: Site, rng) -> float:
    """Referrals per day for one site in this replicate (Gamma around the scenario mean)."""
    mean = site.referral_rate_per_month / DAYS_PER_MONTH
    if site.referral_rate_cv == 0:
        return mean
    shape = 1.0 / site.referral_rate_cv**2
    return float(rng.gamma(shape, mean / shape))


def site_referrals(
    trial: Trial,
    site_name: str,
    activation_days: float,
    rate_per_day: float,
    regular: bool,
    recorded: tuple[CandidateRecord, ...] = (),
):
    """simpy process: one site referring candidates until the trial ends. A trial's records give
    the site's referrals up to the restart (``recorded``); from the restart it refers on, a
    Poisson site after a fresh gap (being memoryless), a regular one when its next referral is due."""
    env, rng = trial.env, trial.streams.referrals
    yield env.timeout(activation_days)
    rate = rate_per_day * DAYS_PER_MONTH if not trial.recording else math.nan  # a recorded activation: rate unknown
    trial.log.record(EventName.SITE_ACTIVATED, site=site_name, value=rate)
    for referred in recorded:
        yield env.timeout(max(0.0, referred.referred_day - env.now))
        trial.log.record(EventName.REFERRED, site=site_name, patient_id=referred.candidate_id)
        trial.screening.screen_recorded(referred)
    if rate_per_day <= 0:
        return
    first_gap = None
    if trial.recording:
        yield env.timeout(trial.restart_day - env.now)
        first_gap = _first_gap(trial, activation_days, recorded, rate_per_day, regular)
    profile = trial.referral_profile
    while True:
        if first_gap is not None:
            gap, first_gap = first_gap, None
        elif profile is None:
            gap = 1.0 / rate_per_day if regular else rng.exponential(1.0 / rate_per_day)
        else:  # the same draw, spent at the trend's changing rate
            gap = profile.after(env.now, rate_per_day, 1.0 if regular else rng.exponential()) - env.now
        if gap == math.inf:
            return  # the trend's rate is 0 from here on
        yield env.timeout(gap)
        if trial.recruitment.closed:
            yield trial.recruitment.reopened
            continue
        candidate = trial.candidates.draw(site_name)
        trial.log.record(EventName.REFERRED, site=site_name, patient_id=candidate.candidate_id)
        trial.screening.screen(candidate)


def _first_gap(
    trial: Trial, activated: float, recorded: tuple[CandidateRecord, ...], rate: float, regular: bool
) -> float:
    """Days from the restart to an active site's next referral."""
    profile, now = trial.referral_profile, trial.env.now
    if not regular:
        if profile is None:
            return float(trial.streams.referrals.exponential(1.0 / rate))  # memoryless
        return profile.after(now, rate, float(trial.streams.referrals.exponential())) - now
    # A regular site refers every 1/rate days from its activation; a closed spell restarts the
    # count from the reopening (see the loop above).
    anchor = recorded[-1].referred_day if recorded else activated
    reopened = trial.recruitment.reopened_day
    if reopened is not None and reopened > anchor:
        anchor = reopened
    due = anchor + 1.0 / rate if profile is None else profile.after(anchor, rate, 1.0)
    return max(0.0, due - now)


DRAWN = "drawn: "
"""Metrics columns of what a replicate draws once start with this (``drawn: CMUH referral_rate_per_month``)."""


def drawn_column(site: str, what: str) -> str:
    return f"{DRAWN}{site} {what}"


def start_sites(trial: Trial) -> None:
    """Draw every site's activation delay and rate, and start its referral process. With a trial's
    records, a site is activated on its recorded day and refers its recorded candidates; a site not
    yet active at the restart is activated after what is left of its activation delay, and a site
    that has referred anyone cannot be one that never enrols."""
    rng, trace = trial.streams.sites, trial.trace
    for site, name in trial.scenario.site_entries():
        activation = site.activation_days.sample(rng)  # always drawn, in the same order
        rate = draw_site_rate(site, rng)
        never = rng.random() < site.never_enrols_probability
        regular = site.referral_process == "regular"
        recorded: tuple[CandidateRecord, ...] = ()
        if trace is not None:
            recorded = trace.referrals.get(name, ())
            activated = trace.activated.get(name)
            if activated is None and recorded:  # a site that referred anyone was active by then
                activated = recorded[0].referred_day
            if activated is None:
                activation = trial.restart_day + site.activation_days.remaining(rng, trial.restart_day)
            else:
                activation = activated
        if never and not recorded:
            rate = 0.0
        trial.drawn[drawn_column(name, "referral_rate_per_month")] = rate * DAYS_PER_MONTH
        trial.drawn[drawn_column(name, "activation_days")] = activation
        trial.env.process(site_referrals(trial, name, activation, rate, regular, recorded))
