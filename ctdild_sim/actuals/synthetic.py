"""Synthetic actuals: what a simulated replicate would have recorded by a date, in exactly the
import format (``rows``). They are the worked example of the format, the input of the round-trip
and restart tests, and a way to try a forecast on a trial whose truth is known.

A record holds what had happened by the end of the as-of date: a screening decided later is
still under way, a lot filled later has no vials yet, a subject who dies later is ongoing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pandas as pd

from ctdild_sim.actuals.rows import FILES, KEPT_NOT_READ, columns
from ctdild_sim.model.engine import ReplicateResult
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.sim.events import EventName as E
from ctdild_sim.supply.inventory import parse_lots_detail

WEIGHT_DECIMALS = 2
"""Body weight as a ward records it (kg, two decimals)."""


def actuals_from_replicate(result: ReplicateResult, scenario: Scenario, as_of: dt.date) -> dict[str, pd.DataFrame]:
    """The actuals tables of ``result`` as of the end of ``as_of``, by file name."""
    return _Export(result, scenario, as_of).tables()


class _Export:
    def __init__(self, result: ReplicateResult, scenario: Scenario, as_of: dt.date):
        self.result, self.scenario = result, scenario
        self.start = scenario.start_date
        self.cut = float((as_of - self.start).days + 1)  # everything before this day has happened
        self.events = [e for e in result.events if e.day < self.cut]
        self.by_name: dict[str, list] = defaultdict(list)
        for e in self.events:
            self.by_name[e.event].append(e)

    def date(self, day: float | None) -> dt.date | None:
        if day is None or math.isnan(day) or day >= self.cut:
            return None
        return self.start + dt.timedelta(days=math.floor(day))

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {
            "sites.csv": self.sites(),
            "screening.csv": self.screening(),
            "subjects.csv": self.subjects(),
            "infusions.csv": self.infusions(),
            "adverse_events.csv": self.adverse_events(),
            "reviews.csv": self.reviews(),
        }
        if self.scenario.product is not None:
            tables["lots.csv"] = self.lots()
        return {
            name: _typed(pd.DataFrame(rows, columns=_simulated(FILES[name])), FILES[name])
            for name, rows in tables.items()
        }

    def sites(self) -> list[dict]:
        activated = {e.site: e.day for e in self.by_name[E.SITE_ACTIVATED]}
        return [{"site": name, "activated_on": self.date(activated.get(name))} for name in self.scenario.site_names]

    def screening(self) -> list[dict]:
        referred = {e.patient_id: (e.day, e.site) for e in self.by_name[E.REFERRED]}
        enrolled = {e.patient_id: e.day for e in self.by_name[E.ENROLLED]}
        screenings = defaultdict(list)
        for cid, _site, started, decided, failed in self.result.screenings:
            if started < self.cut:
                screenings[cid].append((started, decided, failed))
        for cid, started, decided in self._rescreens_of_subjects():
            screenings[cid].append((started, decided, ()))
        rows = []
        for cid, (day, site) in sorted(referred.items()):
            done = sorted(screenings.get(cid, [(day, math.inf, ())]))
            for k, (started, decided, failed) in enumerate(done):
                row = {
                    "candidate_id": cid,
                    "site": site,
                    "referred_on": self.date(day),
                    "screening_started_on": self.date(started) if k else None,
                    "screened_on": self.date(decided),
                }
                if decided < self.cut:
                    row["outcome"] = "failed" if failed else "passed"
                    row["failed_criteria"] = ";".join(failed) or None
                    later = done[k + 1][0] if k + 1 < len(done) else math.inf
                    if not failed and cid in enrolled and decided <= enrolled[cid] < later:
                        row["enrolled_on"] = self.date(enrolled[cid])
                rows.append(row)
        return rows

    def _rescreens_of_subjects(self) -> list[tuple[int, float, float]]:
        """Subjects rescreened while waiting for their first dose (their screen expired): when each
        rescreen started, and when it passed (inf: not by the cut)."""
        product = self.scenario.product
        if product is None or product.on_screen_expiry != "rescreen":
            return []
        out, started = [], {}
        for e in self.events:
            if e.event == E.SCREEN_EXPIRED and e.detail == "waiting for product":
                started[e.patient_id] = e.day
            elif e.event == E.SCREEN_PASSED and e.detail.startswith("rescreened") and e.patient_id in started:
                out.append((e.patient_id, started.pop(e.patient_id), e.day))
        out += [(cid, day, math.inf) for cid, day in started.items()]
        return out

    def subjects(self) -> list[dict]:
        rows = []
        for p in self.result.patients:
            if p.enrolled_day >= self.cut:
                continue
            ended = not math.isnan(p.end_day) and p.end_day < self.cut
            rows.append(
                {
                    "subject_id": p.patient_id,
                    "cohort": p.cohort_number,
                    "enrolled_on": self.date(p.enrolled_day),
                    "body_weight_kg": round(p.body_weight_kg, WEIGHT_DECIMALS),
                    "status": p.status if ended else "ongoing",
                    "status_on": self.date(p.end_day) if ended else None,
                }
            )
        return rows

    def infusions(self) -> list[dict]:
        rows: dict[tuple[int, int], dict] = {}
        current: dict[int, tuple[int, int]] = {}  # each subject's admission under way
        thawed: dict[int, tuple[int, int] | None] = {}
        wasted: dict[int, int] = defaultdict(int)  # vials thawed for the next infusion, not in time
        wasted_lots: dict[int, set[int]] = defaultdict(set)
        for e in self.events:
            if e.event == E.VIALS_THAWED:
                pairs = parse_lots_detail(e.detail)
                thawed[e.patient_id] = pairs[0] if len(pairs) == 1 else None
            elif e.event == E.VIALS_WASTED:
                wasted[e.patient_id] += int(e.value)
                wasted_lots[e.patient_id].update(lot for lot, _ in parse_lots_detail(e.detail))
            elif e.event == E.ADMITTED:
                key = current[e.patient_id] = (e.patient_id, int(e.value))
                rows[key] = {
                    "subject_id": e.patient_id,
                    "infusion": int(e.value),
                    "admitted_on": self.date(e.day),
                    "vials_discarded": wasted.pop(e.patient_id, 0) or None,
                }
            elif e.event == E.INFUSED:
                row = rows[current[e.patient_id]]
                row["infused_on"] = self.date(e.day)
                lot = thawed.pop(e.patient_id, None)
                other_lots = wasted_lots.pop(e.patient_id, set()) - ({lot[0]} if lot is not None else set())
                if lot is not None:  # one lot: named, unless a discard of the infusion came from another
                    row["lot_id"], row["vials"] = (None if other_lots else lot[0]), lot[1]
            elif e.event == E.DISCHARGED:
                rows[current[e.patient_id]]["discharged_on"] = self.date(e.day)
        return list(rows.values())

    def adverse_events(self) -> list[dict]:
        return [
            {
                "subject_id": e.patient_id,
                "onset_on": self.date(e.day),
                "name": e.detail.removesuffix(" (triggers review)"),
                "triggers_review": bool(e.value),
            }
            for e in self.by_name[E.ADVERSE_EVENT]
        ]

    def reviews(self) -> list[dict]:
        rows, open_rows = [], defaultdict(list)
        for e in self.events:
            if e.event == E.REVIEW_OPENED:
                row = {"opened_on": self.date(e.day), "subject_id": e.patient_id}
                rows.append(row)
                open_rows[e.patient_id].append(row)
            elif e.event == E.REVIEW_COMPLETED and open_rows[e.patient_id]:
                row = open_rows[e.patient_id].pop(0)
                row["closed_on"], row["outcome"] = self.date(e.day), e.detail
        return rows

    def lots(self) -> list[dict]:
        used, wasted, expired = defaultdict(int), defaultdict(int), defaultdict(int)
        for e in self.events:
            if e.event in (E.VIALS_THAWED, E.VIALS_WASTED):
                for lot_id, k in parse_lots_detail(e.detail):
                    (used if e.event == E.VIALS_THAWED else wasted)[lot_id] += k
            elif e.event == E.VIALS_EXPIRED:
                expired[int(e.detail.split()[1])] += int(e.value)
        rows = []
        for lot in self.result.lots:
            if not lot.initial_stock and lot.ordered_day >= self.cut:
                continue
            filled = lot.filled_day < self.cut if not math.isnan(lot.filled_day) else False
            initial = lot.initial_stock
            rows.append(
                {
                    "lot_id": lot.lot_id,
                    "initial_stock": initial,
                    "ordered_on": None if initial else self.date(lot.ordered_day),
                    "started_on": self._before(lot.started_day, initial),
                    "filled_on": self._before(lot.filled_day, initial),
                    "released_on": self.date(lot.released_day),
                    "failed_on": self.date(lot.failed_day),
                    "expires_on": self.start + dt.timedelta(days=math.floor(lot.expiry_day)) if filled else None,
                    "vials": lot.vials if filled else None,
                    "vials_used": used[lot.lot_id] - wasted[lot.lot_id],
                    "vials_discarded": wasted[lot.lot_id],
                    "vials_expired": expired[lot.lot_id],
                }
            )
        return rows

    def _before(self, day: float, initial: bool) -> dt.date | None:
        """A date of the initial stock may fall before the study's start (its fill)."""
        if math.isnan(day) or day >= self.cut:
            return None
        return self.start + dt.timedelta(days=math.floor(day)) if initial or day >= 0 else None


def _typed(frame: pd.DataFrame, model) -> pd.DataFrame:
    """Cells as the format writes them: whole numbers without a decimal point (a column with
    empty cells included), booleans as ``true`` and ``false``."""
    for name, info in model.model_fields.items():
        if info.annotation is bool:
            frame[name] = frame[name].map(lambda v: None if v is None or v != v else ("true" if v else "false"))
        elif info.annotation in (int, int | None):
            frame[name] = pd.array([None if v is None or v != v else int(v) for v in frame[name]], dtype="Int64")
    return frame


def synthetic_readme(scenario: Scenario, scenario_file: str, seed: int, replicate: int, as_of: dt.date) -> str:
    """The README of a synthetic actuals folder: it says the records are simulated, and how."""
    return (
        f"# Synthetic records of {scenario.name}, as of {as_of}\n\n"
        "**These records are simulated, not the trial's data.** They are what replicate "
        f"{replicate} (seed {seed}) of the scenario `{scenario_file}` recorded by the end of {as_of}, "
        "written in the actuals format (docs/records.md in the project) by:\n\n"
        f"    ctdild-sim actuals {scenario_file} --replicate {replicate} --seed {seed} --as-of {as_of} --out DIR\n\n"
        "Use them to try `ctdild-sim forecast`, or as an example of what each file holds.\n"
    )


def _simulated(model) -> list[str]:
    """A table's columns a simulation fills (no trial's own ids or recorded reasons)."""
    return [c for c in columns(model) if c not in KEPT_NOT_READ]
