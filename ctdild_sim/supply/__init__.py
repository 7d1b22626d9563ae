"""The cell product inside a replicate: released stock and the doses claimed from it
(``inventory``), manufacturing campaigns and QC (``manufacturing``), when new lots are started
(``stock_policy``), and the supply a subject's journey talks to, wired together (``chain``).

May import: ``scenario`` and ``sim``. The replicate itself (``model.engine.Trial``) and a cohort's
state are imported for type hints only (``if TYPE_CHECKING:``): the components reach them through
the trial object they are given.
"""
