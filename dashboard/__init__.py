"""Dash dashboard over the scenario files and the results store (``app.create_app``). It renders
the library's view models (``ctdild_sim.views``) and holds no study's numbers or titles.

- ``app``: the app factory, the server's checks (Host, nesting) and the jobs' cache;
- ``pages``: one module per page, holding its address, layout, view and callbacks;
- ``shell``: the frame around the pages: links, run picker, run controls, drawing a view, exports;
- ``layout``: components: the frame, a page's frame, and how a view model is drawn;
- ``address``: the page's state in the address, and controls written into it;
- ``ids``: every component id, in one place;
- ``context``: what every callback works over, and the checks of what the browser sent;
- ``running``: jobs started from a page (runs stored), their wiring and the run picker;
- ``data``: the scenario files and stored runs the dashboard reads, never by a browser's path;
- ``jobs``: long jobs, one at a time, at low priority, ending with the server;
- ``bounded``: a visitor's records read in a child process within a time and memory budget.
"""

from dashboard.app import create_app

__all__ = ["create_app"]
