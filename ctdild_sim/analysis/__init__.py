"""What a run's replicates mean: per-replicate metrics as pure functions of the event log
(``metrics``, ``supply_metrics``), tidy tables (``tables``), summaries and quantiles across
replicates (``summary``, ``supply_summary``), streaming demand bands (``bands``) and the
common-random-number comparison of scenarios (``compare``).

May import: ``scenario``, ``sim``, ``supply`` and ``model``.
"""
