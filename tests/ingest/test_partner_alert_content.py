"""What a partner's data officer reads: files that need action first with what to do, row numbers as
their spreadsheet shows them, plain words, the platform team's contact and the resubmission date, in
an HTML and a plain-text part. Hand-written delivery, real ingest, real local SMTP server."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from local_smtp import local_smtp
from worklink.alerts.delivery import alert_partner
from worklink.contracts import load_contracts
from worklink.ingest.service import ingest_paths

HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
          "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
          "economic_status,service_variant,eligible,ineligible_reason")
GOOD = "P-1,Ann,Smith,1980-01-02,F,,M22 5RT,,,,,2025-07-03,gp,carer,mental_health,20,inactive_other,,Y,"
# data row 2 has an unknown priority group: held back; in the spreadsheet it is row 3 (heading = row 1)
BAD = "P-2,Bob,Jones,1981-02-03,M,,M22 5RT,,,,,2025-07-04,gp,NOTACODE,mental_health,20,inactive_other,,Y,"


@pytest.fixture(scope="module")
def alert(module_db, tmp_path_factory):
    landing = tmp_path_factory.mktemp("alert_landing")
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    (folder / "WWC_referrals_2025-07.csv").write_text(HEADER + "\n" + GOOD + "\n" + BAD + "\n")
    # August: the referral date column is missing, so the whole file is rejected
    (folder / "WWC_referrals_2025-08.csv").write_text(HEADER.replace(",referral_date", "") + "\nP-3\n")
    os.environ["WORKLINK_LANDING_DIR"] = str(landing)
    os.environ["WORKLINK_PLATFORM_CONTACT"] = "the GM data team, gm-data@example.org"
    try:
        results = ingest_paths([landing])
        assert sorted(r.status for r in results) == ["loaded_with_quarantine", "rejected"]
        with local_smtp() as inbox:
            os.environ["AIRFLOW_CONN_WORKLINK_SMTP"] = inbox.url
            outcome = alert_partner("wythenshawe_wellbeing", [r.file_id for r in results], load_contracts())
            inbox.settle()
    finally:
        for name in ("WORKLINK_LANDING_DIR", "WORKLINK_PLATFORM_CONTACT", "AIRFLOW_CONN_WORKLINK_SMTP"):
            os.environ.pop(name, None)
    assert outcome is not None and outcome.sent
    [(recipients, message)] = inbox.messages
    return message


def test_the_email_has_a_plain_text_and_an_html_part(alert):
    kinds = [part.get_content_type() for part in alert.walk()]
    assert "text/plain" in kinds and "text/html" in kinds
    assert alert.get_body(("plain",)).get_content().startswith("Data quality report for Wythenshawe")


def test_files_needing_action_come_first_with_what_to_do(alert):
    text = alert.get_body(("plain",)).get_content()
    assert text.index("FILES THAT NEED YOUR ACTION") < text.index("FILES RECEIVED") < text.index("ROWS TO FIX")
    action = text[text.index("FILES THAT NEED YOUR ACTION"):text.index("FILES RECEIVED")]
    assert "WWC_referrals_2025-08.csv" in action and "WWC_referrals_2025-07.csv" not in action
    assert "A required column is missing" in action and "What to do: Use the agreed template" in action
    html = alert.get_body(("html",)).get_content()
    assert html.index("Files that need your action") < html.index("Files received")


def test_rows_are_numbered_as_the_spreadsheet_shows_them(alert):
    text = alert.get_body(("plain",)).get_content()
    assert "WWC_referrals_2025-07.csv row 3, P-2, column 'priority_group': The value is not one of the agreed codes" in text
    assert " row 2," not in text


def test_contact_and_resubmission_date_are_named(alert):
    text = alert.get_body(("plain",)).get_content()
    due = datetime.now(UTC).date() + timedelta(days=10)  # the contract's resubmit_within_days default
    assert f"Please send corrected files by {due:%A} {due.day} {due:%B %Y}" in text
    assert "Questions about this report: the GM data team, gm-data@example.org." in text


def test_no_cell_value_and_no_technical_rule_ids_in_the_plain_text(alert):
    text = alert.get_body(("plain",)).get_content()
    for value in ("NOTACODE", "Bob", "Jones", "1981-02-03", "M22 5RT"):
        assert value not in text
    for word in ("missing_required_column", "code_list", "quarantine_row", "reject_file", "cp1252", "NUL"):
        assert word not in text
