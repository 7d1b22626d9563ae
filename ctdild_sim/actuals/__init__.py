"""A trial's records: CSV files (or one workbook), checked (``rows``, ``reader``), translated into
the trace that drives the engine up to their as-of date (``trace``), read once for a forecast with
what the engine made of them (``records``), and synthetic records written from a simulated
replicate in the same format (``synthetic``).

May import: ``scenario``, ``sim``, ``supply`` and ``model``.
"""
