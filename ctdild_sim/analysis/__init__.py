"""What a run's replicates mean: pure functions of their tables.

- ``metrics``: per-replicate metrics from one replicate's event log;
- ``supply_metrics``: a replicate's lot table, weekly supply series and supply metrics;
- ``tables``: replicate records as long, tidy tables (the output contract);
- ``summary``: milestone quantiles, completion probability, screen failures, safety;
- ``supply_summary``: lots needed and when, waste, stock-out risk;
- ``bands``: weekly demand and progress bands that stream (no replicate kept);
- ``costs``: what a run costs, from its lots, metrics and the scenario's prices;
- ``compare``: scenarios compared on common random numbers;
- ``sensitivity``: one-at-a-time sensitivity, paired on common random numbers;
- ``ranking``: the share of each outcome's variance each drawn quantity explains;
- ``forecast``: what a forecast from records says, against the plan;
- ``scores``: how good a forecast was once the truth is known (coverage, interval score, CRPS).

May import: ``scenario``, ``sim``, ``supply``, ``model``, ``actuals`` and ``learning``.
"""
