"""One replicate of the trial, as simpy processes that read like the protocol: referred
candidates (``candidates``) and the listing's criteria (``eligibility``), sites and referrals
(``referrals``), screening and enrolment into open slots (``screening``), dose cohorts and the gate
between them (``cohorts``), one subject's journey (``patient``), adverse events and safety reviews
(``safety``), and ``engine``, which wires them (and the product supply) into a ``Trial`` and runs it,
as planned or driven by a trial's records (``trace``) up to the day after their as-of date.

May import: ``scenario``, ``sim`` and ``supply``. The components import ``engine.Trial`` for type
hints only (``if TYPE_CHECKING:``): the trial is the context they are handed, not a dependency.
"""
