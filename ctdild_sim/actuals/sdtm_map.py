"""CDISC SDTM datasets mapped to the records format (docs/records.md, "From SDTM").

Every subject of DM is a screened candidate; the mapping, per subject:

- referral: DM.RFICDTC (informed consent), else the first screening visit in SV (EPOCH
  ``SCREENING`` or a VISIT naming screening), else DM.DMDTC;
- a screen failure (DM.ARMCD ``SCRNFAIL`` or ARM ``Screen Failure``, or DS ``SCREEN FAILURE``):
  screened on DS's screen-failure date, else the last screening visit, else the referral; its
  criteria are IE's IETESTCD (the engine's names, or their code ``I2``/``IN02``, under the
  criteria model; as recorded under a pass probability, ``not_eligible`` without IE);
- enrolment: DS ``RANDOMIZED``, else DM.RFSTDTC, else the first EX dose; screened on the last
  screening visit before it (else that day); the cohort is the scenario's only one, or the one
  whose name is the ARM or ARMCD;
- doses: the subject's first EX records by EXSTDTC, as many as the cohort gives (later records
  are the same treatment continued, listed as not mapped); admitted, dosed and discharged that day
  (EX holds no stay); EXLOT to the lot when the scenario has a product;
- disposition: the last DS disposition event (DSCAT ``DISPOSITION EVENT``): COMPLETED is
  completed, DEATH died, any other reason (LOST TO FOLLOW-UP too) withdrawn (kept in
  ``status_reason``); DM.DTHDTC a death; none: ongoing;
- AEs: AESTDTC the onset; the kind whose name is AEDECOD (or AETERM), else the scenario's one
  kind of the AE's seriousness (AESER); an AE before enrolment or of a subject never enrolled is
  not one the model draws (listed as not mapped).

Every row or value that cannot be mapped is listed as ``DOMAIN:USUBJID:VARIABLE: why``, none
dropped silently. The mapped records are then checked as any records are (``reader``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ctdild_sim.actuals.rows import FILES, columns
from ctdild_sim.actuals.sdtm_files import LOTS_FILE, Domain, SdtmDatasets
from ctdild_sim.actuals.sources import RecordFiles
from ctdild_sim.model.eligibility import CRITERION_NAMES, NOT_ELIGIBLE
from ctdild_sim.scenario.trial import Scenario

MAPPED = "(mapped from SDTM)"
"""Where the mapped records stand in messages: ``sdtm/(mapped from SDTM)/subjects.csv:3:cohort: ...``."""
UNMAPPED_FILE = "sdtm-unmapped.txt"
"""Where ``actuals --from-sdtm`` lists what it could not map, a line each (not a records file)."""
SCREEN_FAILURE_ARMS = ("SCRNFAIL", "SCREEN FAILURE")
"""DM's ARMCD or ARM of a screen failure (SDTM's controlled terms, in any case)."""
COMPLETED, DEATH = "COMPLETED", "DEATH"
"""DS.DSDECOD's terms that are a status of their own; any other disposition is a withdrawal: a
subject lost to follow-up left the study as the model's withdrawals do (the records' ``lost`` is a
candidate lost waiting for product, which the withdrawal hazard does not learn from)."""
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(T.*)?$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?(-{1,2}.*)?$")


@dataclass(frozen=True)
class Unmapped:
    """A row or value of the SDTM that the records do not take, and why."""

    domain: str
    usubjid: str
    variable: str
    reason: str

    def __str__(self) -> str:
        return f"{self.domain.upper()}:{self.usubjid or '-'}:{self.variable}: {self.reason}"


@dataclass
class MappedRecords:
    """The records tables made from SDTM (each a list of rows of text cells), what was not mapped,
    and notes on what SDTM does not hold."""

    origin: Path
    tables: dict[str, list[dict[str, str]]]
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lots: bytes | None = None

    def files(self) -> dict[str, bytes]:
        """Each table as a records CSV file (the lots file as it came)."""
        out = {name: rows_as_csv(name, rows) for name, rows in self.tables.items() if rows}
        if self.lots is not None:
            out[LOTS_FILE] = self.lots
        return out

    def record_files(self) -> RecordFiles:
        """The mapped records held in memory, to be read and checked as any records are."""
        return RecordFiles(self.origin / MAPPED, self.files())

    def warnings(self) -> list[str]:
        """What a forecast says of the mapping: its notes and how many rows were not mapped."""
        out = [f"{self.origin}: {note}" for note in self.notes]
        if self.unmapped:
            by_reason: dict[str, int] = defaultdict(int)
            for u in self.unmapped:
                reason = re.sub(r"^\d+ ", "", u.reason.split(":")[0].split(" (")[0])  # "2 row(s) ...": one kind
                by_reason[f"{u.domain.upper()} {reason}"] += 1
            listed = "; ".join(f"{reason} ({n:,})" for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1]))
            out.append(
                f"{self.origin}: {len(self.unmapped):,} SDTM rows or values not mapped: {listed} "
                f"(ctdild-sim actuals --from-sdtm lists each in {UNMAPPED_FILE})"
            )
        return out


def mapped_columns(name: str, rows: list[dict[str, str]]) -> list[str]:
    """A table's columns: the format's, in its order, those the rows fill, then any others the rows
    name (a records file's unknown column is kept, for the reader to name)."""
    known = [c for c in columns(FILES[name]) if any(c in row for row in rows)]
    others = dict.fromkeys(c for row in rows for c in row if c not in known)
    return [*known, *others]


def sdtm_readme(folder: Path, scenario_name: str, mapped: MappedRecords) -> str:
    """The README of records mapped from SDTM: where they came from, and what SDTM does not hold."""
    notes = "".join(f"- {note}\n" for note in mapped.notes)
    return (
        f"# Records mapped from SDTM\n\nMapped by ctdild-sim from the SDTM datasets in `{folder}` for the "
        f'scenario `{scenario_name}` (docs/records.md, "From SDTM"). Each candidate\'s `usubjid` is '
        f"their SDTM USUBJID. Correct a row here and forecast from this folder.\n\n{notes}"
        f"- {len(mapped.unmapped):,} SDTM rows or values were not mapped; `{UNMAPPED_FILE}` lists each as "
        "DOMAIN:USUBJID:VARIABLE: why.\n"
    )


def rows_as_csv(name: str, rows: list[dict[str, str]]) -> bytes:
    """A records table's rows (text cells by column) as its CSV file, the format's columns in order."""
    header = mapped_columns(name, rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: row.get(c, "") for c in header} for row in rows)
    return out.getvalue().encode()


def map_sdtm(datasets: SdtmDatasets, scenario: Scenario) -> MappedRecords:
    """The records of ``scenario``'s trial that the SDTM datasets hold."""
    return _Mapping(datasets, scenario).run()


class _Mapping:
    """One mapping: the domains grouped by subject, and the tables built a subject at a time."""

    def __init__(self, datasets: SdtmDatasets, scenario: Scenario):
        self.scenario = scenario
        self.domains = datasets.domains
        self.unmapped: list[Unmapped] = []
        self.notes: list[str] = []
        self.out = MappedRecords(datasets.origin, {name: [] for name in FILES if name != LOTS_FILE})
        self.out.lots = datasets.lots
        self.by_subject = {name: _by_subject(d) for name, d in self.domains.items() if name != "dm"}

    def miss(self, domain: str, usubjid: str, variable: str, reason: str) -> None:
        self.unmapped.append(Unmapped(domain, usubjid, variable, reason))

    def date(self, domain: str, usubjid: str, variable: str, value: str | None) -> dt.date | None:
        """An ISO 8601 date (a time after it dropped); a partial or bad one is listed, and None."""
        if not isinstance(value, str):
            return None
        match = _ISO_DATE.match(value)
        if match:
            try:
                return dt.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                pass
        why = _not_a_day(value, bool(match))
        self.miss(domain, usubjid, variable, f"{why} ({value[:40]!r}): the records need a day")
        return None

    def run(self) -> MappedRecords:
        dm = self.domains["dm"].rows
        subjects = []
        for row in dm.to_dict("records"):
            usubjid = row.get("USUBJID")
            if usubjid is None:
                self.miss("dm", "", "USUBJID", "no USUBJID: the row names nobody")
                continue
            subject = self._subject(usubjid, row)
            if subject is not None:
                subjects.append(subject)
        subjects.sort(key=lambda s: (s["referred_on"], s["usubjid"]))
        ids = {s["usubjid"]: k for k, s in enumerate(subjects, start=1)}
        sites: dict[str, dt.date] = {}
        for s in subjects:
            sites[s["site"]] = min(sites.get(s["site"], s["referred_on"]), s["referred_on"])
            self._write(ids[s["usubjid"]], s)
        self.out.tables["sites.csv"] = [
            {"site": site, "activated_on": day.isoformat()} for site, day in sorted(sites.items())
        ]
        self._unclaimed(set(ids))
        self._not_read()
        order = {name: k for k, name in enumerate(("dm", "ds", "ex", "ae", "sv", "ie"))}
        self.unmapped.sort(key=lambda u: (order.get(u.domain, 9), u.usubjid))  # stable: each subject's in order
        self.out.unmapped = self.unmapped
        self.out.notes = self.notes
        return self.out

    # -- one subject ------------------------------------------------------------------------------

    def _subject(self, usubjid: str, dm: dict) -> dict | None:
        site = dm.get("SITEID")
        if site is None:
            self.miss("dm", usubjid, "SITEID", "no site: the records need the referring site")
            return None
        screens = self._screening_visits(usubjid)
        referred = (
            self.date("dm", usubjid, "RFICDTC", dm.get("RFICDTC"))
            or (screens[0] if screens else None)
            or self.date("dm", usubjid, "DMDTC", dm.get("DMDTC"))
        )
        if referred is None:
            self.miss(
                "dm", usubjid, "RFICDTC", "no consent date, screening visit (SV) or DMDTC: the referral is unknown"
            )
            return None
        ds = self.by_subject.get("ds", {}).get(usubjid, [])
        failed_on = next(
            (
                self.date("ds", usubjid, "DSSTDTC", r.get("DSSTDTC"))
                for r in ds
                if _upper(r.get("DSDECOD")) == "SCREEN FAILURE"
            ),
            None,
        )
        arm = {_upper(dm.get("ARMCD")), _upper(dm.get("ARM")), _upper(dm.get("ACTARMCD"))}
        subject = {"usubjid": usubjid, "site": site, "referred_on": referred, "screens": screens, "dm": dm}
        randomised = next(
            (
                self.date("ds", usubjid, "DSSTDTC", r.get("DSSTDTC"))
                for r in ds
                if _upper(r.get("DSDECOD")) == "RANDOMIZED"
            ),
            None,
        )
        doses = self._doses(usubjid)
        enrolled = (
            randomised or self.date("dm", usubjid, "RFSTDTC", dm.get("RFSTDTC")) or (doses[0][0] if doses else None)
        )
        if enrolled is not None and failed_on is not None:  # failed, rescreened and randomised: the last decision
            self.miss("ds", usubjid, "DSDECOD", f"a screen failure on {failed_on} before the randomisation: not mapped")
        if enrolled is None and (failed_on is not None or arm & set(SCREEN_FAILURE_ARMS)):
            subject["outcome"] = "failed"
            subject["screened_on"] = failed_on or (screens[-1] if screens else referred)
            return subject
        disposition = self._disposition(usubjid, ds, dm)
        if enrolled is None:
            if disposition is not None:  # left before randomisation
                subject["outcome"], subject["screened_on"] = "withdrew", max(disposition[1], referred)
            return subject  # else still in screening
        subject.update(outcome="passed", enrolled_on=enrolled, doses=doses, disposition=disposition)
        before = [d for d in screens if referred <= d <= enrolled]
        subject["screened_on"] = before[-1] if before else enrolled
        return subject

    def _screening_visits(self, usubjid: str) -> list[dt.date]:
        days = []
        for r in self.by_subject.get("sv", {}).get(usubjid, []):
            if screening_visit(r.get("EPOCH"), r.get("VISIT")):
                day = self.date("sv", usubjid, "SVSTDTC", r.get("SVSTDTC"))
                if day is not None:
                    days.append(day)
        return sorted(days)

    def _doses(self, usubjid: str) -> list[tuple[dt.date, dict]]:
        doses = []
        for r in self.by_subject.get("ex", {}).get(usubjid, []):
            day = self.date("ex", usubjid, "EXSTDTC", r.get("EXSTDTC"))
            if day is not None:
                doses.append((day, r))
        doses.sort(key=lambda d: (d[0], _number(d[1].get("EXSEQ"))))
        return doses

    def _disposition(self, usubjid: str, ds: list[dict], dm: dict) -> tuple[str, dt.date, str] | None:
        """The subject's status, its day and its recorded reason, from the last disposition event."""
        events = []
        for r in ds:
            term = _upper(r.get("DSDECOD"))
            if _upper(r.get("DSCAT")) != "DISPOSITION EVENT" or term in ("SCREEN FAILURE", "RANDOMIZED", ""):
                continue
            day = self.date("ds", usubjid, "DSSTDTC", r.get("DSSTDTC"))
            if day is not None:
                events.append((day, _number(r.get("DSSEQ")), term, r.get("DSDECOD") or term))
        death = self.date("dm", usubjid, "DTHDTC", dm.get("DTHDTC"))
        if death is not None and not any(term == DEATH for _, _, term, _ in events):
            events.append((death, float("inf"), DEATH, "DEATH (DM.DTHDTC)"))
        if not events:
            return None
        day, _, term, reason = max(events)
        status = {COMPLETED: "completed", DEATH: "died"}.get(term, "withdrawn")
        return status, day, reason

    # -- the tables -------------------------------------------------------------------------------

    def _write(self, candidate_id: int, s: dict) -> None:
        usubjid, tables = s["usubjid"], self.out.tables
        row = {
            "candidate_id": str(candidate_id),
            "usubjid": usubjid,
            "site": s["site"],
            "referred_on": s["referred_on"].isoformat(),
        }
        if "outcome" in s:
            row.update(outcome=s["outcome"], screened_on=s["screened_on"].isoformat())
        if s.get("outcome") == "failed":
            row["failed_criteria"] = ";".join(self._criteria(usubjid))
        if s.get("outcome") == "passed":
            row["enrolled_on"] = s["enrolled_on"].isoformat()
        tables["screening.csv"].append(row)
        if s.get("outcome") != "passed":
            for domain in ("ex", "ae"):
                for _ in self.by_subject.get(domain, {}).get(usubjid, []):
                    self.miss(
                        domain, usubjid, "USUBJID", "a row of a subject never randomised: not a dose or AE of the model"
                    )
            return
        for r in self.by_subject.get("ie", {}).get(usubjid, []):
            code = r.get("IETESTCD") or ""
            self.miss(
                "ie", usubjid, "IETESTCD", f"an enrolled subject's criterion not met ({code!r}): a waiver, not modelled"
            )
        cohort = self._cohort(usubjid, s["dm"])
        status, status_on, reason = s["disposition"] or ("ongoing", None, None)
        subject = {"subject_id": str(candidate_id), "cohort": cohort, "enrolled_on": s["enrolled_on"].isoformat()}
        subject.update(status=status, status_on=status_on.isoformat() if status_on else "", status_reason=reason or "")
        tables["subjects.csv"].append(subject)
        self._infusions(candidate_id, usubjid, s["doses"], cohort)
        self._adverse_events(candidate_id, usubjid, s["enrolled_on"], s["disposition"])

    def _criteria(self, usubjid: str) -> list[str]:
        """A screen failure's criteria: IE's test codes, as the engine names them under the
        criteria model (a code it cannot place is listed as not mapped), as recorded otherwise."""
        codes = [r.get("IETESTCD") for r in self.by_subject.get("ie", {}).get(usubjid, []) if r.get("IETESTCD")]
        if not self.scenario.screened_by_criteria:
            return list(dict.fromkeys(codes)) or [NOT_ELIGIBLE]
        named = []
        for code in codes:
            name = _criterion(code)
            if name is None:
                self.miss("ie", usubjid, "IETESTCD", f"{code!r} is not one of the engine's criteria (nor its code)")
            elif name not in named:
                named.append(name)
        if not codes:
            self.miss("ie", usubjid, "IETESTCD", "a screen failure with no IE record: the criteria failed are unknown")
        return named

    def _cohort(self, usubjid: str, dm: dict) -> str:
        cohorts = self.scenario.cohorts
        if len(cohorts) == 1:
            return "1"
        arms = [dm.get(v) for v in ("ARM", "ARMCD", "ACTARM", "ACTARMCD") if dm.get(v)]
        for k, cohort in enumerate(cohorts, start=1):
            if any(a.strip().lower() == cohort.name.lower() for a in arms):
                return str(k)
        self.miss("dm", usubjid, "ARM", f"{arms[0] if arms else 'no arm'!r} names no cohort of the scenario")
        return ""

    def _infusions(self, subject_id: int, usubjid: str, doses: list, cohort: str) -> None:
        planned = self.scenario.cohorts[int(cohort) - 1].infusions if cohort else 0
        for k, (day, r) in enumerate(doses, start=1):
            if k > planned:
                why = f"after the cohort's {planned} dose{'s' if planned > 1 else ''}: the same treatment continued"
                self.miss("ex", usubjid, "EXSTDTC", f"{why} ({day})")
                continue
            row = {"subject_id": str(subject_id), "infusion": str(k)}
            row.update(admitted_on=day.isoformat(), infused_on=day.isoformat(), discharged_on=day.isoformat())
            lot = r.get("EXLOT")
            if lot is not None and self.scenario.product is not None:
                if lot.isdigit():
                    row["lot_id"] = lot
                else:
                    self.miss("ex", usubjid, "EXLOT", f"{lot[:40]!r} is not a lot number of lots.csv")
            self.out.tables["infusions.csv"].append(row)
        if doses and not any("EX holds no" in n for n in self.notes):
            self.notes.append(
                "EX holds no admission or discharge: each dose's admission and discharge are its day "
                "(correct infusions.csv where the stay matters)"
            )

    def _adverse_events(self, subject_id: int, usubjid: str, enrolled: dt.date, disposition) -> None:
        died = disposition[1] if disposition is not None and disposition[0] == "died" else None
        for r in self.by_subject.get("ae", {}).get(usubjid, []):
            onset = self.date("ae", usubjid, "AESTDTC", r.get("AESTDTC"))
            if onset is None:
                continue
            if onset < enrolled:
                self.miss("ae", usubjid, "AESTDTC", f"before enrolment ({onset}): not an AE of the treatment")
                continue
            if died is not None and onset > died:
                self.miss("ae", usubjid, "AESTDTC", f"after the subject's death ({onset})")
                continue
            kind = self._kind(usubjid, r)
            if kind is None:
                continue
            row = {"subject_id": str(subject_id), "onset_on": onset.isoformat(), "name": kind.name}
            row["triggers_review"] = "false"
            self.out.tables["adverse_events.csv"].append(row)
            if kind.triggers_review and not any("SDTM holds no safety review" in n for n in self.notes):
                self.notes.append(
                    f"AEs of the kind {kind.name}, which triggers a safety review: SDTM holds no safety "
                    "review, so none is recorded as having opened one (reviews.csv may say otherwise)"
                )

    def _kind(self, usubjid: str, r: dict):
        kinds = self.scenario.safety.adverse_events
        for variable in ("AEDECOD", "AETERM"):
            named = _name(r.get(variable))
            match = next((k for k in kinds if k.name.lower() == named), None)
            if match is not None:
                return match
        serious = _upper(r.get("AESER")) == "Y"
        alike = [k for k in kinds if k.serious == serious]
        if len(alike) == 1:
            return alike[0]
        term = r.get("AEDECOD") or r.get("AETERM") or ""
        what = "serious" if serious else "non-serious"
        self.miss(
            "ae",
            usubjid,
            "AESER",
            f"{len(alike)} AE kinds of the scenario are {what}: none is {term[:40]!r}'s by name or seriousness",
        )
        return None

    def _not_read(self) -> None:
        """What the records have no place for is counted, not listed: visits after screening, and
        disposition records that are not a subject's disposition (a milestone, a final visit)."""
        sv = self.domains.get("sv")
        if sv is not None:
            later = sum(not screening_visit(e, v) for e, v in zip(sv.column("EPOCH"), sv.column("VISIT"), strict=True))
            if later:
                self.notes.append(f"SV: {later:,} visits after screening are not read (the model schedules visits)")
        ds = self.domains.get("ds")
        if ds is not None:
            other = int((ds.column("DSCAT").map(_upper) != "DISPOSITION EVENT").sum())
            terms = ds.column("DSDECOD").map(_upper)
            other -= int(((ds.column("DSCAT").map(_upper) != "DISPOSITION EVENT") & terms.eq("RANDOMIZED")).sum())
            if other:
                self.notes.append(f"DS: {other:,} records that are not a disposition or randomisation are not read")

    def _unclaimed(self, mapped: set[str]) -> None:
        """Rows of subjects that are not in DM (or were not mapped from it) are listed."""
        for name, by in self.by_subject.items():
            for usubjid, rows in by.items():
                if usubjid not in mapped:
                    variable = "USUBJID"
                    self.miss(name, usubjid, variable, f"{len(rows)} row(s) of a subject not mapped from DM")


def _not_a_day(value: str, iso: bool) -> str:
    """Why an SDTM date gives no day: an impossible one, a partial one, or none at all."""
    if iso:
        return "not a real date"
    return "a partial date" if _PARTIAL_DATE.match(value) else "not an ISO 8601 date"


def screening_visit(epoch: object, visit: object) -> bool:
    """Whether an SV visit is a screening visit: EPOCH ``SCREENING``, or a VISIT naming screening."""
    return _upper(epoch) == "SCREENING" or "SCREEN" in _upper(visit)


def _by_subject(domain: Domain) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for row in domain.rows.to_dict("records"):
        out[row.get("USUBJID") or ""].append(row)
    return dict(out)


def _upper(value: object) -> str:
    return str(value).strip().upper() if isinstance(value, str) else ""


def _name(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (value or "").lower()).strip("_")


def _number(value: str | None) -> float:
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0


def _criterion(code: str) -> str | None:
    """The engine's criterion an IE code names: its name, or its code (``I2``, ``IN02``, ``EXCL3``)
    when that code is one criterion's alone."""
    if code in CRITERION_NAMES:
        return code
    match = re.match(r"^(I|E)[A-Z]*0*(\d+)$", code.strip().upper())
    if not match:
        return None
    prefix = f"{match[1]}{match[2]}_"
    named = [n for n in CRITERION_NAMES if n.startswith(prefix)]
    return named[0] if len(named) == 1 else None
