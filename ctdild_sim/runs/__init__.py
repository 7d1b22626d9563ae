"""Many replicates: the runner (chunks on one core, many cores or a Dask cluster, byte-for-byte
the same tables whichever), the results store (``results``: one folder per run, written all or
nothing) and the atomic export of tables to a folder (``export``).

May import: every layer below (``scenario``, ``sim``, ``supply``, ``model``, ``analysis``).
Nothing below this layer imports from it, from ``reports``, from the CLI or from the dashboard.
"""
