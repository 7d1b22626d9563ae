"""Reports for people: every figure they show is computed by the layers below.

- ``columns``: how every column is labelled and formatted for people (the one place);
- ``figures``: plotly figures, pure functions of a run's tables (also drawn by the dashboard);
- ``terminal``: the CLI's reports as rich tables;
- ``pack``: a report as plain data (headline, tables, figures, manifests);
- ``html``: a pack as one self-contained HTML page;
- ``writers``: a pack written as HTML, PDF (printed by Chromium) or Excel, all or nothing.

May import: ``studies``, ``runs`` and every layer below.
"""
