"""The scenario: what a trial is and what is assumed about it, as validated data, and how files
become it.

Lives here: the strict pydantic models of a scenario (``trial``: sites, population, screening,
cohorts, dosing, safety, retention, follow-up; ``product``: the cell product and its supply
assumptions), the distributions a file may declare (``distributions``), the shared field types
and ranges (``base``), the YAML reader that no file can hang or crash (``yaml_reader``) and the
loading of files with their ``FILE: FIELD: PROBLEM`` messages (``loading``).

May import: nothing else of ``ctdild_sim`` (this is the bottom layer).
"""
