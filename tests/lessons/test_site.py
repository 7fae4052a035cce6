"""The browsable truth table, slides and cheat sheet as committed (built from the committed results;
test_pages keeps them equal to a fresh build), checked in a real headless browser: each page loads
without console errors and draws something, the filters change what the table shows, and a cell's
link draws its LR curves from the embedded steps.

The browser is Debian's chromium driven by selenium; without them the browser tests skip, saying so.
"""

import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench import results
from bench.lessons import site

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
SITE = LESSONS / site.SITE


def _embedded(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    raw = re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S).group(1)
    return json.loads(raw.replace("<\\/", "</"))


def test_the_site_holds_every_measured_cell_and_its_steps():
    cells = results.read_cells(ROOT / "results")
    cells = cells[(cells["strategy"] == "none") & (cells["status"] == "ok")]
    data = _embedded(SITE / "index.html")
    assert len(data["cells"]) == len(cells)
    assert data["filters"] == [c for c in site.FILTERS if c in cells.columns]
    steps = results.read_steps(ROOT / "results")
    one = data["cells"][0]
    rows = steps[(steps[list(data["filters"])] == pd.Series({f: one[f] for f in data["filters"]})).all(axis=1)]
    mean = rows.groupby("step")["lr_effective"].mean()
    assert data["curves"][one["id"]]["effective"] == pytest.approx(list(mean), rel=1e-3)


def test_a_release_column_becomes_a_filter():
    cells = pd.DataFrame([dict(release="2.21", scenario="s", flavour="f", api="loop", mode="eager", optimizer="sgd",
                               device="cpu", status="ok", verdict="effective", reported_ok=True, traces=1, step_ratio=1.0)])
    steps = pd.DataFrame([dict(release="2.21", scenario="s", flavour="f", api="loop", mode="eager", optimizer="sgd",
                               device="cpu", step=0, lr_intended=0.1, lr_effective=0.1, lr_reported=0.1)])
    data = site.data(cells, steps, {}, 0)
    assert data["filters"][0] == "release" and data["cells"][0]["id"].startswith("2.21/")
    assert data["curves"][data["cells"][0]["id"]]["effective"] == [0.1]


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no chromium and chromedriver here (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,720",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def _open(browser, page: Path):
    browser.get(page.resolve().as_uri())
    browser.get_log("browser")  # earlier pages' messages


def _errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _not_blank(png: bytes) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size[0] >= 1000
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 20, "the screenshot is (nearly) one colour"


def test_the_truth_table_loads_filters_and_draws_a_cells_curves(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get((SITE / "index.html").resolve().as_uri())
    assert _errors(browser) == []
    chips = lambda: browser.find_elements(By.CSS_SELECTOR, "#truth a.chip")  # noqa: E731
    total = len(_embedded(SITE / "index.html")["cells"])
    assert len(chips()) == total
    _not_blank(browser.get_screenshot_as_png())
    Select(browser.find_element(By.ID, "filter-mode")).select_by_value("eager")
    eager = len(chips())
    assert 0 < eager < total
    assert all(h.text.endswith("eager") for h in browser.find_elements(By.CSS_SELECTOR, "#truth thead th")[1:])
    Select(browser.find_element(By.ID, "filter-scenario")).select_by_value("schedule-swap")
    assert 0 < len(chips()) < eager
    assert [r.text.split()[0] for r in browser.find_elements(By.CSS_SELECTOR, "#truth th.scenario")] == ["schedule-swap"]
    chips()[0].click()
    paths = browser.find_elements(By.CSS_SELECTOR, "#evidence svg path")
    assert {p.get_attribute("class") for p in paths} >= {"intended", "effective"}
    assert browser.find_element(By.CSS_SELECTOR, "#evidence a[href$='.md']")  # its lesson
    assert browser.find_element(By.CSS_SELECTOR, "#evidence a[href='audit.html']")
    assert _errors(browser) == []
    _not_blank(browser.get_screenshot_as_png())
    Select(browser.find_element(By.ID, "filter-scenario")).select_by_value("")
    Select(browser.find_element(By.ID, "filter-mode")).select_by_value("")
    assert len(chips()) == total


@pytest.mark.parametrize("page", ["site/audit.html", *(f"slides/{p.name}" for p in sorted((LESSONS / "slides").glob("*.html")))])
def test_every_other_page_loads_and_draws(browser, page):
    _open(browser, LESSONS / page)
    assert _errors(browser) == []
    _not_blank(browser.get_screenshot_as_png())
    if page.startswith("slides/"):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        first = browser.find_element(By.CSS_SELECTOR, "section.current").get_attribute("id")
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
        assert browser.find_element(By.CSS_SELECTOR, "section.current").get_attribute("id") != first
        images = browser.find_elements(By.CSS_SELECTOR, "section img")
        assert images and all(browser.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)


def test_the_cheat_sheet_is_one_page():
    pdf = (LESSONS / "cheat-sheet.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_the_release_page_filters_by_release(browser):
    """Built beside the committed release sweep: one row per single-device cell per release, and
    choosing a release shows exactly that release's cells, as its cells.csv has them."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from bench.analysis.releases import discover

    releases = discover(ROOT / "results" / "releases")
    page = SITE / site.RELEASES_PAGE
    assert releases and page.is_file(), "the committed results have a release sweep, so the site has its page"
    payload = _embedded(page)
    assert payload["filters"][0] == "release"
    browser.get(page.resolve().as_uri())
    assert _errors(browser) == []
    chips = lambda: browser.find_elements(By.CSS_SELECTOR, "#truth a.chip")  # noqa: E731
    assert len(chips()) == len(payload["cells"])
    one = releases[-1]
    cells = results.read_cells(one.folder)
    measured = cells[(cells["status"] == "ok") & (cells["strategy"] == "none")]
    Select(browser.find_element(By.ID, "filter-release")).select_by_value(one.label)
    assert len(chips()) == len(measured) < len(payload["cells"])
    _not_blank(browser.get_screenshot_as_png())
    assert _errors(browser) == []
