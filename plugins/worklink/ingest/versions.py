"""Versions of a month: which received file is current, and confirming a held re-send."""

from __future__ import annotations

import psycopg
from psycopg import sql

from worklink.contracts import Contract
from worklink.identity.columns import landing_targets
from worklink.ingest.history import refresh_dq_history
from worklink.ingest.results import IngestResult
from worklink.platform.database import libpq_url


def make_current(conn: psycopg.Connection, contract: Contract, file_id: int, period: str | None) -> int | None:
    """Make ``file_id`` the current version of its month (manifest and rows); return the version
    it replaces."""
    current = conn.execute(
        """select file_id from ingest.file_manifest
            where partner_id = %s and feed = %s and period = %s and is_current""",
        (contract.partner.id, contract.feed, period)).fetchone()
    for fid, flag in ([(current[0], False)] if current else []) + [(file_id, True)]:
        conn.execute("update ingest.file_manifest set is_current = %s where file_id = %s", (flag, fid))
        for schema, _ in landing_targets(contract):
            conn.execute(sql.SQL("update {} set _is_current = %s where _file_id = %s").format(
                sql.Identifier(schema, contract.target_table)), (flag, fid))
    return current[0] if current else None

def confirm_held_version(database_url: str, file_id: int, contracts: list[Contract]) -> IngestResult:
    """Make a version held as ``needs_confirmation`` current (the partner confirmed the smaller month)."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute(
            """select partner_id, feed, period, status, rows_quarantined, file_name from ingest.file_manifest
                where file_id = %s""", (file_id,)).fetchone()
        if row is None or row[3] != "needs_confirmation":
            raise ValueError(f"file {file_id} is not held for confirmation")
        partner_id, feed, period, _, quarantined, name = row
        contract = next(c for c in contracts if (c.partner.id, c.feed) == (partner_id, feed))
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (contract.key,))
        replaced = make_current(conn, contract, file_id, period)
        status = "loaded_with_quarantine" if quarantined else "loaded"
        conn.execute("""update ingest.file_manifest set status = %s, confirmed_at = now(), supersedes_file_id = %s
                         where file_id = %s""", (status, replaced, file_id))
        refresh_dq_history(conn, partner_id, feed, period)
    return IngestResult(file=name, sha256="", partner=partner_id, feed=feed, status=status, file_id=file_id,
                        period=period, supersedes_file_id=replaced)
