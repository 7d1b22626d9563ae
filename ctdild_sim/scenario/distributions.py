"""Probability distributions declared in scenario files.

A scenario never names a distribution in code: every uncertain duration or quantity is written in
the YAML file as a small mapping tagged by ``dist``, for example::

    duration_days: {dist: lognormal, median: 14, p90: 30}
    weight_kg:     {dist: normal, mean: 57, sd: 9, low: 35, high: 120}
    interval_days: {dist: fixed, value: 28}

Each class validates its own parameters, exposes its analytic ``mean`` (so tests can compare
samples to closed forms, as ciw does) and draws with a ``numpy.random.Generator`` handed in by the
caller. For a trial under way, ``remaining(rng, elapsed)`` draws what is left of a duration that
has already lasted ``elapsed`` (the distribution conditioned on being longer than that, drawn by
inverting its upper tail), ``survival(x)`` (and ``sf`` on arrays) is P(X > x), and ``scaled(f)``
is the distribution of f X (what a forecast that learns a duration's scale draws from).
Lognormals are given by median and 90th percentile because that is how clinicians state durations
("usually two weeks, rarely more than a month").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from ctdild_sim.scenario.base import StrictModel

Z90 = 1.2815515655446004
"""The standard normal 90th percentile, used to turn (median, p90) into a lognormal sigma."""
MAX_SPREAD = 1000.0
"""Largest p90 / median of a lognormal and largest sd / mean of a gamma: wider than any duration
or quantity a planner states, and far from where the draws overflow."""
MIN_GAMMA_CV = 1e-3
"""Smallest sd / mean of a gamma (its shape is (mean/sd)^2; a near-zero sd overflows it): use
``fixed`` for a value without uncertainty."""


def lognormal_from_normals(median, sigma, z: np.ndarray) -> np.ndarray:
    """A lognormal's draws from standard normals ``z``; parameters may be columns (one row of ``z``
    a distribution), so several distributions' draws are made at once with the same values."""
    return median * np.exp(sigma * z)


def normal_from_normals(mean, sd, low, high, z: np.ndarray) -> np.ndarray:
    """A clipped normal's draws from standard normals ``z`` (parameters may be columns, as above;
    a bound of None, or of -inf/inf in a column, does not clip)."""
    x = mean + sd * z
    if low is not None:  # np.maximum/np.minimum: the same values as np.clip, at a third of its cost
        x = np.maximum(x, low)
    if high is not None:
        x = np.minimum(x, high)
    return x


class _LazySpecial:
    """``scipy.special``, imported when first used: it costs 0.15 s of every command's start-up,
    and only a restarted trial's conditional draws and the survival functions need it."""

    def __getattr__(self, name: str):
        from scipy import special

        return getattr(special, name)


special = _LazySpecial()


class Fixed(StrictModel):
    """A constant: no uncertainty."""

    dist: Literal["fixed"] = Field(description="Distribution tag.")
    value: float = Field(ge=0, description="The constant value.")

    @property
    def mean(self) -> float:
        return self.value

    def parameters(self) -> dict[str, float]:
        return {"value": self.value}

    def survival(self, x: float) -> float:
        return 1.0 if x < self.value else 0.0

    def sf(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) < self.value).astype(float)

    def scaled(self, factor: float) -> Fixed:
        return self.model_copy(update={"value": self.value * factor})

    def remaining(self, rng: np.random.Generator, elapsed: float) -> float:
        return max(0.0, self.value - elapsed)

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Exponential(StrictModel):
    """Memoryless waiting time with the given mean."""

    dist: Literal["exponential"] = Field(description="Distribution tag.")
    mean_value: float = Field(gt=0, alias="mean", description="Mean of the distribution.")

    @property
    def mean(self) -> float:
        return self.mean_value

    def parameters(self) -> dict[str, float]:
        return {"mean": self.mean_value}

    def survival(self, x: float) -> float:
        return math.exp(-max(x, 0.0) / self.mean_value)

    def sf(self, x: np.ndarray) -> np.ndarray:
        return np.exp(-np.maximum(np.asarray(x, dtype=float), 0.0) / self.mean_value)

    def scaled(self, factor: float) -> Exponential:
        return self.model_copy(update={"mean_value": self.mean_value * factor})

    def remaining(self, rng: np.random.Generator, elapsed: float) -> float:
        return float(rng.exponential(self.mean_value))  # memoryless: the elapsed time does not matter

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean_value))

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_value, n)


class LogNormal(StrictModel):
    """Right-skewed positive duration given by its median and 90th percentile."""

    dist: Literal["lognormal"] = Field(description="Distribution tag.")
    median: float = Field(gt=0, description="Median (50th percentile).")
    p90: float = Field(gt=0, description="90th percentile; must exceed the median.")

    @model_validator(mode="after")
    def _p90_above_median(self) -> LogNormal:
        if self.p90 <= self.median:
            raise ValueError(f"p90 (={self.p90}) must be greater than median (={self.median})")
        if self.p90 > MAX_SPREAD * self.median:
            raise ValueError(f"p90 (={self.p90:g}) must be at most {MAX_SPREAD:g} times the median (={self.median:g})")
        return self

    def parameters(self) -> dict[str, float]:
        return {"median": self.median, "p90": self.p90}

    def survival(self, x: float) -> float:
        return 1.0 if x <= 0 else float(special.ndtr(-math.log(x / self.median) / self.sigma))

    def sf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(x <= 0, 1.0, special.ndtr(-np.log(np.maximum(x, 1e-300) / self.median) / self.sigma))

    def scaled(self, factor: float) -> LogNormal:
        return self.model_copy(update={"median": self.median * factor, "p90": self.p90 * factor})

    def remaining(self, rng: np.random.Generator, elapsed: float) -> float:
        tail = self.survival(elapsed)
        if tail <= 0.0:
            return 0.0
        z = -special.ndtri(rng.uniform(0.0, tail))  # the upper tail beyond ``elapsed``, by inversion
        return max(0.0, float(self.median * math.exp(self.sigma * z)) - elapsed)

    @cached_property
    def sigma(self) -> float:
        return math.log(self.p90 / self.median) / Z90

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator) -> float:
        return float(self.median * math.exp(self.sigma * rng.standard_normal()))

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return lognormal_from_normals(self.median, self.sigma, rng.standard_normal(n))


class Gamma(StrictModel):
    """Positive quantity given by mean and standard deviation (shape = (mean/sd)^2)."""

    dist: Literal["gamma"] = Field(description="Distribution tag.")
    mean_value: float = Field(gt=0, alias="mean", description="Mean of the distribution.")
    sd: float = Field(gt=0, description="Standard deviation.")

    @model_validator(mode="after")
    def _spread(self) -> Gamma:
        cv = self.sd / self.mean_value
        if not MIN_GAMMA_CV <= cv <= MAX_SPREAD:
            raise ValueError(
                f"sd / mean (={cv:.3g}) must be between {MIN_GAMMA_CV:g} and {MAX_SPREAD:g}"
                + ("; for a value without uncertainty use {dist: fixed, value: ...}" if cv < MIN_GAMMA_CV else "")
            )
        return self

    @property
    def mean(self) -> float:
        return self.mean_value

    def parameters(self) -> dict[str, float]:
        return {"mean": self.mean_value, "sd": self.sd}

    @property
    def scale(self) -> float:
        return self.sd**2 / self.mean_value

    def survival(self, x: float) -> float:
        return 1.0 if x <= 0 else float(special.gammaincc(self.shape, x / self.scale))

    def sf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.where(x <= 0, 1.0, special.gammaincc(self.shape, np.maximum(x, 0.0) / self.scale))

    def scaled(self, factor: float) -> Gamma:
        return self.model_copy(update={"mean_value": self.mean_value * factor, "sd": self.sd * factor})

    def remaining(self, rng: np.random.Generator, elapsed: float) -> float:
        tail = self.survival(elapsed)
        if tail <= 0.0:
            return 0.0
        x = special.gammainccinv(self.shape, rng.uniform(0.0, tail)) * self.scale
        return max(0.0, float(x) - elapsed)

    @property
    def shape(self) -> float:
        return (self.mean_value / self.sd) ** 2

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.gamma(self.shape, self.sd**2 / self.mean_value))

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.shape, self.sd**2 / self.mean_value, n)


class Normal(StrictModel):
    """Symmetric quantity (age, weight), clipped to [low, high] when bounds are given."""

    dist: Literal["normal"] = Field(description="Distribution tag.")
    mean_value: float = Field(alias="mean", description="Mean before clipping.")
    sd: float = Field(ge=0, description="Standard deviation before clipping.")
    low: float | None = Field(default=None, description="Values below are set to this bound.")
    high: float | None = Field(default=None, description="Values above are set to this bound.")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Normal:
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low (={self.low}) must be less than high (={self.high})")
        return self

    @property
    def mean(self) -> float:
        """Mean before clipping (clipping is meant to trim rare implausible tails only)."""
        return self.mean_value

    def parameters(self) -> dict[str, float]:
        bounds = {k: v for k, v in (("low", self.low), ("high", self.high)) if v is not None}
        return {"mean": self.mean_value, "sd": self.sd, **bounds}

    def survival(self, x: float) -> float:
        """P(X > x) of the clipped value (its mass at ``low`` and ``high`` included)."""
        if self.high is not None and x >= self.high:
            return 0.0
        if self.low is not None and x < self.low:
            return 1.0
        if self.sd == 0:
            return 1.0 if self.mean_value > x else 0.0
        return float(special.ndtr((self.mean_value - x) / self.sd))

    def sf(self, x: np.ndarray) -> np.ndarray:
        return np.array([self.survival(v) for v in np.asarray(x, dtype=float).ravel()]).reshape(np.shape(x))

    def scaled(self, factor: float) -> Normal:
        bounds = {k: (v * factor if v is not None else None) for k, v in (("low", self.low), ("high", self.high))}
        return self.model_copy(update={"mean_value": self.mean_value * factor, "sd": self.sd * factor, **bounds})

    def remaining(self, rng: np.random.Generator, elapsed: float) -> float:
        tail = self.survival(elapsed)
        if tail <= 0.0:
            return 0.0
        if self.sd == 0:
            x = self.mean_value
        else:
            x = self.mean_value - self.sd * float(special.ndtri(rng.uniform(0.0, tail)))
        if self.low is not None:
            x = max(x, self.low)
        if self.high is not None:
            x = min(x, self.high)
        return max(0.0, x - elapsed)

    def sample(self, rng: np.random.Generator) -> float:
        x = self.mean_value + self.sd * rng.standard_normal()
        if self.low is not None:
            x = max(x, self.low)
        if self.high is not None:
            x = min(x, self.high)
        return float(x)

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return normal_from_normals(self.mean_value, self.sd, self.low, self.high, rng.standard_normal(n))


class Uniform(StrictModel):
    """Every value in [low, high] equally likely."""

    dist: Literal["uniform"] = Field(description="Distribution tag.")
    low: float = Field(description="Lower bound.")
    high: float = Field(description="Upper bound; must exceed low.")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Uniform:
        if self.low >= self.high:
            raise ValueError(f"low (={self.low}) must be less than high (={self.high})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def parameters(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high}

    def survival(self, x: float) -> float:
        return min(1.0, max(0.0, (self.high - x) / (self.high - self.low)))

    def sf(self, x: np.ndarray) -> np.ndarray:
        return np.clip((self.high - np.asarray(x, dtype=float)) / (self.high - self.low), 0.0, 1.0)

    def scaled(self, factor: float) -> Uniform:
        return self.model_copy(update={"low": self.low * factor, "high": self.high * factor})

    def remaining(self, rng: np.random.Generator, elapsed: float) -> float:
        if elapsed >= self.high:
            return 0.0
        return float(rng.uniform(max(self.low, elapsed), self.high)) - elapsed

    def sample(self, rng: np.random.Generator) -> float:
        # low + (high - low) * U is what Generator.uniform computes, at a third of its scalar cost
        return self.low + (self.high - self.low) * float(rng.random())

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


Distribution = Annotated[
    Fixed | Exponential | LogNormal | Gamma | Normal | Uniform,
    Field(discriminator="dist"),
]
"""Any distribution a scenario may declare, picked by its ``dist`` tag."""


def can_be_negative(d: Fixed | Exponential | LogNormal | Gamma | Normal | Uniform) -> bool:
    """Whether a distribution can draw a negative value (not allowed for durations)."""
    if isinstance(d, Normal):
        return d.low is None or d.low < 0
    if isinstance(d, Uniform):
        return d.low < 0
    return False


def _check_non_negative(d: Fixed | Exponential | LogNormal | Gamma | Normal | Uniform):
    if can_be_negative(d):
        raise ValueError("can draw negative values here; give it a 'low' of at least 0")
    return d


NonNegativeDistribution = Annotated[Distribution, AfterValidator(_check_non_negative)]
"""A distribution that never draws below 0: durations, doses, laboratory values."""


@dataclass(frozen=True)
class ParameterRange:
    """The plausible range of a quantity a distribution describes: each of its location
    parameters (value, mean, median, p90, low, high) must lie in [low, high], and its sd must not
    exceed the width of the range. Drawn values can still fall outside it, rarely."""

    low: float
    high: float
    unit: str

    def __call__(self, d: Fixed | Exponential | LogNormal | Gamma | Normal | Uniform):
        for name, value in d.parameters().items():
            limit = (0.0, self.high - self.low) if name == "sd" else (self.low, self.high)
            if not limit[0] <= value <= limit[1]:
                raise ValueError(f"{name} (={value:g}) must be between {limit[0]:g} and {limit[1]:g} {self.unit}")
        return d

    def text(self) -> str:
        return f"{self.low:g} to {self.high:g} {self.unit}"


def ranged(low: float, high: float, unit: str, *, non_negative: bool = True):
    """A distribution field whose parameters must lie in [low, high] (``ParameterRange``); the
    range is shown in the JSON Schema and on the dashboard's scenario page."""
    check = ParameterRange(low, high, unit)
    base = NonNegativeDistribution if non_negative else Distribution
    return Annotated[base, AfterValidator(check), Field(json_schema_extra={"parameterRange": [low, high, unit]})]


MAX_DAYS = 3650.0
"""Longest duration a scenario declares (activation, screening, dosing, reviews, holds,
manufacturing, QC release): 10 years."""

if TYPE_CHECKING:  # what a type checker (and mypyc) sees; pydantic reads the checked type below
    Days = NonNegativeDistribution
else:
    Days = ranged(0, MAX_DAYS, "days")
