"""Ingest against the real database: exactly-once, supersession, file rejection, row accounting."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from worklink.contracts import load_contracts
from worklink.ingest.service import ingest_paths
from worklink.platform.sealed_files import read_sealed
from worklink.settings import load_settings

HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
          "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
          "economic_status,service_variant,eligible,ineligible_reason")
GOOD = [
    "T-1,Ann,Smith,1980-01-02,F,,M22 5RT,,,9434765919,AB123456C,2025-07-03,gp,carer,"
    "mental_health,20,inactive_other,digital_first,Y,",
    "T-2,Bo,Lee,1970-01-02,M,,M23 2QQ,,,,,2025-07-09,self,disability,other,,"
    "inactive_other,digital_first,Y,",
]
BAD_NHS = ("T-3,Cy,Oak,1990-05-06,M,,M23 1AA,,,9434765918,,2025-07-09,self,health_condition,other,,"
           "inactive_other,digital_first,Y,")
PARTNER = "wythenshawe_wellbeing"


@pytest.fixture
def landing(module_db, tmp_path, monkeypatch):
    # A database of its own: the months used here are months the generated samples also use.
    root = tmp_path / "landing"
    (root / PARTNER / "referrals").mkdir(parents=True)
    monkeypatch.setenv("WORKLINK_LANDING_DIR", str(root))
    return root


def write(landing: Path, name: str, lines: list[str], encoding="utf-8") -> Path:
    path = landing / PARTNER / "referrals" / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def run(path: Path):
    settings = load_settings()
    return ingest_paths([path], settings=settings, contracts=load_contracts())[0]


def raw_rows(db, file_id):
    return db.execute("select count(*) from raw.vcse_referrals where _file_id = %s", (file_id,)).fetchone()[0]


def test_identical_redelivery_is_a_duplicate_and_loads_nothing(landing, db):
    path = write(landing, "WWC_referrals_2025-07.csv", [HEADER, *GOOD])
    first = run(path)
    assert first.status == "loaded" and first.rows_loaded == 2
    second = run(path)  # the same file delivered again
    assert second.status == "duplicate" and second.duplicate_of == first.file_id
    assert second.rows_loaded == 0
    total = db.execute("select count(*) from raw.vcse_referrals where referral_id in ('T-1','T-2')"
                       " and _period = '2025-07'").fetchone()[0]
    assert total == 2
    kept = db.execute("select archive_path from ingest.file_manifest where file_id = %s",
                      (second.file_id,)).fetchone()[0]
    assert Path(kept).exists(), "every received file is kept"


def test_corrected_resubmission_supersedes_without_double_counting(landing, db):
    v1 = run(write(landing, "WWC_referrals_2025-08.csv", [HEADER, GOOD[0]]))
    v2 = run(write(landing, "WWC_referrals_2025-08.csv", [HEADER, GOOD[1], GOOD[0]]))  # corrected, same name
    assert v2.status == "loaded" and v2.supersedes_file_id == v1.file_id and v2.version == 2
    current = db.execute("select count(*) from raw.vcse_referrals where _period = '2025-08' and _is_current"
                         ).fetchone()[0]
    assert current == 2
    assert raw_rows(db, v1.file_id) == 1, "the superseded version is kept"
    flags = dict(db.execute("select file_id, is_current from ingest.file_manifest where file_id = any(%s)",
                            ([v1.file_id, v2.file_id],)).fetchall())
    assert flags == {v1.file_id: False, v2.file_id: True}


def test_bad_row_is_quarantined_with_rule_and_the_rest_loaded(landing, db):
    bad_date = GOOD[1].replace("T-2,", "T-4,").replace("2025-07-09", "2025-07-32")  # required, not a date
    result = run(write(landing, "WWC_referrals_2025-09.csv", [HEADER, GOOD[0], bad_date]))
    assert result.status == "loaded_with_quarantine"
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    # a required date that is not a date: both its type and (as a typed value) its presence fail
    assert {(i.rule, i.column, i.row, i.record_id) for i in result.errors} == {
        ("type_date", "referral_date", 2, "T-4"), ("required", "referral_date", 2, "T-4")}
    kept = db.execute("select record->>'referral_id' from identity.quarantined_rows where file_id = %s",
                      (result.file_id,)).fetchall()
    assert kept == [("T-4",)]
    manifest = db.execute("select rows_in, rows_loaded, rows_quarantined from ingest.file_manifest"
                          " where file_id = %s", (result.file_id,)).fetchone()
    assert manifest == (2, 1, 1)


def test_an_invalid_optional_identifier_is_left_out_and_the_row_loads(landing, db):
    """NHS number failing modulus 11, an impossible date of birth, a postcode that is no postcode:
    each value is dropped with a warning; the row (and its name, for linkage) loads."""
    bad_dob = GOOD[1].replace("T-2,", "T-5,").replace("1970-01-02", "1970-02-30")
    bad_postcode = GOOD[1].replace("T-2,", "T-6,").replace("M23 2QQ", "QQ1 1CC")
    result = run(write(landing, "WWC_referrals_2026-12.csv", [HEADER, GOOD[0], BAD_NHS, bad_dob, bad_postcode]))
    assert result.status == "loaded" and (result.rows_in, result.rows_loaded, result.rows_warned) == (4, 4, 3)
    found = {(i.rule, i.column, i.row, i.severity) for i in result.errors}
    assert found == {("nhs_number", "nhs_number", 2, "warn"), ("type_date", "date_of_birth", 3, "warn"),
                     ("postcode", "postcode", 4, "warn")}
    assert all("left out" in i.message for i in result.errors)
    stored = db.execute(
        """select r.referral_id, i.nhs_number, i.date_of_birth, i.postcode, i.last_name, r.nhs_number_token
             from raw.vcse_referrals r join identity.vcse_referrals i
               on i._file_id = r._file_id and i._source_row_number = r._identity_row_number
            where r._file_id = %s order by 1""", (result.file_id,)).fetchall()
    assert [row[:5] for row in stored] == [
        ("T-1", "9434765919", "1980-01-02", "M22 5RT", "Smith"),
        ("T-3", None, "1990-05-06", "M23 1AA", "Oak"),
        ("T-5", None, None, "M23 2QQ", "Lee"),
        ("T-6", None, "1970-01-02", None, "Lee"),
    ]
    assert stored[1][5] is None, "no token for a dropped NHS number"


@pytest.mark.parametrize(
    "name, content, rule",
    [
        ("WWC_referrals_2025-10.csv", b"", "file_empty"),
        ("WWC_referrals_2025-12.csv", ("\n".join([HEADER.replace("referral_date,", ""), ]) + "\n").encode(),
         "missing_required_column"),
        ("WWC_referrals_2026-01.csv", (HEADER + ",favourite_colour\n").encode(), "unexpected_column"),
        ("WWC_referrals_2026-02.csv", (HEADER + "\n" + GOOD[0]).encode("utf-16"), "file_encoding"),
        ("WWC_referrals_2026-03.csv", (HEADER + "\n").encode() + b"T-9,Z\xff\xfe,Q\n", "file_encoding"),
        ("WWC_referrals_undated.csv", (HEADER + "\n" + GOOD[0]).encode(), "file_name_mismatch"),
    ],
)
def test_file_level_problems_reject_the_file_and_keep_it(landing, db, name, content, rule):
    path = landing / PARTNER / "referrals" / name
    path.write_bytes(content)
    result = run(path)
    assert result.status == "rejected"
    assert result.errors[0].rule == rule
    assert name in result.errors[0].message
    row = db.execute("select status, rejection_rule, archive_path from ingest.file_manifest where file_id = %s",
                     (result.file_id,)).fetchone()
    assert row[:2] == ("rejected", rule)
    assert read_sealed(Path(row[2])) == content
    assert raw_rows(db, result.file_id) == 0


def test_header_only_file_is_a_valid_month_with_nothing_to_report(landing):
    result = run(write(landing, "WWC_referrals_2025-11.csv", [HEADER]))
    assert (result.status, result.rows_in, result.rows_loaded, result.errors) == ("loaded", 0, 0, [])


def test_file_outside_any_contract_is_reported(landing, db):
    stray = landing / PARTNER / "referrals" / "notes.txt"
    stray.write_text("hello")
    result = run(stray)
    assert result.status == "unmatched" and result.errors[0].rule == "file_name_mismatch"
    assert "WWC_referrals_*.csv" in result.errors[0].message
    kept = db.execute("select status, archive_path from ingest.file_manifest where file_id = %s",
                      (result.file_id,)).fetchone()
    assert kept[0] == "unmatched" and read_sealed(Path(kept[1])) == b"hello"


def test_recommended_field_missing_is_a_warning_and_the_row_loads(landing, db):
    row = GOOD[1].replace(",M,,", ",,,")  # sex empty (recommended, not required)
    result = run(write(landing, "WWC_referrals_2026-04.csv", [HEADER, row]))
    assert (result.status, result.rows_loaded, result.rows_warned) == ("loaded", 1, 1)
    [issue] = result.errors
    assert (issue.rule, issue.severity, issue.column) == ("optional_missing", "warn", "sex")
    assert raw_rows(db, result.file_id) == 1


def test_a_file_of_another_feed_is_rejected_with_a_hint(landing):
    starts = ["referral_id,first_contact_date,start_date,did_not_start_reason", "T-1,2026-05-01,2026-05-03,"]
    result = run(write(landing, "WWC_referrals_2026-05.csv", starts))
    assert result.status == "rejected" and result.errors[0].rule == "wrong_feed"
    assert "starts" in result.errors[0].message and "wythenshawe_wellbeing/starts/" in result.errors[0].message


@contextmanager
def webhook(status: int):
    """A local partner webhook answering ``status``; yields (contracts routed to it, bodies received)."""
    from worklink.contracts import Contract

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server hook name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    contracts = []
    for c in load_contracts():
        data = c.model_dump(mode="json")
        if c.partner.id == PARTNER:
            data["partner"]["dq_webhook_url"] = f"http://127.0.0.1:{server.server_port}/dq"
        contracts.append(Contract.model_validate(data))
    try:
        yield contracts, received
    finally:
        server.shutdown()


def test_partner_webhook_gets_a_summary_without_row_data(landing, monkeypatch):
    from worklink.alerts.delivery import alert_partner

    monkeypatch.delenv("AIRFLOW_CONN_WORKLINK_SMTP", raising=False)
    with webhook(204) as (contracts, received):
        result = run(write(landing, "WWC_referrals_2026-06.csv", [HEADER, BAD_NHS, GOOD[0]]))
        outcome = alert_partner(PARTNER, [result.file_id], contracts)
    assert outcome is not None and outcome.channel == "file+webhook" and outcome.report_path.exists()
    [payload] = received
    assert payload["partner_id"] == PARTNER
    assert payload["counts_by_rule"] == [{"rule": "nhs_number", "severity": "warn", "count": 1}]
    assert "T-3" not in json.dumps(payload) and "9434765918" not in json.dumps(payload)


def test_a_start_before_its_referral_is_quarantined(landing):
    referral = GOOD[0].replace("T-1,", "T-50,").replace("2025-07-03", "2025-09-10")
    run(write(landing, "WWC_referrals_2026-07.csv", [HEADER, referral]))
    starts_dir = landing / PARTNER / "starts"
    starts_dir.mkdir()
    path = starts_dir / "WWC_starts_2026-07.csv"
    path.write_text("referral_id,first_contact_date,start_date,did_not_start_reason\n"
                    "T-50,2025-09-01,2025-09-20,\nT-51,2025-09-01,2025-09-20,\n")
    result = run(path)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded_with_quarantine", 1, 1)
    [issue] = result.errors
    assert (issue.rule, issue.row, issue.column, issue.record_id) == ("date_order", 1, "first_contact_date", "T-50")
    assert "referral date" in issue.message


def test_a_much_smaller_resend_is_held_until_confirmed(landing, db):
    """Two rows current; a header-only re-send (0 < 0.5 x 2) is held, then confirmed on purpose."""
    from worklink.ingest import confirm_held_version

    full = run(write(landing, "WWC_referrals_2026-08.csv", [HEADER, *(g.replace("T-", "H-") for g in GOOD)]))
    empty = run(write(landing, "WWC_referrals_2026-08.csv", [HEADER]))
    assert (empty.status, empty.rows_in) == ("needs_confirmation", 0)
    current = dict(db.execute("select file_id, is_current from ingest.file_manifest where file_id = any(%s)",
                              ([full.file_id, empty.file_id],)).fetchall())
    assert current == {full.file_id: True, empty.file_id: False}
    rows = db.execute("select count(*) from raw.vcse_referrals where _period = '2026-08' and _is_current").fetchone()
    assert rows == (2,), "the full month stays in the warehouse"
    confirmed = confirm_held_version(load_settings().database_url, empty.file_id, load_contracts())
    assert confirmed.status == "loaded" and confirmed.supersedes_file_id == full.file_id
    rows = db.execute("select count(*) from raw.vcse_referrals where _period = '2026-08' and _is_current").fetchone()
    assert rows == (0,)


def test_a_truncated_resend_above_the_fraction_replaces_the_month(landing, db):
    """One row of two is exactly the contract's default fraction (0.5 x 2 = 1): not held."""
    rows = [g.replace("T-", "F-") for g in GOOD]
    run(write(landing, "WWC_referrals_2026-09.csv", [HEADER, *rows]))
    half = run(write(landing, "WWC_referrals_2026-09.csv", [HEADER, rows[0]]))
    assert half.status == "loaded"


def test_sending_an_earlier_version_again_makes_it_current(landing, db):
    rows = [g.replace("T-", "R-") for g in GOOD]  # content no other test sends
    first = run(write(landing, "WWC_referrals_2026-10.csv", [HEADER, *rows]))
    second = run(write(landing, "WWC_referrals_2026-10.csv", [HEADER, rows[1], rows[0]]))
    again = run(write(landing, "WWC_referrals_2026-10.csv", [HEADER, *rows]))  # byte for byte the first
    assert again.status == "reinstated" and again.duplicate_of == first.file_id
    assert again.supersedes_file_id == second.file_id
    flags = dict(db.execute("select file_id, is_current from ingest.file_manifest where file_id = any(%s)",
                            ([first.file_id, second.file_id, again.file_id],)).fetchall())
    assert flags == {first.file_id: True, second.file_id: False, again.file_id: False}
    current = db.execute("select _file_id, count(*) from raw.vcse_referrals where _period = '2026-10'"
                         " and _is_current group by 1").fetchall()
    assert current == [(first.file_id, 2)]
    same = run(write(landing, "WWC_referrals_2026-10.csv", [HEADER, *rows]))  # the current version again
    assert same.status == "duplicate"


def test_a_failing_partner_webhook_is_recorded_not_raised(landing, db, monkeypatch):
    """The webhook answers 500: the alert is still recorded once, with the failure in its channel."""
    from worklink.alerts.delivery import alert_partner

    monkeypatch.delenv("AIRFLOW_CONN_WORKLINK_SMTP", raising=False)
    with webhook(500) as (contracts, received):
        result = run(write(landing, "WWC_referrals_2026-11.csv", [HEADER, BAD_NHS.replace("T-3", "W-3")]))
        outcome = alert_partner(PARTNER, [result.file_id], contracts)
    assert len(received) == 1 and outcome.channel == "file+webhook_failed"
    rows = db.execute("select channel from ingest.partner_alerts where %s = any(file_ids)", (result.file_id,)).fetchall()
    assert rows == [("file+webhook_failed",)]
