"""Reports for people: they render the studies' view models (``views``) and compute nothing.

- ``terminal``: a view model, and the results store's runs, as rich text and tables;
- ``pack``: a report as plain data (a view model's content; the steering pack of stored runs);
- ``html``: a pack as one self-contained HTML page;
- ``writers``: a pack written as HTML, PDF (printed by Chromium) or Excel, all or nothing.

May import: ``views``, ``studies``, ``runs`` and every layer below.
"""
