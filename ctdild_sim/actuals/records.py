"""A trial's records read once, ready for a forecast: checked (``reader``), translated into the
trace that drives the engine (``trace``), and run by the engine up to their restart day, which
gives the history every replicate starts with, the lots as they stand, and the protocol
deviations the records show (``model.engine.observe``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ctdild_sim.actuals.cut import cut_with_count
from ctdild_sim.actuals.reader import Actuals, ActualsError, RecordFiles, read_actuals
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
    later_rows: int = 0  # rows left out or undone, read as they stood on the as-of date (``cut``)

    @property
    def restart_day(self) -> float:
        return self.trace.restart_day

    @property
    def warnings(self) -> list[str]:
        """What the records allow but the protocol does not, and what they leave unknown."""
        return [*self.actuals.warnings, *self.observed.warnings]


def read_records(
    source: str | Path | RecordFiles, scenario: Scenario, as_of: dt.date, cut: bool = False
) -> TrialRecords:
    """The records of a folder, a workbook, files held in memory or SDTM datasets, as of ``as_of``
    (``reader.ActualsError`` with every problem if they cannot be used); with ``cut``, as they stood
    on ``as_of`` (``actuals.cut``: rows dated later left out, or undone, and counted)."""
    later, notes = 0, []
    if cut:
        files, later, notes = cut_with_count(source, scenario, as_of)
        if later:
            source = files
    try:
        actuals = read_actuals(source, scenario, as_of)
    except ActualsError as exc:
        if not cut and any("is after the as-of date" in p for p in exc.problems):
            raise ActualsError([LATER_ROWS_HINT.format(as_of=as_of), *exc.problems]) from None
        raise
    if later:
        actuals.warnings[:0] = notes
    trace = trace_of(actuals, scenario)
    return TrialRecords(actuals, trace, observe(scenario, trace), later)


LATER_ROWS_HINT = (
    "Some records are dated after the as-of date {as_of}: to forecast as of then, read them as they stood "
    "that day (ctdild-sim forecast --cut; the Forecast page's 'as they stood on the as-of date'), or give a "
    "later as-of date."
)
