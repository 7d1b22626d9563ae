"""ctdild-sim: trial simulation and operations planning for NCT06574581 (AD-MSC in CTD-ILD).

The library is the model; the CLI (``ctdild_sim.cli``) and the dashboard (``dashboard``) only
call it. Start with ``ctdild_sim.loading.load_scenario`` and ``ctdild_sim.runner.run_scenario``.
"""

__version__ = "0.1.0"
