"""The scenario: what a trial is and what is assumed about it, as validated data.

- ``base``: the strict pydantic base and the field types scenario models share;
- ``distributions``: the probability distributions a file may declare;
- ``eligibility``: the listing's eligibility thresholds as fields;
- ``product``: the cell product, its lots, stock policy and costs;
- ``trial``: the scenario itself (sites, population, screening, cohorts, safety, follow-up);
- ``yaml_reader``: YAML read so that no file can hang, exhaust or crash the reader;
- ``loading``: files into scenarios, every problem a ``FILE: FIELD: PROBLEM`` line;
- ``comments``: a file's comments by parameter (sources, WEAK flags);
- ``parameters``: every parameter as a row (path, value, range, description);
- ``paths``: fields by dotted path: read one, change one, validate again.
- ``reference``: the scenario reference for people (``docs/scenario-reference.md``), from the schema;
- ``notation``: how a number is written for people (cells, shares, quantities of any size), for
  every layer that writes one.

May import: nothing else of ``ctdild_sim`` (this is the bottom layer).
"""
