"""ctdild-sim: trial simulation and operations planning for NCT06574581 (AD-MSC in CTD-ILD).

The library is layered, bottom to top (``tests/test_layers.py`` holds the order):

- ``scenario``: what a trial is and what is assumed about it, validated;
- ``sim``: what a replicate is built on (event log, random streams, timeouts, capacity, budget);
- ``supply``: the cell product inside a replicate;
- ``model``: one replicate, as simpy processes of the protocol;
- ``actuals``: a trial's records, checked and turned into the trace that drives the model;
- ``learning``: the scenario's assumptions updated by the records;
- ``analysis``: what the replicates mean (pure functions of their tables);
- ``runs``: many replicates, the results store, exports;
- ``studies``: questions answered by many runs (forecast, lot plan, sensitivity, solve, calibration);
- ``views``: one view model per study (headline answers, titled tables, figures), and how columns read;
- ``reports``: the view models for people (terminal, HTML, PDF, Excel).

Beside them: ``cli`` (the ``ctdild-sim`` command: options and rendering), ``__main__`` (its entry
point, quiet on an early Ctrl-C) and ``results`` (the store under its old name). The dashboard
(the top-level ``dashboard`` package) only calls the library. The names a script needs are here::

    import ctdild_sim
    scenario = ctdild_sim.load_scenario("scenarios/nct06574581.yaml")
    tables = ctdild_sim.run_scenario(scenario, replicates=500, seed=1)
    stored = ctdild_sim.results.load(run_id)
"""

__version__ = "0.1.0"

import importlib

_PUBLIC = {
    "results": "ctdild_sim.results",
    "headline": "ctdild_sim.analysis.compare",
    "milestone_differences": "ctdild_sim.analysis.compare",
    "milestone_quantiles": "ctdild_sim.analysis.compare",
    "milestone_summary": "ctdild_sim.analysis.summary",
    "probability_done_by": "ctdild_sim.analysis.summary",
    "run_scenario": "ctdild_sim.runs.runner",
    "simulate_metrics": "ctdild_sim.runs.runner",
    "ScenarioError": "ctdild_sim.scenario.loading",
    "load_scenario": "ctdild_sim.scenario.loading",
    "parse_scenario": "ctdild_sim.scenario.loading",
    "Scenario": "ctdild_sim.scenario.trial",
    "plan_lots": "ctdild_sim.studies.lot_plan",
}
"""The public names and their modules, imported when first asked for (PEP 562): importing the
package is instant, so the ``ctdild-sim`` command can take Ctrl-C while it loads the rest."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> object:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'ctdild_sim' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    value = module if name == "results" else getattr(module, name)
    globals()[name] = value
    return value
