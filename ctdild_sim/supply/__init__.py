"""The cell product inside a replicate.

- ``inventory``: released vials and the doses claimed from them, first expiry first out;
- ``manufacturing``: campaigns: ordered, expanded, filled, tested, released or destroyed;
- ``stock_policy``: when new lots are started (reorder point, schedule, make to order);
- ``chain``: stock, manufacturing and policy wired into the supply a subject talks to;
- ``context``: what the supply needs from the replicate and a cohort, as protocols;
- ``lot_state``: a lot as recorded, and as it stands on a date (a forecast's restart).

May import: ``scenario`` and ``sim``, nothing above, not even for type hints: the replicate and a
cohort are reached through the protocols of ``context``, which the model's objects satisfy.
"""
