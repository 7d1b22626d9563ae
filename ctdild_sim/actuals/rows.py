"""The actuals format: one CSV file per table, one pydantic model per row.

What a site's screening log, subject list and cell-processing lab records hold. Dates are ISO
(``2025-03-14``); an empty cell is a missing value; names are the scenario's (sites, AE kinds)
and the engine's criterion names. Each model checks its own row (types, ranges, the order of its
dates, which cells go together); ``reader`` checks the tables against each other and against the
scenario. ``FILES`` is the column spec the README and ``ctdild-sim schema --actuals`` show.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

MAX_ID = 999_999_999
"""Largest candidate, subject or lot id (ids are labels: any number up to this)."""
MIN_WEIGHT_KG, MAX_WEIGHT_KG = 20.0, 300.0
"""Body weights an adult subject's record may hold."""
MAX_SHELF_LIFE_DAYS = 3652
"""Longest a lot may keep between its fill and its expiry (ten years)."""


def _boolean(value: object) -> object:
    """Exactly ``true`` or ``false`` (in any case, as spreadsheets write them); nothing else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"must be true or false (got {str(value)[:40]!r})")


Boolean = Annotated[bool, BeforeValidator(_boolean)]
"""A boolean cell: ``true`` or ``false``; ``yes``, ``1`` or ``on`` are refused, not guessed at."""

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
"""Dates a record may hold: a year such as 0001 or 9999 is a typing slip, not a day of a trial."""


def _plausible(value: dt.date) -> dt.date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"{value} is not a plausible date (years {FIRST_DAY.year} to {LAST_DAY.year})")
    return value


Day = Annotated[dt.date, AfterValidator(_plausible)]
"""A date cell, ISO (``2025-03-14``), within ``FIRST_DAY`` and ``LAST_DAY``."""


class Row(BaseModel):
    """A row of an actuals file: unknown columns are errors, empty cells are missing values."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_missing(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}
        return data


def _in_order(row: BaseModel, *names: str) -> None:
    """Each of the named dates that is given is on or after the ones before it."""
    given = [(n, getattr(row, n)) for n in names if getattr(row, n) is not None]
    for (a, da), (b, db) in itertools.pairwise(given):
        if db < da:
            raise ValueError(f"{b} ({db}) is before {a} ({da})")


class SiteRow(Row):
    """``sites.csv``: one row per site."""

    site: str = Field(min_length=1, max_length=80, description="The site's name, as in the scenario's sites.")
    activated_on: Day | None = Field(
        default=None, description="The day the site could start referring; empty: not yet active."
    )


class ScreeningRow(Row):
    """``screening.csv``: one row per screening of a candidate (a rescreened candidate has several)."""

    candidate_id: int = Field(
        ge=1, le=MAX_ID, description="The candidate's number (a label); a subject keeps it as subject_id."
    )
    site: str = Field(min_length=1, max_length=80, description="The referring site.")
    referred_on: Day = Field(description="The day the candidate was referred.")
    screening_started_on: Day | None = Field(
        default=None,
        description="The day this screening started; empty: the referral day (first screening) or the day the "
        "previous passed screen expired (a rescreen).",
    )
    screened_on: Day | None = Field(default=None, description="The day of the decision; empty: still in screening.")
    outcome: Literal["passed", "failed", "withdrew"] | None = Field(
        default=None, description="passed, failed or withdrew; empty while still in screening."
    )
    failed_criteria: str | None = Field(
        default=None,
        max_length=2000,
        description=(
            "The criteria failed (the engine's names, ';'-separated); only when failed. A scenario screening "
            "by a pass probability keeps any names as recorded (not_eligible when none is known)."
        ),
    )
    enrolled_on: Day | None = Field(default=None, description="The day a passed candidate was enrolled.")
    usubjid: str | None = Field(
        default=None,
        max_length=200,
        description="The candidate's id in the trial's own records (SDTM USUBJID); kept for tracing, not read.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScreeningRow:
        if (self.screened_on is None) != (self.outcome is None):
            raise ValueError("screened_on and outcome go together: both empty (still in screening) or both given")
        if self.outcome == "failed" and not self.criteria:
            raise ValueError("failed_criteria: a failed screening names the criteria it failed")
        if self.outcome != "failed" and self.failed_criteria:
            raise ValueError("failed_criteria: given for a screening that did not fail")
        if self.enrolled_on is not None and self.outcome != "passed":
            raise ValueError("enrolled_on: only a passed screening leads to enrolment")
        _in_order(self, "referred_on", "screening_started_on", "screened_on", "enrolled_on")
        return self

    @property
    def criteria(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in (self.failed_criteria or "").split(";") if c.strip())


class SubjectRow(Row):
    """``subjects.csv``: one row per enrolled subject."""

    subject_id: int = Field(ge=1, le=MAX_ID, description="The subject's candidate_id in screening.csv.")
    cohort: int = Field(ge=1, le=50, description="The dose cohort (1 for the first).")
    enrolled_on: Day = Field(description="The day of enrolment.")
    body_weight_kg: float | None = Field(
        default=None,
        ge=MIN_WEIGHT_KG,
        le=MAX_WEIGHT_KG,
        description="Body weight in kg (the dose is per kg; an adult's, 20 to 300); empty: the population's mean.",
    )
    status: Literal["ongoing", "completed", "withdrawn", "died", "lost"] = Field(
        description="ongoing, completed (follow-up done), withdrawn, died or lost."
    )
    status_on: Day | None = Field(default=None, description="The day the status was reached; empty if ongoing.")
    status_reason: str | None = Field(
        default=None,
        max_length=200,
        description="Why the subject left or completed, as recorded (SDTM DS.DSDECOD); kept, not read.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SubjectRow:
        if self.status != "ongoing" and self.status_on is None:
            raise ValueError(f"status_on: a subject who is {self.status} needs the day it happened")
        if self.status == "ongoing" and self.status_on is not None:
            raise ValueError("status_on: given for an ongoing subject")
        _in_order(self, "enrolled_on", "status_on")
        return self


class InfusionRow(Row):
    """``infusions.csv``: one row per infusion admission."""

    subject_id: int = Field(ge=1, le=MAX_ID, description="The subject.")
    infusion: int = Field(ge=1, le=100, description="The infusion's number for this subject (1 for the first).")
    admitted_on: Day = Field(description="The day of admission.")
    infused_on: Day = Field(description="The day of the infusion.")
    discharged_on: Day | None = Field(default=None, description="The day of discharge; empty: still in hospital.")
    lot_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="The lot the vials came from (lots.csv).")
    vials: int | None = Field(default=None, ge=1, le=10_000, description="Vials thawed for the infusion.")
    vials_discarded: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="Vials thawed for this infusion but not infused in time (wasted), from lot_id; empty: none.",
    )

    @field_validator("vials_discarded", mode="before")
    @classmethod
    def _zero_when_empty(cls, v: object) -> object:
        return 0 if v is None else v

    @model_validator(mode="after")
    def _consistent(self) -> InfusionRow:
        _in_order(self, "admitted_on", "infused_on", "discharged_on")
        return self


class AdverseEventRow(Row):
    """``adverse_events.csv``: one row per adverse event."""

    subject_id: int = Field(ge=1, le=MAX_ID, description="The subject.")
    onset_on: Day = Field(description="The day the AE was observed.")
    name: str = Field(min_length=1, max_length=80, description="An AE kind of the scenario (safety.adverse_events).")
    triggers_review: Boolean = Field(
        description="Whether it opened a safety review (true or false): then reviews.csv holds one of the "
        "subject, opened that day."
    )


class ReviewRow(Row):
    """``reviews.csv``: one row per safety review."""

    opened_on: Day = Field(description="The day the review opened (and the pause began).")
    closed_on: Day | None = Field(default=None, description="The day it decided; empty: still open.")
    outcome: Literal["resume", "repeat_cohort", "stop"] | None = Field(
        default=None, description="resume, repeat_cohort or stop; empty while open."
    )
    subject_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The subject whose AE or death (that day) opened it; empty: none."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ReviewRow:
        if (self.closed_on is None) != (self.outcome is None):
            raise ValueError("closed_on and outcome go together: both empty (still open) or both given")
        _in_order(self, "opened_on", "closed_on")
        return self


class LotRow(Row):
    """``lots.csv``: one row per lot (the initial stock included)."""

    lot_id: int = Field(ge=1, le=MAX_ID, description="The lot's number.")
    initial_stock: Boolean = Field(
        default=False, description="true for a lot in stock on the study's start day, else false (empty: false)."
    )
    ordered_on: Day | None = Field(default=None, description="The day it was ordered (empty: initial stock).")
    started_on: Day | None = Field(default=None, description="The day its campaign started.")
    filled_on: Day | None = Field(default=None, description="The day it was filled.")
    released_on: Day | None = Field(default=None, description="The day QC released it.")
    failed_on: Day | None = Field(default=None, description="The day it failed QC and was destroyed.")
    expires_on: Day | None = Field(default=None, description="Its expiry day (fill day plus shelf life).")
    vials: int | None = Field(default=None, ge=0, le=100_000, description="Vials filled; empty before filling.")
    vials_used: int = Field(default=0, ge=0, le=100_000, description="Vials infused.")
    vials_discarded: int = Field(default=0, ge=0, le=100_000, description="Vials thawed but not infused (wasted).")
    vials_expired: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="Vials expired; empty: all unused ones if the lot has expired by the as-of date, else 0.",
    )

    @field_validator("vials_used", "vials_discarded", mode="before")
    @classmethod
    def _zero_when_empty(cls, v: object) -> object:
        return 0 if v is None else v

    @field_validator("initial_stock", mode="before")
    @classmethod
    def _false_when_empty(cls, v: object) -> object:
        return False if v is None else v

    @model_validator(mode="after")
    def _consistent(self) -> LotRow:
        if self.ordered_on is None and not self.initial_stock:
            raise ValueError("ordered_on: a lot that is not initial stock has an order day")
        if self.ordered_on is not None and self.initial_stock:
            raise ValueError("ordered_on: an initial-stock lot was in stock before the study; it has no order day")
        if self.filled_on is not None and self.started_on is None and not self.initial_stock:
            raise ValueError("started_on: a filled lot's campaign started (started_on is empty)")
        if self.expires_on is not None and self.filled_on is not None and self.expires_on <= self.filled_on:
            raise ValueError(f"expires_on: {self.expires_on} is not after the lot's fill ({self.filled_on})")
        if (
            self.expires_on is not None
            and self.filled_on is not None
            and self.expires_on > self.filled_on + dt.timedelta(days=MAX_SHELF_LIFE_DAYS)
        ):
            raise ValueError(
                f"expires_on: {self.expires_on} is more than {MAX_SHELF_LIFE_DAYS // 365} years after "
                f"the lot's fill ({self.filled_on})"
            )
        if self.vials is None:
            for name in ("vials_used", "vials_discarded", "vials_expired"):
                if getattr(self, name):
                    raise ValueError(f"{name}: the lot has no vials (vials is empty: not filled)")
        if self.failed_on is not None and (self.vials_used or self.vials_discarded or self.vials_expired):
            raise ValueError(
                "vials_used: a lot that failed QC was destroyed; none of its vials were used, discarded or expired"
            )
        if self.released_on is not None and self.failed_on is not None:
            raise ValueError("released_on and failed_on: a lot is released or fails QC, not both")
        for name in ("released_on", "failed_on"):
            if getattr(self, name) is not None and self.filled_on is None:
                raise ValueError(f"{name}: a lot is released or fails after it is filled (filled_on is empty)")
        if self.filled_on is not None and self.vials is None:
            raise ValueError("vials: a filled lot has a number of vials")
        if self.released_on is not None and self.expires_on is None:
            raise ValueError("expires_on: a released lot has an expiry day")
        _in_order(self, "ordered_on", "started_on", "filled_on", "released_on")
        _in_order(self, "filled_on", "failed_on")
        spent = self.vials_used + self.vials_discarded + (self.vials_expired or 0)
        if self.vials is not None and spent > self.vials:
            raise ValueError(
                f"vials_used + vials_discarded + vials_expired (={spent}) exceed the lot's {self.vials} vials"
            )
        return self


FILES: dict[str, type[Row]] = {
    "sites.csv": SiteRow,
    "screening.csv": ScreeningRow,
    "subjects.csv": SubjectRow,
    "infusions.csv": InfusionRow,
    "adverse_events.csv": AdverseEventRow,
    "reviews.csv": ReviewRow,
    "lots.csv": LotRow,
}
"""Every file of an actuals folder and the model of its rows; a file may be absent (nothing of
that kind yet; without ``lots.csv``, the scenario's initial stock)."""


KEPT_NOT_READ = ("usubjid", "status_reason")
"""Columns that trace a row to the trial's own records (SDTM): kept as written, never read."""


def columns(model: type[Row]) -> list[str]:
    return list(model.model_fields)


def required_columns(model: type[Row]) -> list[str]:
    return [name for name, info in model.model_fields.items() if info.is_required()]
