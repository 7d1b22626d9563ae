"""A trial's actual state on a date: its records as CSV files, checked (``rows``, ``reader``),
the state the engine restarts from derived from them by the protocol's rules (``state``), and
synthetic records written from a simulated replicate in the same format (``synthetic``).

May import: ``scenario``, ``sim``, ``supply`` and ``model``.
"""
