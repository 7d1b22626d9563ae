"""The cell product inside a replicate.

- ``inventory``: released vials and the doses claimed from them, first expiry first out;
- ``manufacturing``: campaigns: ordered, expanded, filled, tested, released or destroyed;
- ``stock_policy``: when new lots are started (reorder point, schedule, make to order);
- ``chain``: stock, manufacturing and policy wired into the supply a subject talks to;
- ``lot_state``: a lot as it stands on a date (a forecast's restart).

May import: ``scenario`` and ``sim``. The replicate itself (``model.engine.Trial``) and a cohort's
state are imported for type hints only (``if TYPE_CHECKING:``): the components reach them through
the trial object they are given.
"""
