"""Each scenario distribution against its analytic mean and defining quantiles (fixed seeds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from ctdild_sim.scenario.distributions import Distribution, can_be_negative

ADAPTER = TypeAdapter(Distribution)
Z = 4.0
N = 20_000


def parse(spec: dict):
    return ADAPTER.validate_python(spec)


def draws(spec: dict, seed: int = 7) -> np.ndarray:
    d = parse(spec)
    rng = np.random.default_rng(seed)
    return np.array([d.sample(rng) for _ in range(N)])


@pytest.mark.parametrize(
    ("spec", "sd"),
    [
        ({"dist": "exponential", "mean": 12.0}, 12.0),
        ({"dist": "gamma", "mean": 10.0, "sd": 4.0}, 4.0),
        ({"dist": "normal", "mean": 57.0, "sd": 9.0}, 9.0),
        ({"dist": "uniform", "low": 0.0, "high": 28.0}, 28.0 / math.sqrt(12)),
    ],
)
def test_sample_mean_matches_analytic_mean(spec, sd):
    x = draws(spec)
    assert abs(x.mean() - parse(spec).mean) < Z * sd / math.sqrt(N)
    assert x.std() == pytest.approx(sd, rel=0.05)


def test_lognormal_median_p90_and_mean():
    spec = {"dist": "lognormal", "median": 14.0, "p90": 30.0}
    d = parse(spec)
    x = draws(spec)
    for q, target in ((0.5, 14.0), (0.9, 30.0)):
        se = math.sqrt(q * (1 - q) / N) / _lognormal_pdf(target, d)
        assert abs(np.quantile(x, q) - target) < Z * se
    sd = d.mean * math.sqrt(math.exp(d.sigma**2) - 1)
    assert abs(x.mean() - d.mean) < Z * sd / math.sqrt(N)


def _lognormal_pdf(x: float, d) -> float:
    mu = math.log(d.median)
    return math.exp(-((math.log(x) - mu) ** 2) / (2 * d.sigma**2)) / (x * d.sigma * math.sqrt(2 * math.pi))


def test_fixed_is_constant():
    assert set(draws({"dist": "fixed", "value": 28.0})) == {28.0}


def test_normal_clipping_bounds():
    x = draws({"dist": "normal", "mean": 57.0, "sd": 30.0, "low": 35.0, "high": 120.0})
    assert x.min() == 35.0 and x.max() == 120.0


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "lognormal", "median": 14.0, "p90": 10.0},
        {"dist": "uniform", "low": 5.0, "high": 5.0},
        {"dist": "gamma", "mean": -1.0, "sd": 1.0},
        {"dist": "exponential", "mean": 0.0},
        {"dist": "fixed", "value": -3.0},
        {"dist": "normal", "mean": 1.0, "sd": 1.0, "low": 2.0, "high": 1.0},
        {"dist": "weibull", "shape": 2.0},
        {"dist": "fixed", "value": 1.0, "extra": 2.0},
    ],
)
def test_invalid_parameters_are_rejected(spec):
    with pytest.raises(ValidationError):
        parse(spec)


def test_can_be_negative():
    assert can_be_negative(parse({"dist": "normal", "mean": 14.0, "sd": 5.0}))
    assert not can_be_negative(parse({"dist": "normal", "mean": 14.0, "sd": 5.0, "low": 0.0}))
    assert can_be_negative(parse({"dist": "uniform", "low": -1.0, "high": 1.0}))
    assert not can_be_negative(parse({"dist": "lognormal", "median": 1.0, "p90": 2.0}))


# -- what is left of a duration under way ----------------------------------------------------------


def _scipy(d):
    """The same distribution in scipy.stats, as the closed form to check against."""
    from scipy import stats

    return {
        "exponential": lambda: stats.expon(scale=d.mean),
        "lognormal": lambda: stats.lognorm(d.sigma, scale=d.median),
        "gamma": lambda: stats.gamma(d.shape, scale=d.scale),
        "uniform": lambda: stats.uniform(d.low, d.high - d.low),
        "normal": lambda: stats.norm(d.mean_value, d.sd),
    }[d.dist]()


@pytest.mark.parametrize(
    ("spec", "elapsed"),
    [
        ({"dist": "exponential", "mean": 12.0}, 30.0),  # memoryless: what is left is the whole again
        ({"dist": "lognormal", "median": 14.0, "p90": 28.0}, 20.0),
        ({"dist": "lognormal", "median": 30.0, "p90": 90.0}, 5.0),
        ({"dist": "gamma", "mean": 20.0, "sd": 8.0}, 25.0),
        ({"dist": "gamma", "mean": 10.0, "sd": 15.0}, 2.0),
        ({"dist": "uniform", "low": 0.0, "high": 28.0}, 10.0),
        ({"dist": "normal", "mean": 57.0, "sd": 9.0}, 60.0),
    ],
)
def test_remaining_time_matches_the_conditional_distribution(spec, elapsed):
    # X - e given X > e: mean E[X | X > e] - e, and quantile F^-1(F(e) + q (1 - F(e))) - e
    d = parse(spec)
    ref = _scipy(d)
    rng = np.random.default_rng(3)
    left = np.array([d.remaining(rng, elapsed) for _ in range(N)])
    assert (left >= 0).all()
    mean = ref.expect(lambda x: x, lb=elapsed, conditional=True) - elapsed
    sd = math.sqrt(ref.expect(lambda x: (x - elapsed - mean) ** 2, lb=elapsed, conditional=True))
    assert abs(left.mean() - mean) < Z * sd / math.sqrt(N)
    for q in (0.1, 0.5, 0.9):
        target = ref.ppf(ref.cdf(elapsed) + q * ref.sf(elapsed)) - elapsed
        density = ref.pdf(target + elapsed) / ref.sf(elapsed)
        assert abs(np.quantile(left, q) - target) < Z * math.sqrt(q * (1 - q) / N) / density
    assert d.survival(elapsed) == pytest.approx(ref.sf(elapsed), rel=1e-9)


def test_remaining_time_of_a_fixed_or_overdue_duration():
    fixed = parse({"dist": "fixed", "value": 14.0})
    rng = np.random.default_rng(1)
    assert fixed.remaining(rng, 10.0) == 4.0 and fixed.remaining(rng, 20.0) == 0.0
    assert parse({"dist": "uniform", "low": 0.0, "high": 28.0}).remaining(rng, 30.0) == 0.0
    clipped = parse({"dist": "normal", "mean": 57.0, "sd": 9.0, "low": 35.0, "high": 70.0})
    assert all(0 <= clipped.remaining(rng, 69.0) <= 1.0 for _ in range(100))  # the mass at 70 is reached
