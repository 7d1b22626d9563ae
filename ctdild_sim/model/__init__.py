"""One replicate of the trial, as simpy processes that read like the protocol.

- ``candidates``: referred candidates drawn from the population's prevalences;
- ``eligibility``: the listing's inclusion and exclusion criteria as named rules;
- ``referrals``: sites, their activation and the candidates they refer;
- ``screening``: screening, the waiting list and enrolment into open slots;
- ``cohorts``: dose cohorts and the gate between them;
- ``patient``: one enrolled subject's journey through the protocol;
- ``safety``: adverse events, the safety pause and the review that ends it;
- ``trace``: a trial's records as the engine reads them (what drives a forecast);
- ``engine``: the components wired into a ``Trial`` and run, planned or driven by a trace;
- ``compiled``: which build is running (compiled with mypyc, or pure Python).

May import: ``scenario``, ``sim`` and ``supply``. The components import ``engine.Trial`` for type
hints only (``if TYPE_CHECKING:``): the trial is the context they are handed, not a dependency.
"""
