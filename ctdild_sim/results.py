"""``ctdild_sim.results``: the results store, where the README has always said it is (it lives in
``ctdild_sim.runs.results``)."""

from ctdild_sim.runs.results import StoredRun, StoreError, list_runs, load, load_table, manifest_of, scenario_of

__all__ = ["StoreError", "StoredRun", "list_runs", "load", "load_table", "manifest_of", "scenario_of"]
