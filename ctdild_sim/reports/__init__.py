"""Reports for people: the terminal reports of the CLI (``terminal``, rich tables) and the
self-contained HTML report and its plotly figures (``html``, also drawn by the dashboard).

May import: ``studies``, ``runs`` and every layer below. Reports only format: every figure they
show is computed by the layers below.
"""
