"""What every part of a simulated replicate is built on: the event log (the replicate's only
output), per-replicate and per-component random streams, timeouts that lose every tie (inclusive
windows), first-come-first-served capacity, and the replicate's budget (the last line of defence
against a scenario that would run away).

May import: ``scenario``.
"""
