"""What every part of a simulated replicate is built on.

- ``events``: the event log, the replicate's only output;
- ``streams``: per-replicate, per-component random streams from one seed;
- ``timing``: timeouts that lose every tie (inclusive windows), and the end of a day;
- ``capacity``: places taken first come, first served (infusion beds, sentinel slots);
- ``memo``: values worked out once per scenario part;
- ``budget``: what one replicate may do at most (the last defence against a runaway).

May import: ``scenario``.
"""
