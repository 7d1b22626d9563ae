"""ctdild-sim: trial simulation and operations planning for NCT06574581 (AD-MSC in CTD-ILD).

The library is layered, bottom to top: ``scenario`` (what a trial is), ``sim`` (what a replicate
is built on), ``supply`` (the cell product), ``model`` (one replicate), ``analysis`` (what the
replicates mean), ``runs`` (many replicates, the results store), ``studies`` (questions answered
by many runs), ``reports`` (for people). The CLI (``ctdild_sim.cli``) and the dashboard
(``dashboard``) only call it. The names a script needs are here::

    import ctdild_sim
    scenario = ctdild_sim.load_scenario("scenarios/nct06574581.yaml")
    tables = ctdild_sim.run_scenario(scenario, replicates=500, seed=1)
    stored = ctdild_sim.results.load(run_id)
"""

__version__ = "0.1.0"  # first, so that modules importing it while this package loads find it

from ctdild_sim import results
from ctdild_sim.analysis.compare import headline, milestone_differences, milestone_quantiles
from ctdild_sim.analysis.summary import milestone_summary, probability_done_by
from ctdild_sim.runs.runner import run_scenario, simulate_metrics
from ctdild_sim.scenario.loading import ScenarioError, load_scenario, parse_scenario
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.studies.lot_plan import plan_lots

__all__ = [
    "Scenario",
    "ScenarioError",
    "headline",
    "load_scenario",
    "milestone_differences",
    "milestone_quantiles",
    "milestone_summary",
    "parse_scenario",
    "plan_lots",
    "probability_done_by",
    "results",
    "run_scenario",
    "simulate_metrics",
]
