"""Many replicates: run, stored, exported.

- ``runner``: replicates in chunks on one core, many cores or a Dask cluster, the same tables
  byte for byte whichever;
- ``local_dask``: ``--scheduler local``: a scheduler in this process and worker processes;
- ``results``: the results store, one folder per run, written all or nothing;
- ``record``: a run as the views read it (stored, or just made by the CLI);
- ``export``: a run's tables written to a folder (Parquet and CSV), all or nothing.

May import: every layer below (``scenario``, ``sim``, ``supply``, ``model``, ``actuals``,
``learning``, ``analysis``). Nothing below this layer imports from it, from ``views``, ``reports``, the
CLI or from the dashboard.
"""
