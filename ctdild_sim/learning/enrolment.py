"""Enrolment models that can drift: how a site's referral rate changes over time, fitted to a
trial's referrals, and the one a forecast uses.

Every model is a site's own level times a trial-wide factor m(t) that the model shapes; the
levels are what ``posterior`` learns, over each site's active days weighted by m (its exposure),
and m is normalised to 1 at the restart, so a level is the site's rate now and the forecast
carries m forward as the scenario's ``referral_trend``:

- ``homogeneous``: m = 1 (each site's rate constant: the Poisson-Gamma model);
- ``piecewise``: m constant on pieces of ``learning.piece_months`` counted back from the
  restart, each piece's factor the maximum likelihood one of the two-way Poisson model (site level x
  piece factor, fitted by alternating closed forms, iterative proportional fitting), with half a
  referral's worth of shrinkage towards the pieces' mean so that an empty piece is slow, not
  stopped; the last piece's rate holds on;
- ``ramp_decay``: m(t) = (1 - exp(-t / tau)) exp(-gamma t), t in days from the study's start: a
  ramp-up to a plateau (eventPred's time-decay form) times an exponential decline; tau and gamma
  maximise the likelihood with the site levels profiled out, and the shape carries on after the
  restart.

The choice (``learning.enrolment_model: auto``): each model is fitted to the records before the
last ``learning.holdout_months`` (at most a third of the referral history) and forecasts each month
of the holdout's referral count (negative binomial: Poisson given the levels, whose Gamma has the
training referrals' shape); the models are scored by the log predictive density of the counts
that came (leave-future-out). The best drifting model is used if it beats the homogeneous one by
more than ``learning.drift_evidence``, else the homogeneous one. The chosen model is then fitted
to all the records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from ctdild_sim.model.referrals import DAYS_PER_MONTH
from ctdild_sim.scenario.trial import ReferralTrend, Scenario

MODELS = ("homogeneous", "piecewise", "ramp_decay")
SHRINK = 0.5
"""Referrals' worth of shrinkage of each piecewise factor towards the pieces' mean."""
MIN_TRAINING_DAYS, MIN_HOLDOUT_DAYS = 90.0, 30.0
"""The least history a choice is made on: three months to fit, one to forecast."""
TAU_DAYS = (1.0, 3652.5)
GAMMA_PER_YEAR = (0.0, 5.0)
"""The ramp-up's time constant and the decline's rate a ramp_decay fit may take."""

Spells = dict[str, list[tuple[float, float]]]
Days = dict[str, list[float]]


@dataclass(frozen=True)
class Referrals:
    """The referral history a model is fitted to: each site's active spells and referral days, up
    to ``end`` (the restart, or a holdout's start)."""

    spells: Spells
    days: Days
    end: float

    def until(self, day: float) -> Referrals:
        """The history before ``day``."""
        spells = {s: [(a, min(b, day)) for a, b in sp if a < day] for s, sp in self.spells.items()}
        days = {s: [d for d in ds if d < day] for s, ds in self.days.items()}
        return Referrals({s: sp for s, sp in spells.items() if sp}, days, day)

    @property
    def count(self) -> int:
        return sum(len(d) for d in self.days.values())

    def first_day(self) -> float | None:
        starts = [a for sp in self.spells.values() for a, _ in sp]
        return min(starts) if starts else None


@dataclass(frozen=True)
class Shape:
    """A trial-wide factor m(t) on days: pieces (``starts``, ``factors``, the last holding on), or the
    ramp and decline (``tau``, ``gamma``); ``scale`` divides it (so that m is 1 at the restart)."""

    starts: tuple[float, ...] = (0.0,)
    factors: tuple[float, ...] = (1.0,)
    tau: float | None = None
    gamma: float = 0.0
    scale: float = 1.0

    def integral(self, a: float, b: float) -> float:
        """m integrated from day ``a`` to day ``b``."""
        if b <= a:
            return 0.0
        if self.tau is not None:
            return (_ramp_integral(b, self.tau, self.gamma) - _ramp_integral(a, self.tau, self.gamma)) / self.scale
        total = 0.0
        for k, start in enumerate(self.starts):
            end = self.starts[k + 1] if k + 1 < len(self.starts) else math.inf
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += self.factors[k] * (hi - lo)
        return total / self.scale

    def at(self, day: float) -> float:
        if self.tau is not None:
            return -math.expm1(-max(day, 0.0) / self.tau) * math.exp(-self.gamma * day) / self.scale
        k = max(0, int(np.searchsorted(self.starts, day, side="right")) - 1)
        return self.factors[k] / self.scale

    def exposure(self, spells: list[tuple[float, float]]) -> float:
        return sum(self.integral(a, b) for a, b in spells)

    def normalised(self, day: float) -> Shape:
        """The same shape scaled to 1 at ``day`` (the restart: a site's level is its rate then)."""
        value = self.at(day) * self.scale
        value = value if value > 0 else max(self.integral(day - 30.0, day) * self.scale / 30.0, 1e-12)
        return Shape(self.starts, self.factors, self.tau, self.gamma, value)


def _ramp_integral(t: float, tau: float, gamma: float) -> float:
    """The integral from 0 to t of (1 - exp(-u/tau)) exp(-gamma u)."""
    t = max(t, 0.0)
    rate = gamma + 1.0 / tau
    first = t if gamma == 0 else -math.expm1(-gamma * t) / gamma
    return first + math.expm1(-rate * t) / rate


@dataclass(frozen=True)
class Fit:
    """A model fitted to a referral history: its shape (normalised at the history's end), each
    site's level (referrals a day at factor 1), the log likelihood, and its parameters in words."""

    model: str
    shape: Shape
    levels: dict[str, float]
    loglik: float
    parameters: str
    stated: ReferralTrend | None = None  # the scenario's own trend, kept (``choose``)

    def exposure(self, spells: list[tuple[float, float]]) -> float:
        return self.shape.exposure(spells)

    def trend(self, restart: float, horizon: float) -> ReferralTrend | None:
        """The scenario's referral trend this fit carries forward from ``restart`` (None: constant)."""
        if self.stated is not None:
            return self.stated
        if self.shape.tau is None:  # constant, or the last piece (a level's own rate) holds on
            return None
        starts, factors, day = [0.0], [1.0], restart
        while day < horizon and len(starts) < 1999:
            end = day + DAYS_PER_MONTH
            starts.append(day / DAYS_PER_MONTH)
            factors.append(min(100.0, max(0.0, self.shape.integral(day, end) / DAYS_PER_MONTH)))  # rounding
            day = end
        return ReferralTrend(start_months=starts, factors=factors)


def _loglik(shape: Shape, history: Referrals, levels: dict[str, float]) -> float:
    total = 0.0
    for site, spells in history.spells.items():
        level = levels.get(site, 0.0)
        days = history.days.get(site, [])
        total -= level * shape.exposure(spells)
        if days:
            if level <= 0:
                return -math.inf
            total += sum(math.log(max(level * shape.at(d), 1e-300)) for d in days)
    return total


def _profiled(shape: Shape, history: Referrals) -> tuple[dict[str, float], float]:
    """Each site's maximum likelihood level under ``shape`` (its referrals over its exposure), and
    the log likelihood there."""
    levels = {}
    for site, spells in history.spells.items():
        exposure = shape.exposure(spells)
        levels[site] = len(history.days.get(site, [])) / exposure if exposure > 0 else 0.0
    return levels, _loglik(shape, history, levels)


def fit(model: str, history: Referrals, piece_days: float, shrink: float = SHRINK) -> Fit:
    """``model`` fitted to ``history`` (see the module), its shape 1 at the history's end."""
    if model == "homogeneous":
        shape = Shape()
        levels, loglik = _profiled(shape, history)
        return Fit(model, shape, levels, loglik, "each site's rate constant")
    if model == "piecewise":
        return _fit_piecewise(history, piece_days, shrink)
    if model == "ramp_decay":
        return _fit_ramp_decay(history)
    raise ValueError(f"unknown enrolment model {model!r}; known: {', '.join(MODELS)}")


def _fit_piecewise(history: Referrals, piece_days: float, shrink: float) -> Fit:
    end = history.end
    starts = [end - k * piece_days for k in range(1, 10_000) if end - k * piece_days > 0][::-1]
    starts = [0.0, *starts]
    n = len(starts)
    sites = list(history.spells)
    exposure = np.zeros((len(sites), n))
    counts = np.zeros((len(sites), n))
    for i, site in enumerate(sites):
        for k in range(n):
            hi = starts[k + 1] if k + 1 < n else end
            exposure[i, k] = sum(max(0.0, min(b, hi) - max(a, starts[k])) for a, b in history.spells[site])
        for d in history.days.get(site, []):
            counts[i, max(0, int(np.searchsorted(starts, d, side="right")) - 1)] += 1
    factors = np.ones(n)
    levels = counts.sum(axis=1) / np.maximum(exposure.sum(axis=1), 1e-12)
    for _ in range(200):  # iterative proportional fitting: the two-way Poisson model's maximum
        expected = levels @ exposure  # per piece, at factor 1
        mean = counts.sum() / max(float((expected * factors).sum()), 1e-12) if counts.sum() else 1.0
        new = (counts.sum(axis=0) + shrink) / np.maximum(expected + shrink / max(mean, 1e-12), 1e-12)
        new = np.where(expected > 0, new, mean)  # a piece nobody was active in: the mean
        weighted = exposure @ new
        new_levels = counts.sum(axis=1) / np.maximum(weighted, 1e-12)
        done = np.allclose(new, factors, rtol=1e-10, atol=1e-12) and np.allclose(new_levels, levels, rtol=1e-10)
        factors, levels = new, new_levels
        if done:
            break
    shape = Shape(tuple(starts), tuple(float(f) for f in factors)).normalised(end)
    fitted_levels, loglik = _profiled(shape, history)
    last = ", ".join(f"{f / factors[-1]:.2g}" for f in factors[-4:])
    return Fit(
        "piecewise",
        shape,
        fitted_levels,
        loglik,
        f"{n} pieces of {piece_days / DAYS_PER_MONTH:.0f} months; the last four's rates against the last: {last}",
    )


def _fit_ramp_decay(history: Referrals) -> Fit:
    def negative(params: np.ndarray) -> float:
        shape = Shape(tau=float(math.exp(params[0])), gamma=float(params[1]) / 365.25)
        _, loglik = _profiled(shape, history)
        return -loglik if math.isfinite(loglik) else 1e300

    bounds = [(math.log(TAU_DAYS[0]), math.log(TAU_DAYS[1])), GAMMA_PER_YEAR]
    best = None
    for tau0 in (15.0, 90.0, 365.0):
        for gamma0 in (0.0, 0.5, 1.5):
            result = optimize.minimize(negative, np.array([math.log(tau0), gamma0]), method="L-BFGS-B", bounds=bounds)
            if best is None or result.fun < best.fun:
                best = result
    assert best is not None
    tau, gamma = float(math.exp(best.x[0])), float(best.x[1]) / 365.25
    shape = Shape(tau=tau, gamma=gamma).normalised(history.end)
    levels, loglik = _profiled(shape, history)
    half = f"{math.log(2) / gamma / 365.25:.1f} years" if gamma > 0 else "none"
    return Fit("ramp_decay", shape, levels, loglik, f"ramp-up time constant {tau:.0f} days, rate halving every {half}")


@dataclass(frozen=True)
class Choice:
    """The enrolment model a forecast uses, fitted to all the records, and why."""

    fit: Fit
    reason: str
    scores: dict[str, float]  # model -> leave-future-out log score (empty when not chosen by it)

    @property
    def model(self) -> str:
        return self.fit.model


def predictive_score(model_fit: Fit, history: Referrals, holdout: Referrals, shape_size: float) -> float:
    """The log predictive density of the holdout's monthly referral counts under a fit to the
    history before it: negative binomial, mean from the levels and the shape, size ``shape_size``."""
    start, end = history.end, holdout.end
    score, month = 0.0, start
    while month < end - 1e-9:
        upto = min(end, month + DAYS_PER_MONTH)
        window = {
            s: [(max(a, month), min(b, upto)) for a, b in sp if b > month and a < upto]
            for s, sp in holdout.spells.items()
        }
        mean = sum(
            model_fit.levels.get(s, _new_site_level(model_fit)) * model_fit.exposure(sp) for s, sp in window.items()
        )
        count = sum(1 for ds in holdout.days.values() for d in ds if month <= d < upto)
        score += _negative_binomial(count, mean, shape_size)
        month = upto
    return score


def _new_site_level(model_fit: Fit) -> float:
    """A site that was not active in the training months: the active sites' mean level."""
    levels = [v for v in model_fit.levels.values() if v > 0]
    return float(np.mean(levels)) if levels else 0.0


def _negative_binomial(count: int, mean: float, size: float) -> float:
    mean = max(mean, 1e-9)
    p = size / (size + mean)
    return float(
        special.gammaln(count + size)
        - special.gammaln(size)
        - special.gammaln(count + 1)
        + size * math.log(p)
        + count * math.log1p(-p)
    )


def choose(scenario: Scenario, history: Referrals, forced: str | None = None) -> Choice:
    """The model a forecast from ``history`` uses (``forced``, or by leave-future-out), fitted to it all."""
    learning = scenario.learning
    piece_days = learning.piece_months * DAYS_PER_MONTH
    if scenario.referral_trend is not None and forced is None:
        return Choice(_stated(scenario.referral_trend, history), "the scenario states its referral_trend", {})
    wanted = forced or learning.enrolment_model
    if wanted != "auto":
        return Choice(
            fit(wanted, history, piece_days),
            f"chosen by {'--enrolment-model' if forced else 'learning.enrolment_model'}",
            {},
        )
    first = history.first_day()
    span = history.end - first if first is not None else 0.0
    holdout_days = min(learning.holdout_months * DAYS_PER_MONTH, span / 3)
    if first is None or span - holdout_days < MIN_TRAINING_DAYS or holdout_days < MIN_HOLDOUT_DAYS:
        months = span / DAYS_PER_MONTH
        return Choice(
            fit("homogeneous", history, piece_days),
            f"too little history to tell a drift ({months:.1f} months of referrals)",
            {},
        )
    cut = history.end - holdout_days
    training = history.until(cut)
    size = max(1.0, training.count + _prior_shape(scenario))
    scores = {m: predictive_score(fit(m, training, piece_days), training, history, size) for m in MODELS}
    drifting = max(("piecewise", "ramp_decay"), key=lambda m: scores[m])
    margin = scores[drifting] - scores["homogeneous"]
    chosen = drifting if margin > learning.drift_evidence else "homogeneous"
    listed = ", ".join(f"{m} {scores[m]:.1f}" for m in MODELS)
    months = holdout_days / DAYS_PER_MONTH
    reason = (
        f"leave-future-out log score of the last {months:.1f} months' referrals forecast from the months before: "
        f"{listed}; "
        + (
            f"{drifting} beats homogeneous by {margin:.1f} (> {learning.drift_evidence:g})"
            if chosen != "homogeneous"
            else f"no drifting model beats homogeneous by more than {learning.drift_evidence:g}"
        )
    )
    return Choice(fit(chosen, history, piece_days), reason, scores)


def _stated(trend: ReferralTrend, history: Referrals) -> Fit:
    """The scenario's own referral trend as a fit: the levels learned over exposure it weights, the
    trend itself carried forward unchanged (a planned ramp-up or pause is not second-guessed)."""
    shape = Shape(tuple(m * DAYS_PER_MONTH for m in trend.start_months), tuple(trend.factors))
    levels, loglik = _profiled(shape, history)
    return Fit("stated", shape, levels, loglik, "the scenario's referral_trend, as planned", stated=trend)


def _prior_shape(scenario: Scenario) -> float:
    """The sites' Gamma prior shapes together (1/CV^2 each): what the levels are worth before any referral."""
    return sum(site.count / site.referral_rate_cv**2 for site in scenario.sites if site.referral_rate_cv > 0)
