"""A trial's records read once, ready for a forecast: checked (``reader``), translated into the
trace that drives the engine (``trace``), and run by the engine up to their restart day, which
gives the history every replicate starts with, the lots as they stand, and the protocol
deviations the records show (``model.engine.observe``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ctdild_sim.actuals.reader import Actuals, RecordFiles, read_actuals
from ctdild_sim.actuals.trace import trace_of
from ctdild_sim.model.engine import observe
from ctdild_sim.model.trace import Observed, Trace
from ctdild_sim.scenario.trial import Scenario


@dataclass(frozen=True)
class TrialRecords:
    """The checked records, their trace, and what the engine made of them up to the restart."""

    actuals: Actuals
    trace: Trace
    observed: Observed

    @property
    def restart_day(self) -> float:
        return self.trace.restart_day

    @property
    def warnings(self) -> list[str]:
        """What the records allow but the protocol does not, and what they leave unknown."""
        return [*self.actuals.warnings, *self.observed.warnings]


def read_records(source: str | Path | RecordFiles, scenario: Scenario, as_of: dt.date) -> TrialRecords:
    """The records of a folder, a workbook or files held in memory, as of ``as_of``
    (``reader.ActualsError`` with every problem if they cannot be used)."""
    actuals = read_actuals(source, scenario, as_of)
    trace = trace_of(actuals, scenario)
    return TrialRecords(actuals, trace, observe(scenario, trace))
