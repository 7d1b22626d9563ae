"""Dash dashboard over the scenario files and the results store (``app.create_app``).

- ``app``: the app factory, the server's checks (Host, nesting) and the jobs' cache;
- ``pages``: one module per page (its address and layout);
- ``layout``: the frame every page shares, and how a view is drawn;
- ``ids``: every component id, in one place;
- ``views``: what each page shows for a set of runs (figures and tables);
- ``figures``: the dashboard's own figures, pure functions of a run's tables;
- ``context``: what every callback works over, and the checks of what the browser sent;
- ``callbacks``: one plain function per callback, and their wiring;
- ``running``: jobs started from a page (runs stored), their wiring and the run picker;
- ``scenario_editor``: the Scenario page's tree and editor;
- ``data``: the scenario files and stored runs the dashboard reads, never by a browser's path;
- ``jobs``: long jobs, one at a time, at low priority, ending with the server;
- ``bounded``: a visitor's records read in a child process within a time and memory budget.
"""

from dashboard.app import create_app

__all__ = ["create_app"]
