"""`worklink report` builds a self-contained HTML report from the published marts, and it renders in
a real headless browser (Debian's chromium, installed by infra/install_browser.sh) with no network:
no script errors, every chart drawn, nothing fetched from outside the file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
# Each section's screenshot is kept here for CI to keep as an artifact (ignored by git).
ARTIFACTS = Path(os.environ.get("WORKLINK_TEST_ARTIFACTS", REPO / "artifacts")) / "report-sections"


@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "evaluation.html"
    proc = subprocess.run([str(Path(sys.executable).with_name("worklink")), "report", "--out", str(out)],
                          env=warehouse.env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def browser() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("WORKLINK_SKIP_BROWSER_TEST"):
            pytest.skip("chromium not installed and WORKLINK_SKIP_BROWSER_TEST set")
        pytest.fail("chromium is missing: run `bash infra/install_browser.sh` (as root)")
    return CHROMIUM


def run_chromium(browser: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-extensions", "--disable-background-networking",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=120)


def test_report_is_self_contained(report):
    text = report.read_text()
    assert "Content-Security-Policy" in text
    # only in-document references (#id, clip paths) and data: URIs; nothing to fetch
    attributes = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text)
    css_urls = re.findall(r"""url\(\s*["']?([^)"']*)""", text)
    external = [u for u in attributes + css_urls if not u.startswith(("#", "data:"))]
    assert external == [], external
    assert text.count('<figure class="chart">') >= 10
    for section in ["Funnel", "WorkWell funnel", "Retained in work 13 weeks", "Outcomes by priority group", "Outcomes by service variant", "Timeliness",
                    "Wellbeing change", "Partner comparison", "Data-quality scorecard", "95%"]:
        assert section in text, section


def test_report_shows_only_published_values(report, warehouse):
    """Every count shown in the funnel tiles is what published.funnel_by_cohort_month says."""
    text = report.read_text()
    with warehouse.connect() as conn:
        shown = dict(conn.execute("select measure, value_display from published.funnel_by_cohort_month"
                                  " where partner_id = 'all' and cohort_month = 'all'").fetchall())
    for measure in ["referred", "started", "job_start"]:
        assert f'<div class="number">{shown[measure]}</div>' in text
    # WorkWell has its own tiles, from published.workwell_funnel_by_cohort_month
    with warehouse.connect() as conn:
        workwell = dict(conn.execute("select measure, value_display from published.workwell_funnel_by_cohort_month"
                                     " where work_status_at_referral = 'all' and cohort_month = 'all'").fetchall())
    for measure, label in [("started", "WorkWell starts"), ("retained_short", "WorkWell retained in work 13 weeks")]:
        assert workwell[measure] not in ("0", "[c]")
        assert (f'<div class="number">{workwell[measure]}</div><div class="label">{label}</div>') in text
    assert "[c]" in text  # suppression is visible, not hidden


def test_report_renders_in_headless_chromium(report, browser):
    proc = run_chromium(browser, "--dump-dom", report.as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    dom = proc.stdout
    assert 'data-render-status="ok"' in dom, "the page's load handler did not run"
    assert re.findall(r'data-render-errors="([^"]*)"', dom) == []
    drawn = int(re.search(r'data-charts-drawn="(\d+)"', dom).group(1))
    assert drawn == report.read_text().count('<figure class="chart">') and drawn >= 10
    console_errors = [line for line in proc.stderr.splitlines()
                      if "CONSOLE" in line and ("Uncaught" in line or "Refused" in line or "Error" in line)]
    assert console_errors == []


def test_report_screenshot_is_not_blank(report, browser, tmp_path):
    shot = tmp_path / "report.png"
    proc = run_chromium(browser, "--hide-scrollbars", "--window-size=1100,3000", f"--screenshot={shot}",
                        report.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-3000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1100, 3000)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50, "screenshot looks blank"


def test_every_section_states_its_coverage_and_is_kept_as_a_screenshot(report, browser):
    """Rendered in headless chromium (Playwright driving Debian's chromium; no browser download):
    every section carries the as-at date and the deliveries it covers under its heading, so a
    page read, printed or pasted on its own says what it covers; each section's screenshot is kept
    in artifacts/report-sections/ and is not blank."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=browser,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = chromium.new_page(viewport={"width": 1100, "height": 900})
            page.goto(report.as_uri())
            sections = page.locator("main > section")
            assert sections.count() >= 10
            for i in range(sections.count()):
                section = sections.nth(i)
                anchor = section.locator("h2").first.get_attribute("id")
                coverage = section.locator(":scope > p.coverage")
                assert coverage.count() == 1, anchor
                text = coverage.inner_text()
                assert text.startswith("Outcomes as at ") and "not known" not in text, (anchor, text)
                assert "Deliveries covered: " in text and "none." not in text, (anchor, text)
                shot = ARTIFACTS / f"{i + 1:02d}-{anchor}.png"
                section.screenshot(path=str(shot))
                colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1_000_000)
                assert colours is not None and len(colours) > 20, f"{shot.name} looks blank"
        finally:
            chromium.close()
    assert len(list(ARTIFACTS.glob("*.png"))) == sections_count_of(report)


def sections_count_of(report: Path) -> int:
    return report.read_text().count("<section>")
