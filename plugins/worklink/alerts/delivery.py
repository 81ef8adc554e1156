"""Deliver partner data-quality reports: email through Airflow's SMTP provider, optional webhook.

The route lives in each feed contract (``partner.dq_contacts``, ``partner.dq_webhook_url``),
next to the feed it covers. Email goes through the Airflow connection ``worklink_smtp``
(e.g. ``AIRFLOW_CONN_WORKLINK_SMTP=smtp://host:25?disable_tls=true&disable_ssl=true``);
when it is not configured the report is still written under ``.worklink/reports`` and
the log says where. Each alert is recorded in ``ingest.partner_alerts``.
"""

from __future__ import annotations

import html
import json
import logging
import os
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import psycopg

from worklink.alerts.partner_report import PartnerReport, build_partner_report, write_report_files
from worklink.contracts import Contract, load_contracts
from worklink.platform.database import libpq_url, warehouse_url
from worklink.settings import load_settings

log = logging.getLogger(__name__)
SMTP_CONN_ID = "worklink_smtp"
DEFAULT_FROM = "worklink data quality <dq-alerts@worklink.invalid>"


@dataclass
class AlertOutcome:
    partner_id: str
    sent: bool
    channel: str
    recipients: list[str]
    issue_count: int
    report_path: Path | None


def _smtp_configured(conn_id: str) -> bool:
    if os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"):
        return True
    try:
        from airflow.sdk import Connection

        Connection.get(conn_id)
        return True
    except Exception:  # noqa: BLE001 - any lookup failure means "not configured"
        return False


def send_mail(recipients: list[str], subject: str, html_content: str, conn_id: str = SMTP_CONN_ID,
              attachments: list[Path] | None = None, text_content: str | None = None) -> None:
    """One email through Airflow's SMTP provider and the ``worklink_smtp`` connection; with
    ``text_content``, a plain-text part beside the HTML (multipart/alternative) for any mail program."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from_email = load_settings().alert_from or DEFAULT_FROM
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        if text_content is None:
            hook.send_email_smtp(to=recipients, subject=subject, html_content=html_content,
                                 files=[str(p) for p in attachments or []], from_email=from_email)
            return
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, from_email, ", ".join(recipients)
        message["Date"] = formatdate(localtime=False)
        message.set_content(text_content)
        message.add_alternative(html_content, subtype="html")
        for path in attachments or []:
            kind = "csv" if path.suffix == ".csv" else "html"
            message.add_attachment(path.read_bytes(), maintype="text", subtype=kind, filename=path.name)
        # The provider's message builder has no plain-text part, so the message is built here and
        # sent through the hook's own client (its connection, TLS and authentication settings).
        hook._smtp_client.send_message(message)  # noqa: SLF001


def _send_email(report: PartnerReport, recipients: list[str], attachments: list[Path], conn_id: str) -> None:
    send_mail(recipients, report.subject, report.html(), conn_id, attachments, text_content=report.text())


def _post_webhook(url: str, report: PartnerReport) -> None:
    payload = {
        "partner_id": report.partner_id,
        "subject": report.subject,
        "files": [f.__dict__ for f in report.files],
        "counts_by_rule": [{"rule": r, "severity": s, "count": n} for r, s, n in report.counts_by_rule],
    }
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - URL comes from a reviewed contract
        response.read()


def files_of_run(partner_id: str, run_label: str, database_url: str | None = None) -> list[int]:
    """Manifest ids a run recorded for a partner (duplicates left out: nothing new to say)."""
    with psycopg.connect(libpq_url(database_url or warehouse_url(load_settings()))) as conn:
        return [r[0] for r in conn.execute(
            """select file_id from ingest.file_manifest
                where partner_id = %s and ingest_run = %s and status <> 'duplicate' order by file_id""",
            (partner_id, run_label)).fetchall()]


def alert_partner(partner_id: str, file_ids: list[int], contracts: list[Contract] | None = None,
                  database_url: str | None = None, smtp_conn_id: str = SMTP_CONN_ID) -> AlertOutcome | None:
    """Send one partner the report on its files from this run; None when nothing needs attention."""
    settings = load_settings()
    contracts = contracts if contracts is not None else load_contracts()
    own = [c for c in contracts if c.partner.id == partner_id]
    if not own or not file_ids:
        return None
    partner = own[0].partner
    with psycopg.connect(libpq_url(database_url or warehouse_url(settings))) as conn:
        report = build_partner_report(conn, own[0], file_ids, contracts)
        if not report.needs_attention:
            return None
        report.contact = settings.platform_contact
        due = datetime.now(UTC).date() + timedelta(days=min(c.file.resubmit_within_days for c in own))
        report.resubmit_by = f"{due:%A} {due.day} {due:%B %Y}"
        html_path, csv_path = write_report_files(report, settings.reports_dir / "partner-alerts")
        recipients = [c.email for c in partner.dq_contacts]
        channel = "file"
        if _smtp_configured(smtp_conn_id):
            _send_email(report, recipients, [html_path, csv_path], smtp_conn_id)
            channel = "email"
        else:
            log.warning("SMTP connection %s not configured: alert for %s saved to %s", smtp_conn_id,
                        partner_id, html_path)
        if partner.dq_webhook_url:
            # A failing webhook is recorded, never raised: the task must not be retried and send
            # the email a second time.
            try:
                _post_webhook(partner.dq_webhook_url, report)
                channel += "+webhook"
            except Exception as exc:  # noqa: BLE001 - any delivery failure is the outcome, not a crash
                log.warning("webhook for %s failed (%s): recorded in ingest.partner_alerts", partner_id,
                            type(exc).__name__)
                channel += "+webhook_failed"
        conn.execute(
            """insert into ingest.partner_alerts (partner_id, channel, recipients, file_ids, issue_count, report_path)
               values (%s, %s, %s, %s, %s, %s)""",
            (partner_id, channel, ", ".join(recipients), file_ids, len(report.problems), str(html_path)),
        )
    return AlertOutcome(partner_id, channel.startswith("email"), channel, recipients, len(report.problems),
                        html_path)


def alert_late_and_missing(contracts: list[Contract] | None = None, database_url: str | None = None,
                           smtp_conn_id: str = SMTP_CONN_ID) -> list:
    """Tell the data engineers (all) and each partner (its own) about deliveries newly late or
    missing; each month once. Returns the problems told."""
    from worklink.ingest.deliveries import new_delivery_problems

    settings = load_settings()
    contracts = contracts if contracts is not None else load_contracts()
    with psycopg.connect(libpq_url(database_url or warehouse_url(settings))) as conn:
        problems = new_delivery_problems(conn, contracts)
        if not problems:
            return []
        by_partner: dict[str, list] = {}
        for problem in problems:
            by_partner.setdefault(problem.partner_id, []).append(problem)
        mail = _smtp_configured(smtp_conn_id)
        letters = [(list(settings.engineer_emails), f"[worklink] {len(problems)} deliveries late or missing", problems)]
        for partner_id, own in sorted(by_partner.items()):
            partner = next(c.partner for c in contracts if c.partner.id == partner_id)
            letters.append(([c.email for c in partner.dq_contacts],
                            f"[worklink] {partner.name}: {len(own)} monthly files late or missing", own))
        for recipients, subject, own in letters:
            body = "<p>" + "</p><p>".join(html.escape(p.describe()) for p in own) + "</p>"
            if mail and recipients:
                send_mail(recipients, subject, body, smtp_conn_id)
            else:
                log.warning("%s (SMTP not configured): %s", subject, "; ".join(p.describe() for p in own))
        conn.commit()  # recorded as told only once the mail went out
    return problems


# Ingest outcomes an engineer has to act on (the partner hears of them through its own alert).
ENGINEER_STATUSES = {
    "error": "the platform failed on the file (it is retried next run; see the task log)",
    "needs_confirmation": "a much smaller re-send is held; after checking with the partner run "
                          "`worklink files confirm FILE_ID`",
}


def tell_engineers_about(results: list, partner_id: str, smtp_conn_id: str = SMTP_CONN_ID) -> list:
    """Email the data engineers about files in error or held for confirmation; returns those files."""
    settings = load_settings()
    flagged = [r for r in results if r.status in ENGINEER_STATUSES]
    if not flagged:
        return []
    lines = [f"{html.escape(Path(r.file).name)} (file {r.file_id}): {r.status} - {ENGINEER_STATUSES[r.status]}"
             for r in flagged]
    subject = f"[worklink] {partner_id}: {len(flagged)} file(s) need an engineer"
    if _smtp_configured(smtp_conn_id) and settings.engineer_emails:
        send_mail(list(settings.engineer_emails), subject, "<p>" + "</p><p>".join(lines) + "</p>", smtp_conn_id)
    else:
        log.warning("%s (SMTP not configured): %s", subject, "; ".join(lines))
    return flagged
