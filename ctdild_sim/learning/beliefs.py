"""Beliefs about one assumption: a prior, updated by data, from which each replicate draws.

Four kinds, each with its closed-form (or exact numerical) update:

- ``GammaBelief``: a rate (referrals per month, a hazard per year). Gamma(shape, rate) prior,
  Poisson counts over an exposure: Gamma(shape + events, rate + exposure) (the Poisson-Gamma
  conjugate update of Anisimov and Fedorov's recruitment model);
- ``BetaBelief``: a probability per event. Beta(a, b), successes out of trials: Beta(a + k, b + n - k);
- ``DirichletBelief``: the probabilities of several outcomes. Dirichlet(alpha) plus counts;
- ``ScaleBelief``: the scale f of a declared distribution (a duration or a lot's yield is f X with X
  the scenario's distribution). Normal prior on log f; observations known to a day (interval
  censored) or still running (right censored) update it exactly on a grid of log f.

Every belief says its mean and 90% interval, and draws with a generator handed in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

LOW, HIGH = 0.05, 0.95
"""The interval every belief reports: 90%, central."""


@dataclass(frozen=True)
class GammaBelief:
    """A rate: Gamma(shape, rate), the rate in events per unit of exposure."""

    shape: float
    rate: float

    @classmethod
    def from_mean(cls, mean: float, strength: float) -> GammaBelief:
        """A prior of mean ``mean`` worth ``strength`` events."""
        return cls(strength, strength / mean)

    def update(self, events: float, exposure: float) -> GammaBelief:
        return GammaBelief(self.shape + events, self.rate + exposure)

    @property
    def mean(self) -> float:
        return self.shape / self.rate

    def interval(self) -> tuple[float, float]:
        from scipy import special  # not scipy.stats: importing it took 0.8 s of a forecast

        scale = 1 / self.rate  # the gamma quantile as scipy.stats computes it
        return float(special.gammaincinv(self.shape, LOW) * scale), float(special.gammaincinv(self.shape, HIGH) * scale)

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.gamma(self.shape, 1 / self.rate))

    def p_no_events(self, exposure: float) -> float:
        """P(no event in ``exposure``) with the rate unknown (the Gamma-Poisson at zero)."""
        return (self.rate / (self.rate + exposure)) ** self.shape


@dataclass(frozen=True)
class BetaBelief:
    """A probability: Beta(a, b)."""

    a: float
    b: float

    @classmethod
    def from_mean(cls, mean: float, strength: float) -> BetaBelief:
        """A prior of mean ``mean`` worth ``strength`` trials."""
        return cls(strength * mean, strength * (1 - mean))

    def update(self, successes: float, trials: float) -> BetaBelief:
        return BetaBelief(self.a + successes, self.b + max(0.0, trials - successes))

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def interval(self) -> tuple[float, float]:
        from scipy import special

        return float(special.betaincinv(self.a, self.b, LOW)), float(special.betaincinv(self.a, self.b, HIGH))

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.beta(self.a, self.b))


@dataclass(frozen=True)
class DirichletBelief:
    """Outcome probabilities: Dirichlet(alphas)."""

    alphas: tuple[float, ...]

    @classmethod
    def from_means(cls, means: tuple[float, ...], strength: float) -> DirichletBelief:
        return cls(tuple(strength * m for m in means))

    def update(self, counts: tuple[float, ...]) -> DirichletBelief:
        return DirichletBelief(tuple(a + c for a, c in zip(self.alphas, counts, strict=True)))

    @property
    def means(self) -> tuple[float, ...]:
        total = sum(self.alphas)
        return tuple(a / total for a in self.alphas)

    def intervals(self) -> list[tuple[float, float]]:
        """Each outcome's marginal interval (its marginal is Beta(alpha_k, sum - alpha_k))."""
        total = sum(self.alphas)
        return [BetaBelief(a, total - a).interval() for a in self.alphas]

    def draw(self, rng: np.random.Generator) -> tuple[float, ...]:
        return tuple(float(x) for x in rng.dirichlet(self.alphas))


GRID = np.linspace(-4.0, 4.0, 1601)
"""Values of log f a scale belief is computed on (f from 0.018 to 55, steps of 0.5%)."""
BLOCK = 256
"""Distinct observations a scale update evaluates at once: a grid x BLOCK array (3 MB), whatever
the number of observations."""


def _counted(observations) -> dict:
    """Observations as a mapping from each distinct one to how often it was made."""
    if isinstance(observations, Mapping):
        return {k: n for k, n in observations.items() if n}
    counted: dict = {}
    for x in observations:
        counted[x] = counted.get(x, 0) + 1
    return counted


@dataclass(frozen=True)
class ScaleBelief:
    """The scale f of a declared distribution, on a grid of log f: ``weights`` is the posterior
    probability of each grid point."""

    weights: tuple[float, ...]

    @classmethod
    def prior(cls, log_sd: float) -> ScaleBelief:
        """log f ~ Normal(0, log_sd^2): the planning guess (f = 1) give or take ``log_sd``."""
        z = GRID / log_sd  # the normal log density, computed as scipy.stats.norm.logpdf does
        log_w = -(z**2) / 2.0 - np.log(np.sqrt(2 * np.pi)) - np.log(log_sd)
        return cls._normalised(log_w)

    @classmethod
    def _normalised(cls, log_w: np.ndarray) -> ScaleBelief:
        w = np.exp(log_w - log_w.max())
        return cls(tuple((w / w.sum()).tolist()))

    def update(self, dist, within, beyond) -> ScaleBelief:
        """Observations of f X: each of ``within`` lay in [low, high], each of ``beyond`` was still
        running at that value (right censored). ``dist``: the declared distribution of X. Each may
        be a sequence of observations or a mapping from an observation to how often it was made
        (sufficient statistics: the cost grows with the distinct values, in blocks of ``BLOCK``)."""
        within, beyond = _counted(within), _counted(beyond)
        if not within and not beyond:
            return self
        with np.errstate(divide="ignore"):
            log_w = np.log(np.asarray(self.weights))
        scale = np.exp(GRID)[:, None]
        values = list(within.items())
        for k in range(0, len(values), BLOCK):
            block = values[k : k + BLOCK]
            low = np.array([lo for (lo, _), _ in block], dtype=float)[None, :]
            high = np.array([hi for (_, hi), _ in block], dtype=float)[None, :]
            count = np.array([n for _, n in block], dtype=float)
            chance = dist.sf(low / scale) - dist.sf(high / scale)
            log_w = log_w + np.log(np.maximum(chance, 1e-300)) @ count
        running = list(beyond.items())
        for k in range(0, len(running), BLOCK):
            block = running[k : k + BLOCK]
            value = np.array([v for v, _ in block], dtype=float)[None, :]
            count = np.array([n for _, n in block], dtype=float)
            log_w = log_w + np.log(np.maximum(dist.sf(value / scale), 1e-300)) @ count
        return self._normalised(log_w)

    @property
    def mean(self) -> float:
        return float(np.dot(self.weights, np.exp(GRID)))

    @functools.cached_property
    def cdf(self) -> np.ndarray:
        """The cumulative weights, summed once: every forecast replicate draws from them."""
        return np.cumsum(self.weights)

    def __getstate__(self) -> dict:
        """Without the summed weights: a search sends the posterior with every chunk of replicates,
        and the sums doubled its size (a worker sums them again in microseconds)."""
        return {k: v for k, v in self.__dict__.items() if k != "cdf"}

    def quantile(self, q: float) -> float:
        return float(np.exp(np.interp(q, self.cdf, GRID)))

    def interval(self) -> tuple[float, float]:
        return self.quantile(LOW), self.quantile(HIGH)

    def draw(self, rng: np.random.Generator) -> float:
        return self.quantile(float(rng.random()))


def log_spread(dist, rng_seed: int = 0, n: int = 20_000) -> float:
    """The standard deviation of log X for a declared distribution (exact for a lognormal)."""
    if hasattr(dist, "sigma"):
        return float(dist.sigma)
    x = dist.sample_many(np.random.default_rng(rng_seed), n)
    return float(np.std(np.log(np.maximum(x, 1e-3))))


def interval_of_day(days: float) -> tuple[float, float]:
    """A duration recorded in whole days lay within half a day of it (never below 0)."""
    return max(0.0, days - 0.5), days + 0.5


def is_positive(x: float) -> bool:
    return x > 0 and math.isfinite(x)
