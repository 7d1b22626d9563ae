"""One view model per study: what the terminal, the dashboard and the packs render.

- ``view``: the ``View`` (headline answers, notes, figures, titled tables) and ``Answer``;
- ``columns``: how every column is labelled and formatted for people (the one place);
- ``figures``: figures several studies draw (distributions, differences, progress, tornado, ranking);
- ``run_figures``: figures of one run's tables (enrolment fan, Gantt chart, product, cohorts, screening);
- ``plan``: the plan from day 0, and the cohorts' and the screening's views of it;
- ``product``: the cell product's supply, demand, waste and cost;
- ``lot_plan``: a lot plan's answer and its search;
- ``forecast``: a trial under way, from a stored forecast;
- ``backtest``: the forecast's track record: coverage, scores and each milestone's slip;
- ``compare``: scenarios side by side on common random numbers;
- ``sensitivity``: the tornado and the variance ranking;
- ``solve``: the value of a lever that meets a target;
- ``scenario``: a scenario file's parameters;
- ``steering``: the steering pack's parts (headline answers, the studies, assumptions, the runs).

May import: ``studies``, ``runs`` and every layer below.
"""
