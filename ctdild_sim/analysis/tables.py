"""Replicate records as long, tidy tables keyed by replicate (the output contract).

- ``events``: replicate, day, date, site, patient_id, cohort, event, detail, value
- ``patients``: one row per enrolled subject and replicate
- ``screenings``: one row per screening decision (rescreens included)
- ``metrics``: one row per replicate (see ``metrics.replicate_metrics``)
- ``lots``: one row per lot (manufactured or stocked at the start) and replicate
- ``supply_weekly``: one row per replicate and week since study start (see ``supply_metrics``)

Dates are the scenario start date plus the whole days elapsed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ctdild_sim.analysis.bands import KINDS, DemandBands, ProgressBands
from ctdild_sim.analysis.summary import milestone_summary, screen_failure_summary
from ctdild_sim.model.engine import ReplicateResult
from ctdild_sim.scenario.trial import Scenario

EVENT_COLUMNS = ["replicate", "day", "date", "site", "patient_id", "cohort", "event", "detail", "value", "observed"]


@dataclass(frozen=True)
class RunTables:
    """The tables of a run, each long and keyed by replicate."""

    events: pd.DataFrame
    patients: pd.DataFrame
    screenings: pd.DataFrame
    metrics: pd.DataFrame
    lots: pd.DataFrame
    supply_weekly: pd.DataFrame
    bands: DemandBands
    progress: ProgressBands | None = None  # only runs asked for it (forecasts) count progress

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        """Every table, the demand bands by week, month and quarter included (and the weekly
        progress bands, if the run counted them)."""
        tables = [(f.name, getattr(self, f.name)) for f in fields(self) if f.name not in ("bands", "progress")]
        tables += [(f"demand_{kind}ly", self.bands.table(kind)) for kind in KINDS]
        if self.progress is not None:
            tables.append(("progress_weekly", self.progress.table()))
        return tables

    def supply(self) -> list[tuple[str, pd.DataFrame]]:
        """The tables of the product: the metrics, the lots and the demand bands."""
        return [("metrics", self.metrics), ("lots", self.lots)] + [
            (f"demand_{kind}ly", self.bands.table(kind)) for kind in KINDS
        ]

    def with_summaries(self, scenario: Scenario) -> list[tuple[str, pd.DataFrame]]:
        """Every table, plus the milestone and screen-failure summaries: what a stored run holds."""
        return [
            *self.items(),
            ("milestones", milestone_summary(self.metrics, scenario)),
            ("screen_failures", screen_failure_summary(self.metrics, scenario.eligibility)),
        ]


def day_to_date(start: dt.date, days: pd.Series | np.ndarray) -> pd.Series:
    """Calendar dates of simulation days (NaN stays missing)."""
    days = pd.Series(days, dtype="float64")
    return (pd.Timestamp(start) + pd.to_timedelta(np.floor(days), unit="D")).dt.date


def events_table(results: Iterable[ReplicateResult], start: dt.date) -> pd.DataFrame:
    """``observed``: the row is a restarted trial's recorded history, not simulated."""
    rows = [(r.replicate, *ev, i < r.observed_rows) for r in results for i, ev in enumerate(r.events)]
    frame = pd.DataFrame(
        rows, columns=["replicate", "day", "site", "patient_id", "cohort", "event", "detail", "value", "observed"]
    )
    frame["observed"] = frame["observed"].astype(bool)
    frame["replicate"] = frame["replicate"].astype("int64")
    frame["day"] = frame["day"].astype("float64")
    frame["patient_id"] = frame["patient_id"].astype("Int64")
    frame["cohort"] = frame["cohort"].astype("Int64")
    frame["site"] = frame["site"].astype("string")
    frame["event"] = frame["event"].astype("string")
    frame["detail"] = frame["detail"].astype("string")
    frame["value"] = frame["value"].astype("float64")
    frame["date"] = day_to_date(start, frame["day"])
    return frame[EVENT_COLUMNS]


# fmt: off
PATIENT_COLUMNS = [
    "replicate", "patient_id", "site", "cohort", "enrolled_day", "waited_for_slot_days",
    "first_infusion_day", "last_infusion_day", "planned_infusions", "infusions_given", "cells_infused",
    "vials_per_dose", "bed_wait_days", "product_wait_days", "hold_completed", "status", "end_day", "age",
    "female", "ctd_type", "ild_profile", "body_weight_kg", "observed",
]
# fmt: on


UNRECORDED = (None, None, None, None)
"""Age, sex, CTD type and ILD profile of a subject restored off study: not in the records, not drawn."""


def patients_table(results: Iterable[ReplicateResult]) -> pd.DataFrame:
    rows = [
        (
            r.replicate,
            p.patient_id,
            p.site,
            p.cohort_number,
            p.enrolled_day,
            p.waited_for_slot_days,
            p.first_infusion_day,
            p.last_infusion_day,
            p.planned_infusions,
            p.infusions_given,
            p.cells_infused,
            p.vials_per_dose,
            p.bed_wait_days,
            p.product_wait_days,
            p.hold_completed,
            p.status,
            p.end_day,
            *(UNRECORDED if (c := p.record) is None else (c.age, c.female, c.ctd_type, c.ild_profile)),
            p.body_weight_kg,
            p.enrolled_day < r.restart_day,
        )
        for r in results
        for p in r.patients
    ]
    return pd.DataFrame(rows, columns=PATIENT_COLUMNS)


def screenings_table(results: Iterable[ReplicateResult]) -> pd.DataFrame:
    rows = [
        (r.replicate, cid, site, referred, decided, not failed, ",".join(failed))
        for r in results
        for cid, site, referred, decided, failed in r.screenings
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "replicate",
            "candidate_id",
            "site",
            "screening_started_day",
            "decision_day",
            "eligible",
            "failed_criteria",
        ],
    )
