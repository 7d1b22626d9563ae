"""The dashboard end to end in headless Chromium (Debian's chromium and chromium-driver, driven
by ``dash.testing``): the app is started with ``ctdild-sim dashboard`` as a user would.

Needs /usr/bin/chromium and chromedriver on PATH; ``tools/install-browser`` installs them and is
part of the test command (README, ``.ci/run``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ctdild_sim import cli
from ctdild_sim.runs.results import list_runs, save_run
from ctdild_sim.runs.runner import run_scenario
from ctdild_sim.scenario.loading import load_scenario
from ctdild_sim.studies.sensitivity import assumptions, run_sensitivity
from dashboard import ids
from dashboard.pages import PATHS

from conftest import FORECAST_EXAMPLE, SCENARIOS

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
BASE = "nct06574581.yaml"
LONG_REVIEW = "nct06574581_long_review.yaml"
EXAMPLE_RECORDS = "nct06574581-2026-11-25"
PAGE_GRAPHS = {"timeline": 4, "product": 3, "cohorts": 1, "screening": 1}
SCREENSHOTS = Path(os.environ.get("CTDILD_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))
"""Where each page's screenshot is left for a person to look at."""
TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    """A results store holding one small run of the base scenario."""
    root = tmp_path_factory.mktemp("results")
    path = SCENARIOS / BASE
    scenario = load_scenario(path)
    tables = run_scenario(scenario, 24, seed=7)
    save_run(
        root,
        tables.items(),
        scenario=scenario,
        scenario_file=path,
        scenario_text=path.read_text(),
        seed=7,
        replicates=24,
        options={},
        command=["test"],
        started=dt.datetime.now(dt.UTC),
    )
    return root


@pytest.fixture(scope="module")
def sensitivity_run(results_dir) -> str:
    """A small sensitivity run (two assumptions) in the store; its run id."""
    path = SCENARIOS / BASE
    scenario = load_scenario(path)
    found = assumptions(scenario, {"safety.hold_days": [21, 35], "sites.0.referral_rate_per_month": [1.0, 2.0]})
    result = run_sensitivity(scenario, found, 24, 7, workers=1, keep_events=24)
    tables = [*result.base.items(), ("tornado", result.tornado), ("sensitivity_arms", result.arms_table())]
    return save_run(
        results_dir,
        tables,
        scenario=scenario,
        scenario_file=path,
        scenario_text=path.read_text(),
        seed=7,
        replicates=24,
        options={},
        command=["test"],
        started=dt.datetime.now(dt.UTC),
        extra={"kind": "sensitivity"},
    ).name


def _plain_run(results_dir: Path) -> str:
    """The store's plan run (not the sensitivity run)."""
    return next(
        p.name
        for p in sorted(results_dir.iterdir())
        if not p.name.startswith(".") and json.loads((p / "manifest.json").read_text()).get("kind") is None
    )


@pytest.fixture(scope="module")
def scenarios_dir(tmp_path_factory) -> Path:
    """A copy of the shipped scenarios folder (the Scenario page may save into it)."""
    folder = tmp_path_factory.mktemp("scenarios") / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    return folder


@pytest.fixture(scope="module")
def server(results_dir, scenarios_dir):
    """``ctdild-sim dashboard`` on a free loopback port; its URL."""
    port = _free_port()
    log = results_dir.parent / "dashboard.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ctdild_sim",
                "dashboard",
                "--scenarios",
                str(scenarios_dir),
                "--results",
                str(results_dir),
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"dashboard did not start:\n{log.read_text()}")
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def browser(server, tmp_path):
    if not Path(CHROMIUM).exists() or shutil.which("chromedriver") is None:
        pytest.fail("Chromium and chromedriver are needed: run tools/install-browser (part of the test command)")
    os.environ["DASH_TEST_CHROMEPATH"] = CHROMIUM
    from dash.testing.browser import Browser

    with Browser("Chrome", headless=True, options=None, download_path=str(tmp_path), wait_timeout=TIMEOUT) as b:
        b.download_dir = tmp_path
        yield b


def _open(browser, url: str) -> None:
    browser.driver.get(url)
    browser.wait_for_element(f"#{ids.VIEW}", timeout=TIMEOUT)


def _graphs(browser) -> int:
    return len(browser.driver.find_elements(By.CSS_SELECTOR, f"#{ids.VIEW} .js-plotly-plot .main-svg"))


def _screenshot(browser, page: str) -> None:
    """The whole page as a PNG in SCREENSHOTS (the window stretched to the page's height)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver = browser.driver
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(max(height + 100, 900), 12_000))
    _laid_out(browser)
    driver.save_screenshot(str(SCREENSHOTS / f"dashboard-{page}.png"))
    driver.set_window_size(1400, 1000)


def _wait(condition, what: str, timeout: float = TIMEOUT, show=None):
    """``condition()`` once it is true; a failure naming ``what`` (and what ``show()`` says) if it
    never is. An element the page redrew while ``condition`` read it counts as "not yet"."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}" + (f"; the page shows: {show()}" if show else ""))


def _pick(browser, dropdown_id: str, *labels: str) -> None:
    """Choose options of a dcc.Dropdown by their label, as a user clicks them."""
    browser.find_element(f"#{dropdown_id}").click()
    for label in labels:
        option = _wait(
            lambda label=label: browser.driver.find_elements(
                By.XPATH, f"//*[@role='option'][.//span[text()='{label}']]"
            ),
            f"option {label}",
        )
        option[0].click()
    browser.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def _click(browser, css: str) -> bool:
    """Click the first element matching ``css``; False if there is none yet or the page redrew it."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        found = browser.driver.find_elements(By.CSS_SELECTOR, css)
        if found:
            found[0].click()
        return bool(found)
    except StaleElementReferenceException:
        return False


OVERLAPS = """
const boxes = (root, css) => [...root.querySelectorAll(css)].map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 0 && r.height > 0);
const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
const found = [];
for (const plot of document.querySelectorAll('.js-plotly-plot')) {
  const title = (plot.querySelector('.gtitle') || {}).textContent || '?';
  const legends = boxes(plot, '.legend .bg');
  const texts = boxes(plot, '.gtitle, .g-xtitle text, .g-ytitle text, .xtick text, .ytick text, .annotation-text');
  const areas = boxes(plot, '.nsewdrag');
  for (const [, legend] of legends) {
    for (const [e, r] of [...texts, ...areas]) {
      if (hit(legend, r)) found.push(title + ': the legend covers ' + (e.textContent || 'the plot area'));
    }
  }
}
return found;
"""
"""Script: every text of a graph (title, axis titles, tick labels, annotations) and every plot area
the graph's legend covers, by bounding box."""


def _legend_overlaps(browser) -> list[str]:
    return browser.driver.execute_script(OVERLAPS)


LEGEND_BOXES = """
return [...document.querySelectorAll('.js-plotly-plot .legend .bg, .js-plotly-plot .main-svg')]
    .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; });
"""


def _laid_out(browser) -> None:
    """Until the graphs and their legends stand still over two animation frames: plotly lays a
    legend out after a graph's first draw, and again after the window is resized."""
    seen: list = []

    def still() -> bool:
        browser.driver.execute_async_script("requestAnimationFrame(() => requestAnimationFrame(arguments[0]))")
        seen.append(browser.driver.execute_script(LEGEND_BOXES))
        return len(seen) >= 2 and seen[-1] == seen[-2]

    _wait(still, "the graphs to be laid out")


def _severe_logs(browser) -> list:
    return [e for e in browser.get_logs() or [] if e.get("level") == "SEVERE"]


def _go(browser, page: str) -> None:
    """Click a page's link (as a user moves between pages), once it carries the address's runs."""
    query = browser.driver.current_url.partition("?")[2]
    runs = next((part for part in query.split("&") if part.startswith("runs=")), "")

    def ready() -> bool:
        links = browser.driver.find_elements(By.CSS_SELECTOR, f".nav-{page}")
        return bool(links) and runs in (links[0].get_attribute("href") or "")

    _wait(ready, f"the link to {page}")
    _wait(lambda: _click(browser, f".nav-{page}"), f"the link to {page}")


def _text(browser, css: str) -> str:
    """The text of the first element matching ``css`` ("" while there is none), read again if the
    page redrew it while it was being read."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(50):
        try:
            found = browser.driver.find_elements(By.CSS_SELECTOR, css)
            return found[0].text if found else ""
        except StaleElementReferenceException:
            time.sleep(0.1)
    pytest.fail(f"{css} was redrawn every time it was read")


def _view(browser) -> str:
    """The view's text, read again if the page redrew it while it was being read."""
    return _wait(lambda: browser.find_element(f"#{ids.VIEW}").text or " ", "the view's text")


def test_every_page_renders_its_graphs_without_console_errors(browser, server, results_dir):
    run_id = _plain_run(results_dir)
    _open(browser, f"{server}/?runs={run_id}")
    for page, expected in PAGE_GRAPHS.items():
        _go(browser, page)
        _wait(
            lambda page=page: browser.driver.current_url.endswith(f"{PATHS[page]}?runs={run_id}"),
            f"the address of {page}",
        )
        _wait(lambda expected=expected: _graphs(browser) >= expected, f"{expected} graphs on {page}")
        assert not browser.driver.find_elements(By.CSS_SELECTOR, f"#{ids.VIEW} .error")
        _laid_out(browser)  # plotly lays a legend out after the graph's first draw
        assert _legend_overlaps(browser) == [], page
        _screenshot(browser, page)
    # the lot planner, run from the Cell product page as a background job
    _go(browser, "product")
    replicates = browser.find_element("#replicates")
    replicates.send_keys(Keys.CONTROL, "a")
    replicates.send_keys("20")
    target = _wait(lambda: browser.driver.find_elements(By.ID, ids.PLAN_TARGET), "the lot plan's target")[0]
    target.send_keys(Keys.CONTROL, "a")
    target.send_keys("40")
    browser.find_element(f"#{ids.PLAN_BUTTON}").click()
    plan = _wait(lambda: browser.find_element(f"#{ids.PLAN_RESULT}").text, "the lot plan", timeout=180)
    assert plan.startswith("Stored lot plan") and "picked above" in plan
    assert "policies simulated" in _text(browser, f"#{ids.PLAN_PROGRESS}")
    # the plan is a stored run, picked: the address keeps it, and the page shows its answer and search
    plan_id = plan.split()[3].rstrip(";")
    _wait(lambda: f"runs={plan_id}" in browser.driver.current_url, "the plan in the address")
    _wait(lambda: "lot plan search" in _view(browser), "the stored plan's view")
    assert "which lot size and reorder policy keep P(a subject waits for product) under 40.0% at" in _view(browser)
    _open(browser, browser.driver.current_url)  # a bookmark of it
    _wait(lambda: "lot plan search" in _view(browser), "the stored plan after a reload")
    _go(browser, "screening")
    _wait(lambda: "Screen failures by criterion" in _view(browser), "the screening view")
    # a table's CSV button (named after the table, with the columns the page shows) and the HTML export
    _wait(lambda: _click(browser, f"#{ids.VIEW} .csv-button"), "the CSV button")
    csv = _wait(lambda: list(browser.download_dir.glob("*.csv")), "the CSV download")[0]
    assert csv.name.endswith("-screen-failures-by-criterion-a-candidate-can-fail-several.csv"), csv.name
    assert csv.read_text().splitlines()[0].startswith("Criterion,Kind,What it requires")
    browser.find_element(f"#{ids.EXPORT_BUTTON}").click()
    report = _wait(lambda: list(browser.download_dir.glob("*.html")), "the HTML export")[0]
    text = report.read_text()
    assert "Screen failures by criterion" in text and "plotly" in text
    _go(browser, "scenario")
    _pick(browser, ids.SCENARIO_DETAIL, BASE)
    _wait(lambda: f"{BASE}: NCT06574581 base" in _view(browser), "scenario parameters")
    assert f"file={BASE}" in browser.driver.current_url
    _screenshot(browser, "scenario")
    assert _severe_logs(browser) == []


def test_a_bookmarked_address_reopens_the_same_view(browser, server, results_dir):
    run_id = _plain_run(results_dir)
    address = f"{server}/?runs={run_id}&replicate=3"
    _open(browser, address)
    _wait(lambda: "replicate 3 (replicates 0 to" in _view(browser), "the Gantt chart of replicate 3")
    browser.driver.refresh()
    _wait(lambda: "replicate 3 (replicates 0 to" in _view(browser), "the same view after a reload")
    assert browser.driver.current_url == address
    # the replicate picked on the page goes into the address
    box = browser.find_element(f"#{ids.GANTT_REPLICATE}")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("5", Keys.ENTER)
    _wait(lambda: browser.driver.current_url.endswith("replicate=5"), "the address with replicate 5")
    _wait(lambda: "replicate 5 (replicates 0 to" in _view(browser), "the Gantt chart of replicate 5")
    # an unknown run id is reported, not ignored
    _open(browser, f"{server}/cohorts?runs={run_id},no-such-run")
    _wait(
        lambda: "not in the results store: no-such-run" in browser.find_element(f"#{ids.URL_STATUS}").text,
        "the unknown run reported",
    )
    _wait(lambda: "run no-such-run: no such run" in _view(browser), "the view's message")
    # a hint is not an error
    _open(browser, f"{server}/cohorts")
    _wait(lambda: browser.driver.find_elements(By.CSS_SELECTOR, f"#{ids.VIEW} .hint"), "the hint")
    assert not browser.driver.find_elements(By.CSS_SELECTOR, f"#{ids.VIEW} .error")
    assert _severe_logs(browser) == []


def test_two_scenario_comparison_runs_through_the_ui(browser, server, results_dir):
    before = {p.name for p in results_dir.iterdir()}
    _open(browser, f"{server}/compare")
    _pick(browser, ids.SCENARIO_FILES, BASE, LONG_REVIEW)
    replicates = browser.find_element("#replicates")
    replicates.send_keys(Keys.CONTROL, "a")
    replicates.send_keys("30")
    browser.find_element(f"#{ids.RUN_BUTTON}").click()
    _wait(lambda: "Stored 2 runs" in browser.find_element(f"#{ids.RUN_STATUS}").text, "the two runs", timeout=240)
    assert browser.find_element(f"#{ids.RUN_PROGRESS}").get_attribute("value") == "60"  # 2 scenarios x 30
    new = {p.name for p in results_dir.iterdir()} - before
    assert len(new) == 2
    _wait(lambda: all(r in browser.driver.current_url for r in new), "the new runs in the address")
    _wait(lambda: _graphs(browser) >= 2, "the comparison graphs")
    text = _view(browser)
    assert "paired replicate by replicate" in text and "Paired differences" in text
    assert "NCT06574581 long review" in text
    _laid_out(browser)  # plotly lays a legend out after the graph's first draw
    assert _legend_overlaps(browser) == [], "compare"
    _screenshot(browser, "compare")
    assert _severe_logs(browser) == []


def test_a_bad_upload_shows_the_cli_message(browser, server, tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text((SCENARIOS / BASE).read_text().replace("start_date:", "start_dat:"))
    _open(browser, f"{server}/scenario")
    upload = _wait(lambda: browser.driver.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"), "the upload")
    upload[0].send_keys(str(bad))
    message = _wait(lambda: _text(browser, "#upload-result .error"), "the error")
    assert "typo.yaml" in message and "start_dat" in message
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 30_000)  # 300 kB: over the limit
    browser.driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(big))
    _wait(lambda: "the limit is" in browser.find_element("#upload-result").text, "the size message")
    good = tmp_path / "good.yaml"
    good.write_text((SCENARIOS / BASE).read_text())
    browser.driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(good))
    _wait(lambda: "good.yaml: valid" in browser.find_element("#upload-result").text, "the valid upload")


def test_the_forecast_view_draws_from_the_shipped_records(browser, server, results_dir, tmp_path):
    before = {p.name for p in results_dir.iterdir()}
    _open(browser, f"{server}/forecast")
    _pick(browser, ids.FORECAST_SCENARIO, BASE)
    _pick(browser, ids.FORECAST_RECORDS, EXAMPLE_RECORDS)
    status = _wait(
        lambda: (
            "valid as of" in browser.find_element("#forecast-records-status").text
            and browser.find_element("#forecast-records-status").text
        ),
        "the records' check",
    )
    assert "The records are valid as of 2026-11-25" in status  # the as-of date from the folder's name
    replicates = browser.find_element("#replicates")
    replicates.send_keys(Keys.CONTROL, "a")
    replicates.send_keys("40")
    browser.find_element("#forecast-button").click()
    _wait(
        lambda: "Stored forecast" in browser.find_element("#forecast-status").text,
        "the forecast",
        timeout=240,
        show=lambda: browser.find_element("#forecast-status").text + " | " + browser.driver.current_url,
    )
    assert len({p.name for p in results_dir.iterdir()} - before) == 1
    # the job's progress goes with it; the controls it was made from are in the address
    _wait(lambda: not _text(browser, f"#{ids.FORECAST_PROGRESS}"), "the job's progress text cleared")
    _wait(
        lambda: all(
            part in browser.driver.current_url
            for part in (f"scenario={BASE}", f"records={EXAMPLE_RECORDS}", "as_of=2026-11-25")
        ),
        "the controls in the address",
        show=lambda: browser.driver.current_url,
    )
    _wait(lambda: _graphs(browser) >= 2, "the forecast's graphs")
    text = _view(browser)
    assert f"forecast as of 2026-11-25: from the records {EXAMPLE_RECORDS}" in text
    for part in (
        "assumptions learned from the records",
        "milestones (observed or forecast)",
        "assumptions, prior against posterior",
        "stock on 2026-11-25",
        "lots still to start",
    ):
        assert part in text, part
    svg = browser.find_element(f"#{ids.VIEW} .js-plotly-plot").get_attribute("innerHTML")
    assert "the records" in svg and "forecast P10-P90" in svg and "plan from the start" in svg
    _laid_out(browser)  # plotly lays a legend out after the graph's first draw
    assert _legend_overlaps(browser) == [], "forecast"
    _screenshot(browser, "forecast")
    # a zip of records with a mistake: the CLI's message, naming the zip, its file, row and column
    bad = tmp_path / "records-bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        for path in sorted((SCENARIOS / "actuals" / EXAMPLE_RECORDS).glob("*.csv")):
            content = path.read_text()
            if path.name == "subjects.csv":
                content = content.replace("2024-12-20", "2024-13-20")
            archive.writestr(path.name, content)
    browser.driver.find_element(By.CSS_SELECTOR, "#forecast-upload input[type=file]").send_keys(str(bad))
    message = _wait(lambda: _text(browser, "#forecast-records-status .error"), "the records' error")
    assert "records-bad.zip/subjects.csv:2:enrolled_on: Input should be a valid date" in message
    assert len({p.name for p in results_dir.iterdir()} - before) == 1
    # target dates: typed, kept in the address, answered with their Monte Carlo error, kept on reload
    targets = browser.find_element(f"#{ids.FORECAST_TARGETS}")
    targets.send_keys("2028-06-30, 2029-12-31", Keys.ENTER)
    _wait(lambda: "targets=2028-06-30,2029-12-31" in browser.driver.current_url, "the dates in the address")
    asked = "P(last patient last visit by 2029-12-31)"
    _wait(lambda: asked in _view(browser), "the target dates' answers")
    assert "P(last patient last visit by 2028-06-30)" in _view(browser) and "±" in _view(browser)
    _open(browser, browser.driver.current_url)
    _wait(lambda: asked in _view(browser), "the answers after a reload")
    assert browser.find_element(f"#{ids.FORECAST_TARGETS}").get_attribute("value") == "2028-06-30,2029-12-31"
    assert _severe_logs(browser) == []


def _controls(browser) -> tuple[str, str, str]:
    """What the Forecast page's scenario file, records and as-of controls show ("" for nothing)."""
    as_of = browser.driver.find_elements(By.ID, ids.FORECAST_AS_OF)
    return (
        _text(browser, f"#{ids.FORECAST_SCENARIO} .dash-dropdown-value-item"),
        _text(browser, f"#{ids.FORECAST_RECORDS} .dash-dropdown-value-item"),
        (as_of[0].get_attribute("value") or "") if as_of else "",
    )


def test_a_stored_forecast_in_the_address_sets_the_forecast_controls(browser, server, results_dir):
    """A forecast as of 2026-11-20 (neither today nor the date in its records' name), made with the
    CLI: opened by its address, the controls show what it was made from, and the address keeps them."""
    before = {r.run_id for r in list_runs(results_dir)}
    made = CliRunner().invoke(
        cli.main,
        [*FORECAST_EXAMPLE[:-1], "2026-11-20", "-n", "6", "-j", "1", "--no-lot-plan", "--results", str(results_dir)],
    )
    assert made.exit_code == 0, made.output
    [run_id] = [r.run_id for r in list_runs(results_dir) if r.run_id not in before]
    _open(browser, f"{server}/forecast?runs={run_id}")
    _wait(lambda: "forecast as of 2026-11-20" in _view(browser), "the stored forecast's view")
    shown = (BASE, EXAMPLE_RECORDS, "2026-11-20")
    _wait(lambda: _controls(browser) == shown, "the forecast's controls", show=lambda: str(_controls(browser)))
    address = f"{server}/forecast?runs={run_id}&scenario={BASE}&records={EXAMPLE_RECORDS}&as_of=2026-11-20"
    _wait(lambda: browser.driver.current_url == address, "the controls in the address", show=lambda: address)
    assert "valid as of 2026-11-20" in _wait(lambda: _text(browser, "#forecast-records-status"), "the check")
    # a date typed in goes into the address, and a reload keeps it beside the forecast it is not
    as_of = browser.find_element(f"#{ids.FORECAST_AS_OF}")
    as_of.send_keys(Keys.CONTROL, "a")
    as_of.send_keys("2026-11-24", Keys.ENTER)
    _wait(lambda: "as_of=2026-11-24" in browser.driver.current_url, "the new date in the address")
    _wait(lambda: "valid as of 2026-11-24" in _text(browser, "#forecast-records-status"), "the check of that date")
    _open(browser, browser.driver.current_url)
    _wait(lambda: _controls(browser) == (BASE, EXAMPLE_RECORDS, "2026-11-24"), "the controls after a reload")
    _wait(lambda: "valid as of 2026-11-24" in _text(browser, "#forecast-records-status"), "the check after a reload")
    # an address naming what is not there: ignored, no error
    _open(browser, f"{server}/forecast?scenario=../../etc/passwd&records=../../etc&as_of=not-a-date")
    _wait(lambda: _controls(browser)[2] == dt.date.today().isoformat(), "today as the as-of date")
    _wait(lambda: "Pick the scenario file" in _text(browser, "#forecast-records-status"), "the hint to pick")
    assert _controls(browser)[:2] == ("", "")
    _wait(lambda: browser.driver.current_url.endswith(f"/forecast?as_of={dt.date.today()}"), "the address cleaned")
    assert not browser.driver.find_elements(By.CSS_SELECTOR, ".error")
    assert _severe_logs(browser) == []


def test_an_edited_scenario_runs_from_the_scenario_page_and_is_saved_only_when_asked(
    browser, server, results_dir, scenarios_dir
):
    before_runs, before_files = {p.name for p in results_dir.iterdir()}, sorted(os.listdir(scenarios_dir))
    _open(browser, f"{server}/scenario?file={BASE}")
    _wait(lambda: "product.costs: 5 parameters" in _view(browser), "the parameter tree")
    editor = _wait(lambda: browser.driver.find_elements(By.ID, ids.SCENARIO_TEXT), "the editor")[0]
    _wait(lambda: "NCT06574581 base" in (editor.get_attribute("value") or ""), "the file's text in the editor")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(f"extends: {BASE}\nname: NCT06574581 browser edit\nsafety:\n  hold_days: 35\n")
    browser.find_element(f"#{ids.SCENARIO_CHECK}").click()
    _wait(
        lambda: "(edited).yaml: valid" in browser.find_element(f"#{ids.SCENARIO_VIEW}").text,
        "the check",
        show=lambda: browser.find_element(f"#{ids.SCENARIO_VIEW}").text[:300],
    )
    replicates = browser.find_element("#replicates")
    replicates.send_keys(Keys.CONTROL, "a")
    replicates.send_keys("12")
    browser.find_element(f"#{ids.SCENARIO_RUN}").click()
    status = _wait(
        lambda: (
            "Stored " in browser.find_element(f"#{ids.SCENARIO_STATUS}").text
            and browser.find_element(f"#{ids.SCENARIO_STATUS}").text
        ),
        "the run",
        timeout=180,
    )
    new = {p.name for p in results_dir.iterdir()} - before_runs
    assert len(new) == 2 and "(nct06574581 (edited).yaml): 12 replicates" in status and "Open Compare" in status
    edited = next(r for r in new if "NCT06574581 browser edit" in (results_dir / r / "manifest.json").read_text())
    _wait(lambda: all(r in browser.driver.current_url for r in new), "the what-if and its base in the address")
    assert sorted(os.listdir(scenarios_dir)) == before_files  # nothing saved until asked
    name = browser.find_element(f"#{ids.SCENARIO_SAVE_NAME}")
    name.send_keys(BASE, Keys.ENTER)
    browser.find_element(f"#{ids.SCENARIO_SAVE}").click()
    _wait(lambda: "pick a new name" in browser.find_element(f"#{ids.SCENARIO_STATUS}").text, "the refusal")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("browser-edit.yaml", Keys.ENTER)
    browser.find_element(f"#{ids.SCENARIO_SAVE}").click()
    _wait(lambda: "Saved as" in browser.find_element(f"#{ids.SCENARIO_STATUS}").text, "the save")
    assert "NCT06574581 browser edit" in (scenarios_dir / "browser-edit.yaml").read_text()
    _screenshot(browser, "scenario-editor")
    # the what-if against its base, on Compare
    _go(browser, "compare")
    _wait(lambda: "What differs from NCT06574581 base's scenario" in _view(browser), "the comparison")
    assert "safety.hold_days" in _view(browser) and edited in browser.driver.current_url
    assert _severe_logs(browser) == []


def test_the_sensitivity_page_draws_a_stored_tornado_and_ranks_a_run(browser, server, sensitivity_run):
    _open(browser, f"{server}/sensitivity?runs={sensitivity_run}")
    _wait(lambda: _graphs(browser) >= 5, "the tornado's graphs (LPLV P90: never reached, no graph)")
    text = _view(browser)
    assert "Each of 2 assumptions moved alone" in text and "share of the variance of" in text
    assert "CMUH referral rate per month" in text and "Hold days (safety)" in text  # words, not identifiers
    assert "nav-current" in browser.find_element(".nav-sensitivity").get_attribute("class")
    _laid_out(browser)  # plotly lays a legend out after the graph's first draw
    assert _legend_overlaps(browser) == []
    _screenshot(browser, "sensitivity")
    assert _severe_logs(browser) == []
