"""The portal's tables (accounts, sessions, failed sign-ins, uploads) and its reads of the platform's
own tables, every read filtered to one partner.

Accounts live in the warehouse database (schema ``portal``), not in a file: the portal reads the
manifest, scorecard and alerts from that database anyway, so accounts are backed up with them,
changed in transactions (a removed account's sessions go in the same statement), and shared by
every portal process behind a proxy, as the sign-in rate limit must be.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from importlib import resources

import psycopg
from psycopg.rows import dict_row

from worklink.platform.database import ensure_database, libpq_url


def database_url() -> str:
    return libpq_url(ensure_database())


@contextmanager
def connect(url: str):
    with psycopg.connect(url, row_factory=dict_row) as conn:
        yield conn


def ensure_tables(url: str) -> None:
    ddl = resources.files("worklink.portal").joinpath("tables.sql").read_text()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('worklink.portal.tables'))")
        try:
            conn.execute(ddl)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('worklink.portal.tables'))")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _exists(conn, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null as ok", (table,)).fetchone()["ok"]


def submission_history(conn, partner_id: str, limit: int = 300) -> dict[str, list[dict]]:
    """Every file the platform received from the partner (by any route), newest first, each marked
    when it came through the portal; then portal submissions the nightly has not read yet."""
    received = []
    has_manifest = _exists(conn, "ingest.file_manifest")
    if has_manifest:
        received = conn.execute(
            """select m.file_name, m.feed, m.period, m.status, m.received_at, m.rows_in, m.rows_loaded,
                      m.rows_quarantined, m.rejection_rule, exists (select 1 from portal.uploads u
                       where u.partner_id = m.partner_id and u.sha256 = m.sha256
                         and u.submitted_at is not null) as via_portal
                 from ingest.file_manifest m where m.partner_id = %s
                order by m.received_at desc, m.file_id desc limit %s""", (partner_id, limit)).fetchall()
    waiting_sql = """select upload_id, file_name, feed, submitted_at, verdict from portal.uploads u
                      where u.partner_id = %s and u.submitted_at is not null"""
    if has_manifest:
        waiting_sql += """ and not exists (select 1 from ingest.file_manifest m where m.partner_id = u.partner_id
                              and m.sha256 = u.sha256 and m.received_at >= u.submitted_at)"""
    waiting = conn.execute(waiting_sql + " order by submitted_at desc", (partner_id,)).fetchall()
    return {"received": received, "waiting": waiting}


def scorecard(conn, partner_id: str) -> list[dict]:
    if not _exists(conn, "ingest.dq_history"):
        return []
    return conn.execute(
        """select period, feed, files_received, files_rejected, late_files, rows_in, rows_loaded,
                  rows_quarantined, row_rejection_rate, key_field_completeness
             from ingest.dq_history where partner_id = %s order by period desc, feed""", (partner_id,)).fetchall()


def alerts(conn, partner_id: str) -> list[dict]:
    if not _exists(conn, "ingest.partner_alerts"):
        return []
    return conn.execute(
        """select alert_id, sent_at, channel, cardinality(file_ids) as files, issue_count
             from ingest.partner_alerts where partner_id = %s order by sent_at desc, alert_id desc""",
        (partner_id,)).fetchall()


def alert_files(conn, partner_id: str, alert_id: int) -> list[int] | None:
    """The files of one of the partner's alerts; None when no such alert is the partner's."""
    if not _exists(conn, "ingest.partner_alerts"):
        return None
    row = conn.execute("select file_ids from ingest.partner_alerts where alert_id = %s and partner_id = %s",
                       (alert_id, partner_id)).fetchone()
    return None if row is None else list(row["file_ids"])
