"""A trial's records: read, checked, and turned into what drives the engine.

- ``sources``: where records come from (a CSV folder, a workbook, a zip), read within limits;
- ``archive``: a records zip (the dashboard's upload) unpacked in memory, with limits;
- ``workbook``: records kept in Excel, and the empty template a coordinator fills in;
- ``sdtm_files``: a trial's CDISC SDTM datasets (XPT, Dataset-JSON, CSV) found and read within limits;
- ``sdtm_map``: SDTM datasets mapped to the records format, every row not mapped listed;
- ``cut``: records (or SDTM) as they stood on an earlier date, for a backtest;
- ``rows``: the format: one pydantic model per row of each table;
- ``lines``: checked rows with where they stand, and the tables they make;
- ``checks``: the tables checked against each other and against the scenario;
- ``reader``: reading records: every row and table checked, every problem reported;
- ``trace``: checked records translated into the engine's trace (days, components);
- ``records``: records read once for a forecast, with what the engine made of them;
- ``synthetic``: what a simulated replicate would have recorded, in the same format.

May import: ``scenario``, ``sim``, ``supply`` and ``model``.
"""
