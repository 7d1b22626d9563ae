"""The engine against closed-form answers, with tolerances from the Monte Carlo standard error.

Every check uses a fixed seed and a tolerance of Z standard errors; Z = 4 makes a false alarm a
1-in-15,000 event per check, so a failure means the model, not the dice.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ctdild_sim.analysis.metrics import replicate_metrics
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.model.referrals import DAYS_PER_MONTH

from conftest import fixed, make_scenario

Z = 4.0
SEED = 20240820


def poisson_site(rate_per_month: float, cv: float = 0.0) -> list[dict]:
    return [
        {
            "name": "S",
            "activation_days": fixed(0),
            "referral_rate_per_month": rate_per_month,
            "referral_rate_cv": cv,
            "referral_process": "poisson",
        }
    ]


class TestTimeToNthEligibleCandidate:
    """Poisson referrals at rate r, each eligible with probability f, screening taking no time:
    the n-th eligible candidate arrives at a Gamma(n, r f) time."""

    RATE = 3.0  # per month
    ELIGIBLE = 0.6  # only the family-support interview screens people out
    N = 5
    REPLICATES = 2000

    @pytest.fixture(scope="class")
    @classmethod
    def times(cls) -> np.ndarray:
        scenario = make_scenario(
            sites=poisson_site(cls.RATE),
            population={"family_support": cls.ELIGIBLE},
            screening={"duration_days": fixed(0)},
            cohorts=[{"name": "all", "size": 10, "infusions": 1, "dose_cells_per_kg": 1e6}],
        )
        out = []
        for r in range(cls.REPLICATES):
            result = run_replicate(scenario, SEED, r)
            passes = sorted(e.day for e in result.events if e.event == "screen_passed")
            out.append(passes[cls.N - 1])
        return np.array(out)

    @property
    def law(self):
        rate_per_day = self.RATE / DAYS_PER_MONTH * self.ELIGIBLE
        return stats.gamma(a=self.N, scale=1 / rate_per_day)

    def test_mean(self, times):
        se = self.law.std() / math.sqrt(len(times))
        assert abs(times.mean() - self.law.mean()) < Z * se

    @pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
    def test_quantiles(self, times, q):
        x = self.law.ppf(q)
        se = math.sqrt(q * (1 - q) / len(times)) / self.law.pdf(x)
        assert abs(np.quantile(times, q) - x) < Z * se

    def test_whole_distribution(self, times):
        assert stats.kstest(times, self.law.cdf).pvalue > 1e-4


def test_poisson_gamma_referral_counts():
    """With the site rate drawn from a Gamma(mean m, CV c), referrals by day T are negative
    binomial: mean mT and variance mT + (c m T)^2."""
    rate, cv, horizon, replicates = 2.0, 0.5, 365.0, 2000
    scenario = make_scenario(
        sites=poisson_site(rate, cv),
        population={"consents": 0.0},  # nobody eligible, so recruitment never closes
        horizon_days=horizon,
    )
    counts = np.array(
        [replicate_metrics(run_replicate(scenario, SEED, r), scenario)["n_referred"] for r in range(replicates)]
    )
    mean = rate / DAYS_PER_MONTH * horizon
    var = mean + (cv * mean) ** 2
    assert abs(counts.mean() - mean) < Z * math.sqrt(var / replicates)
    centred = counts - counts.mean()
    m4 = np.mean(centred**4)
    se_var = math.sqrt((m4 - counts.var() ** 2) / replicates)
    assert abs(counts.var(ddof=1) - var) < Z * se_var
    # and the heterogeneity is real: far more spread than a plain Poisson count
    assert counts.var() > 2 * mean


class TestGateProbabilities:
    """Any triggering AE stops the trial (stop = 1), so cohort k passes its gate exactly when none
    of the infusions up to and including cohort k had one: the product of no-AE probabilities."""

    P = ((0.10,), (0.05, 0.05), (0.02, 0.02, 0.02))
    REPLICATES = 2000

    @pytest.fixture(scope="class")
    @classmethod
    def metrics(cls) -> list[dict]:
        scenario = make_scenario(
            safety={
                "adverse_events": [
                    {
                        "name": "serious",
                        "probability": [list(row) for row in cls.P],
                        "triggers_review": True,
                        "onset_days": fixed(5),
                    }
                ],
                "review_outcomes": {"resume": 0.0, "repeat_cohort": 0.0, "stop": 1.0},
            }
        )
        return [replicate_metrics(run_replicate(scenario, SEED, r), scenario) for r in range(cls.REPLICATES)]

    @pytest.mark.parametrize("k", [1, 2, 3])
    def test_gate_k(self, metrics, k):
        sizes = [3, 4, 3]
        expected = math.prod((1 - p) ** sizes[c] for c in range(k) for p in self.P[c])
        observed = np.mean([not math.isnan(m[f"cohort{k}_gate_day"]) for m in metrics])
        se = math.sqrt(expected * (1 - expected) / len(metrics))
        assert abs(observed - expected) < Z * se

    def test_stop_iff_triggering_ae(self, metrics):
        for m in metrics:
            assert m["stopped_early"] == (m["n_triggering_ae"] > 0)
