"""Learning a scenario's assumptions from a trial's records.

- ``beliefs``: a prior per assumption, its closed-form (or exact numerical) update, its draws;
- ``evidence``: what the records say about each assumption (counts, exposures, durations);
- ``enrolment``: enrolment models that can drift (homogeneous, piecewise, ramp and decline), fitted
  to the referrals, and the one a forecast uses (leave-future-out);
- ``posterior``: the assumptions as beliefs updated by the records, drawn per replicate;
- ``draws``: a worker's memory of posterior draws across the policies of one lot-plan search.

May import: ``scenario``, ``sim``, ``supply``, ``model`` and ``actuals``.
"""
