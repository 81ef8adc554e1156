"""The upload page in a real headless browser (Debian's chromium driven by Playwright; Playwright
downloads no browser of its own): a partner signs in, drops a hand-written file with defects, reads
the result, sends it, finds it in its history and the file in its landing folder; a second partner
tries the first one's pages by URL and is refused.

WORKLINK_PORTAL_SCREENSHOT=docs/images/portal-result.png also keeps the result page's screenshot there.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from portal_helpers import PASSWORD, defective_referrals_csv

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MS, ACT = "mossside_carers", "ancoats_trust"
NAME = "MSCN_referrals_2025-06.csv"


@pytest.fixture(scope="module")
def server(portal_env, session_db):
    import uvicorn
    from worklink.portal.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(database_url=session_db), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the portal did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run `bash infra/install_browser.sh` (as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD[username])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/p/*/")


def test_partner_checks_sends_and_sees_its_file_and_no_one_elses(server, browser, portal_env, tmp_path):
    dropped = tmp_path / NAME
    dropped.write_bytes(defective_referrals_csv("2025-06"))
    first = browser.new_context(viewport={"width": 1150, "height": 900})
    page = first.new_page()
    sign_in(page, server, "ms.officer")
    assert page.url == f"{server}/p/{MS}/"
    page.set_input_files("#file", str(dropped))
    page.click("text=Check this file")
    page.wait_for_selector("#verdict", timeout=60_000)
    result_url = page.url
    assert "/uploads/" in result_url
    # the file's result first, then each row's problem: spreadsheet rows, the partner's headings
    assert "1 of 3 rows would load; 2 would be held back" in " ".join(page.inner_text("#verdict").split())
    rows = [[cell.strip() for cell in row.split("\t")] for row in page.inner_text("#problems").splitlines()[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("3", "Date Referred", "A date in the agreed format was expected"),
        ("3", "Date Referred", "A required field is empty"),
        ("4", "Referred By", "A required field is empty")]
    shot = tmp_path / "portal-result.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("WORKLINK_PORTAL_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["WORKLINK_PORTAL_SCREENSHOT"])

    page.click("#send")
    page.wait_for_selector("#submitted")
    landed = portal_env / MS / "referrals" / NAME
    assert landed.read_bytes() == dropped.read_bytes()
    page.click("text=Submission history")
    assert NAME in page.inner_text("#waiting")

    second = browser.new_context()
    other = second.new_page()
    sign_in(other, server, "act.officer")
    upload_id = result_url.rsplit("/", 1)[1]
    for url in (f"/p/{MS}/", f"/p/{MS}/history", f"/p/{MS}/uploads/{upload_id}", f"/p/{MS}/scorecard",
                f"/p/{MS}/alerts", f"/p/{MS}/templates/referrals"):
        response = other.goto(server + url)
        assert response.status == 403 and "Not yours to see" in other.inner_text("h1"), url
    response = other.goto(f"{server}/p/{ACT}/uploads/{upload_id}")
    assert response.status == 404
    other.goto(f"{server}/p/{ACT}/history")
    assert NAME not in other.content()
    # the send button of the first partner's page, posted from the second partner's session
    assert other.request.post(f"{server}/p/{MS}/uploads/{upload_id}/submit", form={"csrf": "x"},
                              max_redirects=0).status in (401, 403)
    first.close()
    second.close()
