"""Learning a scenario's assumptions from a trial's records: conjugate and grid beliefs
(``beliefs``), what the records say about each assumption (``evidence``), and the posterior a
forecast's replicates draw their parameters from (``posterior``).

May import: ``scenario``, ``sim``, ``supply``, ``model`` and ``actuals``.
"""
