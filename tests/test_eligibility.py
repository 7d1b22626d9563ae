"""Every criterion of the listing at its boundaries, on hand-made candidates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ctdild_sim.model.candidates import Candidate
from ctdild_sim.model.eligibility import (
    CRITERION_NAMES,
    criteria,
    failed_criteria,
    failed_criteria_for,
    rapidly_progressive,
    rapidly_worsening,
    refractory_fibrotic,
)
from ctdild_sim.scenario.eligibility import Eligibility

from conftest import make_scenario

# Eligible through the refractory fibrotic pathway only (not rapid: low steroid dose; not
# worsening: old symptoms); FVC decline well above 10%.
ELIGIBLE = Candidate(
    candidate_id=1,
    site="S",
    age=50.0,
    female=False,
    childbearing_potential=False,
    pregnant=False,
    breastfeeding=False,
    agrees_to_contraception=False,
    ctd_type="systemic_sclerosis",
    ild_profile="fibrotic_progressive",
    treatment_months=36.0,
    on_potent_immunosuppressant=True,
    steroid_mg_per_kg_day=0.2,
    fvc_decline_pct=12.0,
    dlco_decline_pct=0.0,
    ct_enlarging=False,
    symptom_onset_days=900.0,
    worsening_dyspnoea_and_hypoxaemia=False,
    improving_under_treatment=False,
    family_support=True,
    consents=True,
    got_u_per_l=30.0,
    gpt_u_per_l=30.0,
    enzymes_from_myopathy=False,
    creatinine_mg_dl=0.8,
    immune_deficiency_or_notifiable_infection=False,
    body_weight_kg=60.0,
)


def fails(**changes) -> tuple[str, ...]:
    return failed_criteria(replace(ELIGIBLE, **changes))


def test_baseline_is_eligible():
    assert fails() == ()


def test_criterion_names_are_unique_and_in_listing_order():
    assert len(set(CRITERION_NAMES)) == len(CRITERION_NAMES)
    assert CRITERION_NAMES[0].startswith("I1") and CRITERION_NAMES[-1].startswith("E5")


@pytest.mark.parametrize(
    ("age", "ok"), [(19.9, False), (20.0, True), (20.1, True), (79.9, True), (80.0, True), (80.1, False)]
)
def test_age_20_to_80_inclusive(age, ok):
    assert ("I1_age" not in fails(age=age)) == ok


@pytest.mark.parametrize(
    ("ctd", "ok"),
    [
        ("dermatomyositis", True),
        ("polymyositis", True),
        ("systemic_sclerosis", True),
        ("sle", True),
        ("rheumatoid_arthritis", True),
        ("sjogren", True),
        ("uctd", False),
        ("mctd", False),
    ],
)
def test_ctd_diagnosis(ctd, ok):
    assert ("I1_ctd_diagnosis" not in fails(ctd_type=ctd)) == ok


class TestFibroticPathway:
    """> 24 months of treatment; FVC > 10%, or FVC 5-10% with DLCO > 15%, or enlarging CT."""

    def candidate(self, **changes) -> Candidate:
        return replace(ELIGIBLE, **changes)

    @pytest.mark.parametrize(("months", "ok"), [(24.0, False), (24.01, True)])
    def test_more_than_24_months(self, months, ok):
        assert refractory_fibrotic(self.candidate(treatment_months=months)) == ok

    @pytest.mark.parametrize(("fvc", "ok"), [(10.0, False), (10.01, True)])
    def test_fvc_more_than_10_alone(self, fvc, ok):
        assert refractory_fibrotic(self.candidate(fvc_decline_pct=fvc, dlco_decline_pct=0.0)) == ok

    @pytest.mark.parametrize(
        ("fvc", "dlco", "ok"),
        [
            (5.0, 15.01, True),
            (10.0, 15.01, True),
            (4.99, 15.01, False),
            (5.0, 15.0, False),
            (7.0, 20.0, True),
        ],
    )
    def test_fvc_5_to_10_needs_dlco_more_than_15(self, fvc, dlco, ok):
        assert refractory_fibrotic(self.candidate(fvc_decline_pct=fvc, dlco_decline_pct=dlco)) == ok

    def test_enlarging_ct_alone(self):
        assert refractory_fibrotic(self.candidate(fvc_decline_pct=0.0, ct_enlarging=True))

    def test_needs_potent_immunosuppressant(self):
        assert not refractory_fibrotic(self.candidate(on_potent_immunosuppressant=False))


class TestRapidlyProgressivePathway:
    """Steroid > 0.8 mg/kg/day + immunosuppressants > 3 months; FVC > 5% or DLCO > 10% or CT."""

    def candidate(self, **changes) -> Candidate:
        base = dict(treatment_months=4.0, steroid_mg_per_kg_day=1.0, fvc_decline_pct=6.0, dlco_decline_pct=0.0)
        return replace(ELIGIBLE, **{**base, **changes})

    def test_base_is_rapid_only(self):
        c = self.candidate()
        assert rapidly_progressive(c) and not refractory_fibrotic(c) and not rapidly_worsening(c)
        assert failed_criteria(c) == ()

    @pytest.mark.parametrize(("dose", "ok"), [(0.8, False), (0.81, True)])
    def test_steroid_above_0_8(self, dose, ok):
        assert rapidly_progressive(self.candidate(steroid_mg_per_kg_day=dose)) == ok

    @pytest.mark.parametrize(("months", "ok"), [(3.0, False), (3.01, True)])
    def test_more_than_3_months(self, months, ok):
        assert rapidly_progressive(self.candidate(treatment_months=months)) == ok

    @pytest.mark.parametrize(("fvc", "ok"), [(5.0, False), (5.01, True)])
    def test_fvc_more_than_5(self, fvc, ok):
        assert rapidly_progressive(self.candidate(fvc_decline_pct=fvc)) == ok

    @pytest.mark.parametrize(("dlco", "ok"), [(10.0, False), (10.01, True)])
    def test_dlco_more_than_10(self, dlco, ok):
        assert rapidly_progressive(self.candidate(fvc_decline_pct=0.0, dlco_decline_pct=dlco)) == ok

    def test_at_the_3_month_boundary_the_ild_rule_fails(self):
        assert "I2_ild_pathway" in failed_criteria(self.candidate(treatment_months=3.0))


class TestRapidlyWorseningPathway:
    """Symptoms within one month with dyspnoea and falling oxygen, or enlarging lesions."""

    def candidate(self, **changes) -> Candidate:
        base = dict(
            treatment_months=0.5,
            steroid_mg_per_kg_day=1.0,
            fvc_decline_pct=0.0,
            symptom_onset_days=20.0,
            worsening_dyspnoea_and_hypoxaemia=True,
        )
        return replace(ELIGIBLE, **{**base, **changes})

    @pytest.mark.parametrize(("days", "ok"), [(30.0, True), (30.5, False)])
    def test_onset_within_a_month(self, days, ok):
        assert rapidly_worsening(self.candidate(symptom_onset_days=days)) == ok

    def test_needs_dyspnoea_or_enlarging_lesions(self):
        assert not rapidly_worsening(self.candidate(worsening_dyspnoea_and_hypoxaemia=False))
        assert rapidly_worsening(self.candidate(worsening_dyspnoea_and_hypoxaemia=False, ct_enlarging=True))

    def test_eligible_on_this_pathway_alone(self):
        c = self.candidate()
        assert not refractory_fibrotic(c) and not rapidly_progressive(c)
        assert failed_criteria(c) == ()


def test_no_pathway_fails_inclusion_2():
    assert fails(fvc_decline_pct=0.0) == ("I2_ild_pathway",)


def test_family_support():
    assert fails(family_support=False) == ("I3_family_support",)


def test_pregnancy_fails_test_and_exclusion_3():
    woman = dict(female=True, childbearing_potential=True, agrees_to_contraception=True)
    assert fails(**woman) == ()
    assert fails(**woman, pregnant=True) == ("I4_pregnancy_test", "E3_pregnancy_or_no_contraception")
    assert fails(**woman, breastfeeding=True) == ("E3_pregnancy_or_no_contraception",)


def test_contraception_only_matters_with_childbearing_potential():
    assert fails(female=True, childbearing_potential=False, agrees_to_contraception=False) == ()
    assert fails(female=True, childbearing_potential=True, agrees_to_contraception=False) == (
        "I5_contraception",
        "E3_pregnancy_or_no_contraception",
    )


def test_no_consent():
    assert fails(consents=False) == ("E1_no_consent",)


@pytest.mark.parametrize(("months", "excluded"), [(5.99, False), (6.0, True), (24.0, True)])
def test_improvement_after_6_months(months, excluded):
    c = dict(improving_under_treatment=True, treatment_months=months, steroid_mg_per_kg_day=1.0)
    assert ("E2_improving_on_treatment" in fails(**c)) == excluded


@pytest.mark.parametrize(
    ("got", "gpt", "excluded"),
    [(80.0, 80.0, False), (80.01, 30.0, True), (30.0, 80.01, True), (79.0, 79.0, False)],
)
def test_liver_limit_twice_40(got, gpt, excluded):
    assert ("E4_liver_function" in fails(got_u_per_l=got, gpt_u_per_l=gpt)) == excluded


def test_liver_exception_for_inflammatory_myopathy():
    high = dict(got_u_per_l=200.0, gpt_u_per_l=150.0)
    assert "E4_liver_function" not in fails(**high, ctd_type="dermatomyositis", enzymes_from_myopathy=True)
    assert "E4_liver_function" not in fails(**high, ctd_type="polymyositis", enzymes_from_myopathy=True)
    assert "E4_liver_function" in fails(**high, ctd_type="dermatomyositis", enzymes_from_myopathy=False)
    # the exception needs a myopathy: a flag on a scleroderma patient does not apply
    assert "E4_liver_function" in fails(**high, ctd_type="systemic_sclerosis", enzymes_from_myopathy=True)


@pytest.mark.parametrize(("creatinine", "excluded"), [(1.4, False), (1.41, True)])
def test_creatinine_limit(creatinine, excluded):
    assert ("E4_kidney_function" in fails(creatinine_mg_dl=creatinine)) == excluded


def test_immune_deficiency_or_notifiable_infection():
    assert fails(immune_deficiency_or_notifiable_infection=True) == ("E5_immune_deficiency_or_infection",)


def test_every_failed_criterion_is_recorded():
    got = fails(age=85.0, ctd_type="uctd", consents=False, creatinine_mg_dl=2.0)
    assert got == ("I1_age", "I1_ctd_diagnosis", "E1_no_consent", "E4_kidney_function")


class TestProtocolWhatIfs:
    """The thresholds are scenario fields (defaults: the listing's); an amendment moves exactly the
    candidates on either side of the changed threshold."""

    @pytest.mark.parametrize(
        ("months", "listing", "amended"),
        [
            (11.9, False, False),
            (12.0, False, False),
            (12.01, False, True),
            (18.0, False, True),
            (24.0, False, True),
            (24.01, True, True),
        ],
    )
    def test_twelve_months_instead_of_24_admits_those_between(self, months, listing, amended):
        # deteriorating (FVC -12%) on immunosuppressants, not on high-dose steroids, symptoms long-standing
        candidate = replace(ELIGIBLE, treatment_months=months)
        amendment = make_scenario(eligibility={"fibrotic_min_treatment_months": 12}).eligibility
        assert (failed_criteria(candidate) == ()) == listing
        assert (failed_criteria_for(amendment)(candidate) == ()) == amended

    def test_the_listing_is_the_default_and_texts_follow_the_thresholds(self):
        assert make_scenario().eligibility == Eligibility() and failed_criteria_for(Eligibility()) is failed_criteria
        amended = Eligibility(max_age_years=75, creatinine_limit_mg_dl=1.5)
        texts = {c.name: c.text for c in criteria(amended)}
        assert texts["I1_age"] == "Aged 20 to 75 years" and texts["E4_kidney_function"].endswith("1.5 mg/dL")
        assert "I1_age" in failed_criteria_for(amended)(replace(ELIGIBLE, age=76.0))
        assert "E4_kidney_function" not in failed_criteria_for(amended)(replace(ELIGIBLE, creatinine_mg_dl=1.45))

    def test_inconsistent_thresholds_are_refused(self):
        with pytest.raises(ValueError, match="min_age_years"):
            Eligibility(min_age_years=70, max_age_years=60)
        with pytest.raises(ValueError, match="fibrotic_fvc_band_low_pct"):
            Eligibility(fibrotic_fvc_band_low_pct=12)

    def test_an_amendment_changes_screen_failures_on_common_random_numbers(self):
        from ctdild_sim.runs.runner import simulate_metrics
        from ctdild_sim.scenario.loading import load_scenario
        from ctdild_sim.scenario.paths import with_value

        from conftest import BASE_SCENARIO

        base = load_scenario(BASE_SCENARIO)
        amended = with_value(base, "eligibility.fibrotic_min_treatment_months", 12)
        a = simulate_metrics(base, 60, 5, workers=1)
        b = simulate_metrics(amended, 60, 5, workers=1)
        # the same referrals: the pathway criterion fails less often, the others are drawn alike
        assert b["sf_I2_ild_pathway"].sum() < a["sf_I2_ild_pathway"].sum()
        assert b["lplv_day"].fillna(1e9).median() <= a["lplv_day"].fillna(1e9).median()
