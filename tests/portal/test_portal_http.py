"""The upload page over HTTP (FastAPI's TestClient) on the real database: sign-in, sessions, CSRF,
the sign-in rate limit, upload limits and zip bombs, the check result, submission to the landing
folder (then read by the nightly's own ingest), and one partner trying the other's URLs."""

from __future__ import annotations

import io
import zipfile

import psycopg
import pytest
from portal_helpers import contract, csrf_of, defective_referrals_csv, make_client, sign_in, signed_in

MS, ACT = "mossside_carers", "ancoats_trust"
CSV_NAME = "MSCN_referrals_2025-09.csv"


@pytest.fixture
def client(portal_env, session_db):
    with make_client(session_db) as c:
        yield c


def upload(client, partner, csrf, name, data, content_type="text/csv", feed=""):
    return client.post(f"/p/{partner}/uploads", data={"csrf": csrf, "feed": feed},
                       files={"file": (name, data, content_type)})


def uploads_rows(db_url):
    with psycopg.connect(db_url) as conn:
        return conn.execute("select partner_id, file_name, verdict, submitted_at from portal.uploads").fetchall()


# ------------------------------------------------------------------------------------ sign-in
def test_sign_in_sets_a_strict_httponly_session_cookie(client):
    assert client.get("/p/mossside_carers/").headers["location"] == "/sign-in"  # not signed in: sent to sign in
    wrong = sign_in(client, "ms.officer", "not-the-password")
    assert wrong.status_code == 401 and "worklink_session" not in wrong.headers.get("set-cookie", "")
    right = sign_in(client, "ms.officer")
    assert right.status_code == 303 and right.headers["location"] == f"/p/{MS}/"
    cookie = next(h for h in right.headers.get_list("set-cookie") if h.startswith("worklink_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    page = client.get(f"/p/{MS}/")
    assert page.status_code == 200 and "Moss Side" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_password_is_stored_as_an_argon2id_hash(portal_env, session_db):
    with psycopg.connect(session_db) as conn:
        stored = conn.execute("select password_hash from portal.accounts where username = 'ms.officer'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "carers-upload" not in stored


def test_sign_out_ends_the_session_server_side(client):
    csrf = signed_in(client, "ms.officer")
    token = client.cookies.get("worklink_session")
    assert client.post("/sign-out", data={"csrf": csrf}).status_code == 303
    client.cookies.set("worklink_session", token)  # a copied cookie is worthless after sign-out
    assert client.get(f"/p/{MS}/").status_code == 303


def test_sign_in_is_rate_limited_per_account(client):
    for _ in range(5):
        assert sign_in(client, "ms.officer", "guess-guess-guess").status_code == 401
    refused = sign_in(client, "ms.officer")  # the right password, after 5 failures in 15 minutes
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert sign_in(client, "act.officer").status_code == 303  # another account is not locked by it


def test_sign_in_is_rate_limited_per_client(portal_env, session_db):
    with make_client(session_db, sign_in_failures_per_client=3) as c:
        for name in ("nobody.a", "nobody.b", "nobody.c"):  # three names, each failing once
            c.get("/sign-in")
            assert c.post("/sign-in", data={"csrf": csrf_of(c.get("/sign-in").text), "username": name,
                                            "password": "x" * 12}).status_code == 401
        assert sign_in(c, "ms.officer").status_code == 429


# --------------------------------------------------------------------------------------- CSRF
def test_sign_in_without_the_form_token_is_refused(client):
    client.get("/sign-in")
    assert client.post("/sign-in", data={"username": "ms.officer", "password": "carers-upload-2026!"}).status_code == 403
    client.cookies.clear()  # token in the form but no cookie (a form posted from another site)
    assert client.post("/sign-in", data={"csrf": "forged", "username": "ms.officer",
                                         "password": "carers-upload-2026!"}).status_code == 403


def test_every_post_needs_the_session_token(client, session_db, portal_env):
    csrf = signed_in(client, "ms.officer")
    before = len(uploads_rows(session_db))
    assert upload(client, MS, "forged", CSV_NAME, defective_referrals_csv()).status_code == 403
    assert upload(client, MS, "", CSV_NAME, defective_referrals_csv()).status_code == 403
    assert len(uploads_rows(session_db)) == before  # nothing checked or kept
    checked = upload(client, MS, csrf, CSV_NAME, defective_referrals_csv())
    assert checked.status_code == 303
    upload_id = checked.headers["location"].rsplit("/", 1)[1]
    assert client.post(f"/p/{MS}/uploads/{upload_id}/submit", data={"csrf": "forged"}).status_code == 403
    assert client.post(f"/p/{MS}/uploads/{upload_id}/submit", data={"csrf": csrf},
                       headers={"origin": "https://evil.example"}).status_code == 403  # right token, other site
    assert not (portal_env / MS / "referrals" / CSV_NAME).exists()
    assert client.post("/sign-out", data={}).status_code == 403


# ----------------------------------------------------------------------- check, submit, ingest
def test_defective_file_is_checked_submitted_and_read_by_the_nightly(client, session_db, portal_env):
    csrf = signed_in(client, "ms.officer")
    data = defective_referrals_csv()
    checked = upload(client, MS, csrf, CSV_NAME, data)
    assert checked.status_code == 303
    result = client.get(checked.headers["location"]).text
    # file level first: 3 rows, 1 would load, 2 held back (see defective_referrals_csv)
    assert "1 of 3 rows would load" in result and result.index('id="verdict"') < result.index('id="problems"')
    # spreadsheet rows (header is row 1), the partner's own headers, plain words
    assert "<td class=\"n\">3</td><td>Date Referred</td>\n<td>A date in the agreed format was expected" in result
    assert "<td class=\"n\">4</td><td>Referred By</td>\n<td>A required field is empty" in result
    assert "31/02/2025" not in result  # never a cell's value
    upload_id = checked.headers["location"].rsplit("/", 1)[1]
    assert client.post(f"/p/{MS}/uploads/{upload_id}/submit", data={"csrf": csrf}).status_code == 303
    landed = portal_env / MS / "referrals" / CSV_NAME
    assert landed.read_bytes() == data
    assert [p.name for p in landed.parent.iterdir()] == [CSV_NAME]  # no temporary file left beside it
    assert "Sent on" in client.get(checked.headers["location"]).text
    history = client.get(f"/p/{MS}/history").text
    assert "waiting for tonight" in history and CSV_NAME in history

    # the nightly's own ingest reads it like any SFTP delivery: manifest, quarantine, archive
    from worklink.ingest.service import ingest_paths, partner_landing_files

    [result] = ingest_paths(partner_landing_files(MS))
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == \
        ("loaded_with_quarantine", 3, 1, 2)
    history = client.get(f"/p/{MS}/history").text
    waiting, received = history.split('id="received"')
    assert CSV_NAME not in waiting and CSV_NAME in received  # read by the load: no longer waiting
    assert "loaded, some rows held back" in received and "this page" in received
    scorecard = client.get(f"/p/{MS}/scorecard").text
    assert "<td>2025-09</td><td>referrals</td>" in scorecard

    from worklink.alerts.delivery import alert_partner

    assert alert_partner(MS, [result.file_id]) is not None
    alerts = client.get(f"/p/{MS}/alerts").text
    alert_url = alerts.split(f'href="/p/{MS}/alerts/', 1)[1].split('"', 1)[0]
    alert = client.get(f"/p/{MS}/alerts/{alert_url}").text
    assert "Date Referred" in alert and CSV_NAME in alert and "<td class=\"n\">4</td>" in alert


def test_a_file_that_would_be_rejected_cannot_be_sent(client, session_db, portal_env):
    csrf = signed_in(client, "ms.officer")
    text = defective_referrals_csv().decode("cp1252").replace("Referred By", "Referral Route")  # heading renamed
    checked = upload(client, MS, csrf, "MSCN_referrals_2025-08.csv", text.encode("cp1252"))
    page = client.get(checked.headers["location"]).text
    assert "This file would be rejected" in page and "What to do:" in page and "Send this file" not in page
    upload_id = checked.headers["location"].rsplit("/", 1)[1]
    assert client.post(f"/p/{MS}/uploads/{upload_id}/submit", data={"csrf": csrf}).status_code == 409
    assert not (portal_env / MS / "referrals" / "MSCN_referrals_2025-08.csv").exists()
    assert not list((portal_env.parent).glob(f"**/{upload_id}"))  # no staged copy kept


def test_a_name_matching_none_of_the_partners_feeds_is_explained(client):
    csrf = signed_in(client, "ms.officer")
    response = upload(client, MS, csrf, "ACT_referrals_2025-09.csv", defective_referrals_csv())
    assert response.status_code == 400 and "MSCN_referrals_*.csv" in response.text


def test_templates_download_for_own_feeds(client):
    signed_in(client, "act.officer")
    response = client.get(f"/p/{ACT}/templates/referrals")
    assert response.status_code == 200 and response.content.startswith(b"PK")
    assert 'filename="ACT_referrals_' in response.headers["content-disposition"]


# ------------------------------------------------------------------------------------- limits
def test_upload_over_the_size_limit_is_cut_off(portal_env, session_db):
    with make_client(session_db, max_upload_bytes=100_000) as c:
        csrf = signed_in(c, "ms.officer")
        response = upload(c, MS, csrf, CSV_NAME, b"a,b\r\n" * 60_000)  # 300,000 bytes
        assert response.status_code == 413


@pytest.mark.parametrize(("name", "data", "content_type", "status"), [
    (CSV_NAME, b"PK\x03\x04" + b"\0" * 100, "text/csv", 415),  # a zip named .csv
    (CSV_NAME, b"a,b\r\n", "image/png", 415),  # declared as a picture
    ("ACT_referrals_2025-09.xlsx", b"ClientID,Date\r\n", "application/octet-stream", 415),  # CSV named .xlsx
    ("../MSCN_referrals_2025-09.csv", b"a,b\r\n", "text/csv", 400),  # a path, not a name
    ("MSCN_referrals_2025-09.exe", b"MZ", "application/octet-stream", 400),
])
def test_content_type_and_name_checks(client, session_db, name, data, content_type, status):
    csrf = signed_in(client, "act.officer" if name.startswith("ACT") else "ms.officer")
    partner = ACT if name.startswith("ACT") else MS
    before = len(uploads_rows(session_db))
    assert upload(client, partner, csrf, name, data, content_type).status_code == status
    assert len(uploads_rows(session_db)) == before


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(sheet: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def test_zip_bombs_are_refused_before_any_check(client, session_db):
    csrf = signed_in(client, "act.officer")
    before = len(uploads_rows(session_db))
    big = _workbook(b"\0" * (101 << 20))  # 101 MB of zeros pack to ~100 KB: over 100 MB unpacked
    assert len(big) < 1 << 20
    assert upload(client, ACT, csrf, "ACT_referrals_2025-09.xlsx", big, XLSX).status_code == 413
    dense = _workbook(b"\0" * (5 << 20))  # 5 MB unpacked from ~5 KB: ratio ~1000, over 100
    response = upload(client, ACT, csrf, "ACT_referrals_2025-09.xlsx", dense, XLSX)
    assert response.status_code == 413 and "unpacks to far more" in response.text
    assert len(uploads_rows(session_db)) == before


def test_a_zip_that_lies_about_its_sizes_is_caught_while_unpacking(client):
    """The central directory says 1,000 bytes; the entry inflates to 5 MB."""
    from worklink.portal.config import PortalConfig
    from worklink.portal.uploads import UploadRefused, check_workbook

    data = bytearray(_workbook(b"\0" * (5 << 20)))
    central = data.rfind(b"PK\x01\x02")  # the last entry's central record: the sheet
    data[central + 24:central + 28] = (1000).to_bytes(4, "little")  # uncompressed size field
    local = data.find(b"xl/worksheets/sheet1.xml") - 30
    data[local + 22:local + 26] = (1000).to_bytes(4, "little")
    with pytest.raises(UploadRefused) as refused:
        check_workbook(bytes(data), PortalConfig(max_unpack_ratio=1e9))
    assert refused.value.rule in ("file_unreadable", "file_too_large")


def test_a_real_workbook_passes_the_zip_checks(client, tmp_path):
    """Negative control for the bomb checks: the feed's own template is accepted and checked."""
    from worklink.feed_templates import write_template

    csrf = signed_in(client, "act.officer")
    path = write_template(contract("ancoats_trust__referrals"), tmp_path / "ACT_referrals_2025-09.xlsx", "2025-09")
    checked = upload(client, ACT, csrf, path.name, path.read_bytes(), XLSX)
    assert checked.status_code == 303
    assert "All 1 rows would load" in client.get(checked.headers["location"]).text


# ------------------------------------------------------------------------------ cross-partner
def test_a_partner_cannot_reach_another_partners_pages_or_files(portal_env, session_db):
    with make_client(session_db) as a, make_client(session_db) as b:
        a_csrf = signed_in(a, "ms.officer")
        checked = upload(a, MS, a_csrf, "MSCN_referrals_2025-07.csv", defective_referrals_csv("2025-07"))
        upload_id = checked.headers["location"].rsplit("/", 1)[1]
        b_csrf = signed_in(b, "act.officer")
        for url in (f"/p/{MS}/", f"/p/{MS}/history", f"/p/{MS}/scorecard", f"/p/{MS}/alerts", f"/p/{MS}/alerts/1",
                    f"/p/{MS}/uploads/{upload_id}", f"/p/{MS}/templates/referrals"):
            assert b.get(url).status_code == 403, url
        assert b.get(f"/p/{ACT}/uploads/{upload_id}").status_code == 404  # A's upload under B's own path
        assert b.get(f"/p/{ACT}/templates/fit_notes").status_code == 404  # a feed B does not send
        from worklink.ingest import prepare_warehouse

        prepare_warehouse(session_db)  # the platform's tables, where the nightly records alerts
        with psycopg.connect(session_db) as conn:
            ms_alert = conn.execute(
                """insert into ingest.partner_alerts (partner_id, channel, recipients, file_ids, issue_count)
                   values (%s, 'file', 'dq@mossside.invalid', '{}', 0) returning alert_id""", (MS,)).fetchone()[0]
        assert a.get(f"/p/{MS}/alerts/{ms_alert}").status_code == 200  # its own partner reads it
        assert b.get(f"/p/{MS}/alerts/{ms_alert}").status_code == 403
        assert b.get(f"/p/{ACT}/alerts/{ms_alert}").status_code == 404
        assert b.post(f"/p/{ACT}/uploads/{upload_id}/submit", data={"csrf": b_csrf}).status_code == 404
        assert b.post(f"/p/{MS}/uploads/{upload_id}/submit", data={"csrf": b_csrf}).status_code == 403
        assert upload(b, MS, b_csrf, CSV_NAME, defective_referrals_csv()).status_code == 403
        assert not (portal_env / MS / "referrals" / "MSCN_referrals_2025-07.csv").exists()
        assert "MSCN_" not in b.get(f"/p/{ACT}/history").text + b.get(f"/p/{ACT}/").text


def test_a_hostile_file_name_is_shown_as_text(client):
    csrf = signed_in(client, "ms.officer")
    name = "MSCN_referrals_2025-05<img src=x onerror=alert(1)>.csv"
    checked = upload(client, MS, csrf, name, defective_referrals_csv("2025-05"), feed="referrals")
    assert checked.status_code == 303
    page = client.get(checked.headers["location"]).text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
