"""The file's rows in the ingest schema: its manifest entry and its issues."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from psycopg import sql

from worklink.contracts import Contract
from worklink.ingest.landing import LandedFile
from worklink.ingest.periods import PERIOD_FORMAT
from worklink.ingest.reader import ROW, FileRejected
from worklink.ingest.results import IngestResult
from worklink.platform.copy import copy_csv
from worklink.settings import load_settings

# When the platform started judging deliveries: the setting, else its first ingest run, else now.
WATCHED_FROM = ("coalesce(%s::timestamptz, (select min(processed_at) from ingest.file_manifest), now())")

def insert_manifest(conn, result: IngestResult, contract: Contract, landed: LandedFile, archive_path: Path,
                     run_label: str | None, rejection: FileRejected | None = None) -> int:
    """The file's manifest row. ``received_at`` is the platform's clock when it read the file (the
    sender's modification time is kept beside it, not trusted); a file is late only when it was
    due after the platform started watching."""
    row = conn.execute(
        f"""
        with due as (
            select (to_date(%s || '-01', 'YYYY-MM-DD') + interval '1 month' + %s * interval '1 day') as due_at,
                   {WATCHED_FROM} as watched_from
        )
        insert into ingest.file_manifest
            (partner_id, feed, contract_key, period, file_name, landing_path, archive_path, sha256,
             size_bytes, status, duplicate_of, supersedes_file_id, rejection_rule, rejection_message,
             received_at, file_modified_at, due_at, is_late, ingest_run)
        select %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), to_timestamp(%s), due.due_at,
               case when due.due_at >= due.watched_from then now() > due.due_at end, %s
          from due
        returning file_id
        """,
        (result.period if result.period and PERIOD_FORMAT.fullmatch(result.period) else None,
         contract.file.due_days_after_period, load_settings().deliveries_watched_from,
         contract.partner.id, contract.feed, contract.key, result.period, landed.name, str(landed.path),
         str(archive_path), result.sha256, landed.size, result.status, result.duplicate_of,
         result.supersedes_file_id, rejection.rule_id if rejection else None,
         rejection.message if rejection else None, landed.mtime, run_label),
    ).fetchone()
    return row[0]

def bad_row_issues(bad: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Issue records for rows the reader held back: structural faults name the row, cell faults
    the partner's own heading (always with their rule, never the content)."""
    labels = {c.name: c.source for c in contract.columns}
    message = [f"'{labels.get(column, column)}' {text}" if isinstance(column, str) else f"the row {text}"
               for column, text in zip(bad["column_name"], bad["message"], strict=True)]
    return pd.DataFrame({ROW: bad[ROW].astype("int64").to_numpy(), "column_name": bad["column_name"].to_numpy(),
                         "rule_id": bad["rule_id"].to_numpy(), "severity": "quarantine_row", "message": message})

def insert_issues(conn, file_id: int, issues: pd.DataFrame) -> None:
    if issues.empty:
        return
    frame = issues.rename(columns={ROW: "source_row"})[
        ["source_row", "record_id", "column_name", "rule_id", "severity", "message"]
    ].copy()
    frame.insert(0, "file_id", file_id)
    frame["source_row"] = frame["source_row"].astype("Int64")
    with conn.cursor() as cur:
        copy_csv(cur, sql.Identifier("ingest", "file_issues"), frame)
