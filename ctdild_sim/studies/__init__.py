"""Questions answered by many runs.

- ``plan``: the plan from day 0, to a stated precision if asked;
- ``forecast``: a trial under way, from its records: learned, restarted, set against the plan;
- ``backtest``: forecasts as of past dates from the records cut there, scored against what came;
- ``lot_plan``: the reorder policy that meets a stock-out target with the fewest lots;
- ``sensitivity``: every assumption moved alone to its low and high value;
- ``solve``: the value of one lever at which a target is met;
- ``calibration``: whether a forecast's intervals are calibrated (simulation-based).

May import: ``runs`` and every layer below it.
"""
