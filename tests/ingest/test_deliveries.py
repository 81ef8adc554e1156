"""Late and missing deliveries per partner and feed, judged on the platform's receipt time, told once."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import psycopg
import pytest
from local_smtp import local_smtp
from worklink.contracts import load_contracts
from worklink.ingest.service import ingest_paths

HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
          "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
          "economic_status,service_variant,eligible,ineligible_reason")
ROW = "D-1,Ann,Smith,1980-01-02,F,,M22 5RT,,,,,2025-07-03,gp,carer,mental_health,20,inactive_other,,Y,"


@pytest.fixture
def smtp(monkeypatch):
    with local_smtp() as inbox:
        monkeypatch.setenv("AIRFLOW_CONN_WORKLINK_SMTP", inbox.url)
        yield inbox


@pytest.fixture
def referrals_july(module_db, tmp_path, monkeypatch):
    """One July 2025 referrals file, received now; the platform watches deliveries from 1 August 2025."""
    monkeypatch.setenv("WORKLINK_DELIVERIES_WATCHED_FROM", "2025-08-01")
    landing = tmp_path / "landing"
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    monkeypatch.setenv("WORKLINK_LANDING_DIR", str(landing))
    path = folder / "WWC_referrals_2025-07.csv"
    path.write_text(HEADER + "\n" + ROW + "\n")
    os.utime(path, (0, 0))  # a sender's clock saying 1970: must not matter
    [result] = ingest_paths([path])
    if result.status == "duplicate":  # a later test of this module: the file is already in
        result.file_id = result.duplicate_of
    assert result.status in ("loaded", "duplicate")
    contract = next(c for c in load_contracts() if c.key == "wythenshawe_wellbeing__referrals")
    return module_db, contract, result


def test_late_and_missing_months_are_judged_from_the_platform_clock(referrals_july):
    """Due = the month's end + 10 days. Judged on 1 January 2026, watching from 1 August 2025:
    2025-06 (due 10 Jul) is before the watch: not judged; 2025-07 (due 10 Aug) arrived now: late;
    2025-08..2025-11 (due 10 Sep..10 Dec): missing, 4 months; 2025-12 (due 10 Jan 2026): not yet due."""
    from worklink.ingest.deliveries import delivery_problems

    url, contract, result = referrals_july
    with psycopg.connect(url) as conn:
        problems = delivery_problems(conn, [contract], now=datetime(2026, 1, 1, tzinfo=UTC))
        late, received, modified = conn.execute(
            "select is_late, received_at, file_modified_at from ingest.file_manifest where file_id = %s",
            (result.file_id,)).fetchone()
    assert {(p.period, p.kind) for p in problems} == {
        ("2025-07", "late"), ("2025-08", "missing"), ("2025-09", "missing"), ("2025-10", "missing"),
        ("2025-11", "missing")}
    assert late is True and received.year >= 2026 and modified.year == 1970


def test_a_late_feed_is_alerted_once_to_engineers_and_partner(referrals_july, smtp, monkeypatch):
    from worklink.alerts.delivery import alert_late_and_missing

    _, contract, _ = referrals_july
    monkeypatch.setenv("WORKLINK_ENGINEER_EMAILS", "oncall@platform.example")
    told = alert_late_and_missing([contract])
    assert ("2025-07", "late") in {(p.period, p.kind) for p in told}
    recipients = sorted(r for r, _ in smtp.messages)
    assert recipients == sorted([["oncall@platform.example"], [c.email for c in contract.partner.dq_contacts]])
    body = smtp.messages[0][1].get_body(("html", "plain")).get_content()
    assert "wythenshawe_wellbeing/referrals 2025-07" in body
    assert alert_late_and_missing([contract]) == [], "each month is told once"
    assert len(smtp.messages) == 2


def test_history_loaded_on_the_first_night_is_not_late(module_db, tmp_path, monkeypatch):
    """No watch date set: the first run starts the watch, so last year's months are not judged."""
    from worklink.ingest.deliveries import delivery_problems

    monkeypatch.delenv("WORKLINK_DELIVERIES_WATCHED_FROM", raising=False)
    landing = tmp_path / "landing"
    folder = landing / "mossside_carers" / "referrals"
    folder.mkdir(parents=True)
    monkeypatch.setenv("WORKLINK_LANDING_DIR", str(landing))
    path = folder / "MSCN_referrals_2025-08.csv"
    contract = next(c for c in load_contracts() if c.key == "mossside_carers__referrals")
    path.write_text(",".join(c.source for c in contract.columns) + "\n")
    [result] = ingest_paths([path])
    with psycopg.connect(module_db) as conn:
        assert conn.execute("select is_late from ingest.file_manifest where file_id = %s",
                            (result.file_id,)).fetchone()[0] is None
        assert delivery_problems(conn, [contract]) == []


def test_engineers_hear_of_held_files(module_db, tmp_path, monkeypatch, smtp):
    """Two rows, then the same month with headings only: held, and the engineers get one email."""
    from worklink.alerts.delivery import tell_engineers_about

    monkeypatch.setenv("WORKLINK_ENGINEER_EMAILS", "oncall@platform.example")
    landing = tmp_path / "landing"
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    monkeypatch.setenv("WORKLINK_LANDING_DIR", str(landing))
    path = folder / "WWC_referrals_2025-09.csv"
    path.write_text("\n".join([HEADER, ROW.replace("D-1", "E-1").replace("2025-07-03", "2025-09-03"),
                               ROW.replace("D-1", "E-2").replace("2025-07-03", "2025-09-04")]) + "\n")
    [full] = ingest_paths([path])
    path.write_text(HEADER + "\n")
    results = ingest_paths([path])
    assert [r.status for r in results] == ["needs_confirmation"]
    assert tell_engineers_about([full], "wythenshawe_wellbeing") == []
    assert tell_engineers_about(results, "wythenshawe_wellbeing") == results
    [(recipients, message)] = smtp.messages
    assert recipients == ["oncall@platform.example"]
    assert "worklink files confirm" in message.get_body(("html", "plain")).get_content()
