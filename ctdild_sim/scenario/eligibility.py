"""The listing's eligibility thresholds as scenario fields, so a protocol amendment is a scenario:
``eligibility: {fibrotic_min_treatment_months: 12}``. Every default is the NCT06574581 listing's
value; which side of a threshold is in or out is the listing's wording, read in
``ctdild_sim.model.eligibility``.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ctdild_sim.scenario.base import StrictModel


def _threshold(default: float, low: float, high: float, what: str):
    return Field(default=default, ge=low, le=high, description=f"{what} (the listing: {default:g}).")


class Eligibility(StrictModel):
    """The criteria's numbers (the criteria themselves are the listing's, named rules)."""

    min_age_years: float = _threshold(20.0, 0, 120, "Youngest age admitted, inclusive")
    max_age_years: float = _threshold(80.0, 0, 120, "Oldest age admitted, inclusive")
    fibrotic_min_treatment_months: float = _threshold(
        24.0, 0, 600, "Refractory fibrotic ILD: more than this many months of steroids and immunosuppressants"
    )
    fibrotic_fvc_decline_pct: float = _threshold(10.0, 0, 100, "Refractory fibrotic ILD: FVC decline above this")
    fibrotic_fvc_band_low_pct: float = _threshold(
        5.0, 0, 100, "Refractory fibrotic ILD: an FVC decline from this (inclusive) ..."
    )
    fibrotic_fvc_band_high_pct: float = _threshold(
        10.0, 0, 100, "... to this (inclusive), together with a DLCO decline above fibrotic_dlco_decline_pct"
    )
    fibrotic_dlco_decline_pct: float = _threshold(15.0, 0, 100, "Refractory fibrotic ILD: DLCO decline above this")
    rapid_min_treatment_months: float = _threshold(
        3.0, 0, 600, "Rapidly progressive ILD: more than this many months of high-dose steroids"
    )
    rapid_min_steroid_mg_per_kg_day: float = _threshold(
        0.8, 0, 10, "Rapidly progressive ILD: a steroid dose above this (mg/kg/day)"
    )
    rapid_fvc_decline_pct: float = _threshold(5.0, 0, 100, "Rapidly progressive ILD: FVC decline above this")
    rapid_dlco_decline_pct: float = _threshold(10.0, 0, 100, "Rapidly progressive ILD: DLCO decline above this")
    worsening_onset_days: float = _threshold(
        30.0, 0, 3650, "Rapidly worsening ILD: pulmonary symptoms began this many days ago or fewer"
    )
    improvement_min_treatment_months: float = _threshold(
        6.0, 0, 600, "Exclusion 2: improving after this many months of treatment or more"
    )
    enzyme_limit_u_per_l: float = _threshold(80.0, 0, 10_000, "Exclusion 4: GOT or GPT above this excludes (U/L)")
    creatinine_limit_mg_dl: float = _threshold(1.4, 0, 50, "Exclusion 4: serum creatinine above this excludes (mg/dL)")

    @model_validator(mode="after")
    def _ordered(self) -> Eligibility:
        if self.min_age_years > self.max_age_years:
            raise ValueError(
                f"min_age_years (={self.min_age_years:g}) is above max_age_years (={self.max_age_years:g})"
            )
        if self.fibrotic_fvc_band_low_pct > self.fibrotic_fvc_band_high_pct:
            raise ValueError(
                f"fibrotic_fvc_band_low_pct (={self.fibrotic_fvc_band_low_pct:g}) is above fibrotic_fvc_band_high_pct "
                f"(={self.fibrotic_fvc_band_high_pct:g})"
            )
        return self
