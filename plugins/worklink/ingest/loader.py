"""Take one landed file: hash it, keep it, check it, and load it all-or-nothing.

Exactly-once rests on the database, not on file moves: the manifest holds every
received file by sha256 with a unique index on accepted content, and the whole
load (manifest row, raw rows, quarantined rows, issues, supersession) is one
transaction. A crash part-way rolls everything back; a re-delivered identical
file is recorded as a duplicate and loads nothing; a changed file for the same
partner, feed and period supersedes the earlier version (kept, flagged not current).

This module orchestrates one file; each concern lives in its own module: the manifest and the
archive (``manifest``, ``records``), reading (``reader``), checks (``checks``), the file's
partitions and the two-connection write (``partitions``), the identity split and pseudonyms
(``worklink.identity.columns``), versions of a month (``versions``), the data-quality history
(``history``), cross-feed dates (``cross_feed``) and the landing tables (``ddl``).
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from worklink.contracts import Contract
from worklink.distinct_values import DistinctColumn, distinct_combinations
from worklink.identity.columns import landing_targets, pseudonym_columns
from worklink.ingest.checks import PreparedFrame, cross_feed_order_issues, prepare, validate
from worklink.ingest.cross_feed import earliest_dates
from worklink.ingest.ddl import ensure_feed_tables, table_columns
from worklink.ingest.history import refresh_dq_history
from worklink.ingest.landing import LandedFile, open_landed
from worklink.ingest.manifest import RECEIVED_STATUSES, archive_landed
from worklink.ingest.partitions import (
    FILE_LOCK_KEY,
    attach_second_half,
    create_file_partition,
    drop_orphaned_halves,
    write_second_half,
)
from worklink.ingest.periods import period_of, period_problem
from worklink.ingest.reader import ROW, FileRejected, LandedRows, feed_matching_headers, read_rows
from worklink.ingest.records import bad_row_issues, insert_issues, insert_manifest
from worklink.ingest.results import FileIssue, IngestResult
from worklink.ingest.versions import make_current
from worklink.platform.copy import copy_binary, copy_csv
from worklink.platform.database import libpq_url
from worklink.quality.suites import load_suite

# A file this large is written by two connections at once, half each (the server's side of a COPY
# is one core's work); below it, the second connection costs more than it saves.
PARALLEL_WRITE_MIN_ROWS = 200_000


def ingest_file(
    source: Path | LandedFile,
    contract: Contract,
    database_url: str,
    archive_dir: Path,
    expectations_dir: Path,
    siblings: list[Contract] | None = None,
    landing_root: Path | None = None,
    run_label: str | None = None,
) -> IngestResult:
    """Ingest one file under ``contract``; ``siblings`` (the partner's other contracts) only
    sharpen the message when a file turns out to be a different feed than its name says.

    ``source`` is a file already opened through the landing jail, or a path, which is opened
    here inside ``landing_root`` (default: its own folder), never through a link.
    """
    if isinstance(source, LandedFile):
        landed = source
    else:
        path = Path(source)
        landed = open_landed(path, landing_root or path.parent, contract.file.max_file_bytes,
                             spool_dir=archive_dir / ".spool")
    path = landed.path
    named_period = period_of(path, contract)
    problem = period_problem(named_period, datetime.now(UTC)) if named_period else None
    period = None if problem else named_period  # only a real month reaches the manifest's period
    result = IngestResult(
        file=str(path), sha256=landed.sha256, partner=contract.partner.id, feed=contract.feed,
        status="rejected", period=period,
    )
    with psycopg.connect(libpq_url(database_url)) as conn:
        ensure_feed_tables(conn, contract)
        conn.commit()  # DDL in its own short transaction: loads of different feeds run in parallel
        # Serialise loads of one feed so supersession and duplicate checks see each other.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (contract.key,))
        earlier = conn.execute(
            """select file_id, is_current, status, partner_id, feed, period from ingest.file_manifest
                where sha256 = %s and status = any(%s) and (period is not distinct from %s or rows_in > 0)
                order by file_id limit 1""",
            (landed.sha256, list(RECEIVED_STATUSES), period),
        ).fetchone()
        archive_path = archive_landed(landed, contract.partner.id, contract.feed, archive_dir)
        drop_orphaned_halves(conn, "raw", contract.target_table)
        if earlier:
            _record_duplicate(conn, result, contract, landed, archive_path, run_label, earlier)
        else:
            rejection, rows, prepared = _read(landed, contract, siblings or [], named_period, problem, period)
            if rejection is not None:
                _record_rejection(conn, result, contract, landed, archive_path, run_label, rejection)
            else:
                _load(conn, result, contract, landed, archive_path, rows, prepared,
                      load_suite(contract, expectations_dir), libpq_url(database_url), run_label)
        refresh_dq_history(conn, contract.partner.id, contract.feed, result.period)
        conn.commit()
    return result


def _record_duplicate(conn, result: IngestResult, contract: Contract, landed: LandedFile, archive_path: Path,
                      run_label: str | None, earlier: tuple) -> None:
    """Content received before: a duplicate, or an earlier version sent again (made current again)."""
    file_id, is_current, status, partner_id, feed, earlier_period = earlier
    result.duplicate_of = file_id
    superseded = (status in ("loaded", "loaded_with_quarantine") and not is_current
                  and (partner_id, feed, earlier_period) == (contract.partner.id, contract.feed, result.period))
    if superseded:  # an earlier version sent again: it becomes the current one again
        result.status = "reinstated"
        result.supersedes_file_id = make_current(conn, contract, file_id, result.period)
    else:
        result.status = "duplicate"
    result.file_id = insert_manifest(conn, result, contract, landed, archive_path, run_label)


def _read(landed: LandedFile, contract: Contract, siblings: list[Contract], named_period: str | None,
          problem: str | None, period: str | None
          ) -> tuple[FileRejected | None, LandedRows | None, PreparedFrame | None]:
    """The file's rows read and prepared, or why the whole file is rejected."""
    path = landed.path
    if problem:
        return FileRejected("period_invalid",
                            f"{path.name}: the period {named_period} in the file name {problem}"), None, None
    if period is None:
        return FileRejected(
            "file_name_mismatch",
            f"{path.name}: cannot find the period (YYYY-MM) in the file name; "
            f"expected a name like {contract.file.pattern}",
        ), None, None
    try:
        rows = read_rows(landed, contract)
        return None, rows, prepare(rows.frame, contract)
    except FileRejected as exc:
        return _explain_wrong_feed(exc, contract, siblings, path), None, None


def _record_rejection(conn, result: IngestResult, contract: Contract, landed: LandedFile, archive_path: Path,
                      run_label: str | None, rejection: FileRejected) -> None:
    path = landed.path
    result.status = "rejected"
    where = "".join([f" row {rejection.row}" if rejection.row else "",
                     f" column {rejection.column}" if rejection.column else ""])
    text = rejection.message if rejection.message.startswith(path.name) else f"{path.name}: {rejection.message}"
    where = f" ({where.strip()})" if where else ""
    result.errors = [FileIssue(rejection.rule_id, rejection.column, rejection.row,
                               f"{text}{where} [rule {rejection.rule_id}]", "reject_file")]
    result.file_id = insert_manifest(conn, result, contract, landed, archive_path, run_label, rejection=rejection)
    insert_issues(conn, result.file_id, pd.DataFrame([{
        ROW: rejection.row, "record_id": None, "column_name": rejection.column,
        "rule_id": rejection.rule_id, "severity": "reject_file", "message": result.errors[0].message,
    }]))


def _explain_wrong_feed(exc: FileRejected, contract: Contract, siblings: list[Contract], path: Path
                        ) -> FileRejected:
    if exc.rule_id not in ("missing_required_column", "unexpected_column") or not exc.headers:
        return exc
    other = feed_matching_headers(exc.headers, [c for c in siblings if c.feed != contract.feed])
    if other is None:
        return exc
    return FileRejected(
        "wrong_feed",
        f"{path.name} is named and filed as {contract.feed} but its columns are those of {other.feed} "
        f"(put it in {other.partner.id}/{other.feed}/ named like {other.file.pattern})",
        headers=exc.headers,
    )


@dataclass
class _Written:
    """Where a file's rows went: its partitions (schema -> (partition, COPY target, columns)) and
    its people (distinct identifier combinations; ``holders`` is each one's first row)."""

    partitions: dict[str, tuple[sql.Composable, sql.Composable, list[str]]]
    row_numbers: np.ndarray
    people: DistinctColumn | None
    holders: np.ndarray | None


def _load(conn, result: IngestResult, contract: Contract, landed: LandedFile, archive_path: Path,
          rows_read: LandedRows, prepared: PreparedFrame, suite, database_url: str, run_label: str | None) -> None:
    """Write the file's rows and validate them at the same time, then take out what failed.

    The bulk write (server-bound) runs in a thread while the checks (CPU-bound, in this
    process) run, so the two cores both work. Both happen inside the file's single
    transaction: rows that fail a quarantine rule are deleted from the new partitions
    before commit, so nothing unchecked is ever visible and a crash leaves nothing.
    """
    data = prepared.data
    bad = rows_read.bad_rows
    unreadable = bad.loc[~bad[ROW].isin(data[ROW])]  # rows the reader could not split into cells
    result.status = "loaded"  # provisional, inside the transaction; final status set below
    result.file_id = insert_manifest(conn, result, contract, landed, archive_path, run_label)
    held = _supersede_previous(conn, result, contract, len(data) + unreadable[ROW].nunique())
    written, checked = _write_and_validate(conn, result, contract, prepared, suite, database_url, held)
    issues = _all_issues(conn, checked.issues, bad, prepared, contract)
    quarantined_rows = sorted(set(issues.loc[issues["severity"] == "quarantine_row", ROW]))
    warned_rows = set(issues.loc[issues["severity"] == "warn", ROW])
    is_quarantined = data[ROW].isin(quarantined_rows)
    unreadable_rows = unreadable.drop_duplicates(ROW)

    result.rows_in = len(data) + len(unreadable_rows)
    result.rows_quarantined = int(is_quarantined.sum()) + len(unreadable_rows)
    result.rows_loaded = result.rows_in - result.rows_quarantined
    result.rows_warned = len(warned_rows - set(quarantined_rows))
    result.blank_rows = rows_read.blank_rows
    result.status = ("needs_confirmation" if held
                     else "loaded_with_quarantine" if result.rows_quarantined else "loaded")
    result.errors = [
        FileIssue(r["rule_id"], r["column_name"], int(r[ROW]),
                  f"{landed.path.name} row {int(r[ROW])} column {r['column_name']}: {r['message']}"
                  f" [rule {r['rule_id']}]", r["severity"], r["record_id"])
        for r in issues.to_dict("records")
    ]
    if quarantined_rows and is_quarantined.any():
        _quarantine(conn, result.file_id, contract, data, is_quarantined, quarantined_rows, written)
    if len(unreadable_rows):
        _quarantine_unreadable(conn, result.file_id, contract, unreadable_rows)
    insert_issues(conn, result.file_id, issues)
    _finish_manifest(conn, result, contract, data, held)


def _supersede_previous(conn, result: IngestResult, contract: Contract, rows_now: int) -> bool:
    """Make this file the month's new version (the one it replaces no longer current) and number
    it; return whether it is held instead (not current until confirmed)."""
    previous = conn.execute(
        """select file_id, version, rows_in from ingest.file_manifest
           where partner_id = %s and feed = %s and period = %s and is_current""",
        (contract.partner.id, contract.feed, result.period),
    ).fetchone()
    # A re-send far smaller than the month it would replace (a truncated or header-only export)
    # is loaded but held, not current, until someone confirms it: it never silently erases a month.
    held = bool(previous) and previous[2] > 0 and rows_now < contract.file.min_resend_fraction * previous[2]
    if previous and not held:
        result.supersedes_file_id = previous[0]
        conn.execute("update ingest.file_manifest set is_current = false where file_id = %s", (previous[0],))
        for schema, _ in landing_targets(contract):
            conn.execute(
                sql.SQL("update {} set _is_current = false where _file_id = %s").format(
                    sql.Identifier(schema, contract.target_table)),
                (previous[0],),
            )
    result.version = (previous[1] if previous else 0) + 1
    return held


def _write_and_validate(conn, result: IngestResult, contract: Contract, prepared: PreparedFrame, suite,
                        database_url: str, held: bool):
    """The file's partitions written (identity, then raw with its tokens; a large file's raw rows
    by two connections) while the checks run here; returns where the rows went and the checks.

    Direct identifiers never enter raw: they go to the restricted identity schema, once per
    distinct combination in the file; each raw row names the row whose identity record it shares.
    """
    data = prepared.data
    file_id = result.file_id
    row_numbers = data[ROW].to_numpy(dtype="int32")
    table = contract.target_table
    conn.execute(f"select pg_advisory_xact_lock({FILE_LOCK_KEY})", (file_id,))
    loaded_at = conn.execute("select now()").fetchone()[0]
    constants = {"_partner_id": contract.partner.id, "_period": result.period, "_loaded_at": loaded_at,
                 **({"_is_current": False} if held else {})}
    halves = len(data) >= PARALLEL_WRITE_MIN_ROWS
    split_at = int(row_numbers[len(data) // 2]) if halves else None
    partitions = {schema: (*create_file_partition(conn, schema, table, file_id, constants,
                                                  split_at if schema == "raw" else None), columns)
                  for schema, columns in landing_targets(contract)}
    raw_columns = table_columns(conn, "raw", table) if halves else []
    identity_columns = partitions["identity"][2] if "identity" in partitions else []
    people = distinct_combinations([prepared.columns[c] for c in identity_columns]) if identity_columns else None
    holders = people.values.to_numpy() if people is not None else None  # first row of each combination

    def write(schema: str, frame: pd.DataFrame, after: Future | None = None) -> None:
        if after is not None:  # one COPY at a time on this connection
            after.result()
        with conn.cursor() as cur:
            copy_binary(cur, partitions[schema][1], frame)

    # This connection writes identity first (it needs no tokens), then raw once the tokens are
    # made (for a large file, its first half, while a second connection writes the other half);
    # the checks run here meanwhile.
    with ThreadPoolExecutor(max_workers=2) as pool:
        writes, identity_write = [], None
        if people is not None and len(data):
            vault = data[identity_columns].take(holders).reset_index(drop=True)
            vault.insert(0, "_source_row_number", row_numbers[holders])
            identity_write = pool.submit(write, "identity", vault)
            writes.append(identity_write)
        if len(data):
            lineage = {"_source_row_number": row_numbers}
            if people is not None:
                lineage["_identity_row_number"] = row_numbers[holders][people.codes]
            attributes = [c for c in partitions["raw"][2] if c in data.columns]  # tokens are made here
            rows = pd.concat([pd.DataFrame(lineage), data[attributes],
                              pseudonym_columns(data, contract, prepared.columns, categorical=True)], axis=1)
            if halves:
                middle = len(data) // 2
                writes.append(pool.submit(
                    write_second_half, database_url, "raw", table, file_id, split_at, raw_columns,
                    {"_file_id": file_id, "_is_current": True, **constants},
                    rows.iloc[middle:].reset_index(drop=True)))
                rows = rows.iloc[:middle]
            writes.append(pool.submit(write, "raw", rows, identity_write))
        checked = validate(prepared, contract, suite, result.period)
        for writing in writes:
            writing.result()
    if halves:
        attach_second_half(conn, "raw", table, file_id, split_at)
    return _Written(partitions, row_numbers, people, holders), checked


def _all_issues(conn, issues: pd.DataFrame, bad: pd.DataFrame, prepared: PreparedFrame,
                contract: Contract) -> pd.DataFrame:
    """The checks' issues with the reader's bad rows and the cross-feed date order, each with its
    record id."""
    if len(bad):
        issues = pd.concat([issues, bad_row_issues(bad, contract)], ignore_index=True)
    if contract.cross_feed_order:
        extra = cross_feed_order_issues(prepared, contract, earliest_dates(conn, contract.partner.id))
        if extra is not None:
            issues = pd.concat([issues, extra], ignore_index=True)
    if contract.record_id_column:
        record_ids = prepared.data.set_index(ROW)[contract.record_id_column]
        return issues.assign(record_id=issues[ROW].map(record_ids).astype("object"))
    return issues.assign(record_id=None)


def _quarantine(conn, file_id: int, contract: Contract, data: pd.DataFrame, is_quarantined: pd.Series,
                quarantined_rows: list, written: _Written) -> None:
    """Take the quarantined rows out of the new partitions and keep them whole for the partner."""
    conn.execute(sql.SQL("delete from {} where _source_row_number = any(%s)").format(written.partitions["raw"][0]),
                 ([int(r) for r in quarantined_rows],))
    if written.people is not None:  # identity rows no loaded row refers to any more
        holders = written.holders
        still_held = np.zeros(len(holders), dtype=bool)
        still_held[written.people.codes[~is_quarantined.to_numpy()]] = True
        orphans = written.row_numbers[holders[~still_held]]
        if len(orphans):
            conn.execute(sql.SQL("delete from {} where _source_row_number = any(%s)").format(
                written.partitions["identity"][0]), ([int(r) for r in orphans],))
    # Kept whole (identifiers included) for the partner to correct: restricted schema.
    bad = data.loc[is_quarantined]
    records = bad[contract.column_names].to_json(orient="records", lines=True).splitlines()
    quarantine = pd.DataFrame({
        "file_id": file_id, "source_row": bad[ROW].to_numpy(), "partner_id": contract.partner.id,
        "feed": contract.feed, "record": records,
    })
    with conn.cursor() as cur:
        copy_csv(cur, sql.Identifier("identity", "quarantined_rows"), quarantine)


def _quarantine_unreadable(conn, file_id: int, contract: Contract, unreadable_rows: pd.DataFrame) -> None:
    # No cells to name: the line as received, for the partner to correct (restricted schema).
    quarantine = pd.DataFrame({
        "file_id": file_id, "source_row": unreadable_rows[ROW].to_numpy(), "partner_id": contract.partner.id,
        "feed": contract.feed,
        "record": [json.dumps({"_unreadable_row": raw}) for raw in unreadable_rows["raw"]],
    })
    with conn.cursor() as cur:
        copy_csv(cur, sql.Identifier("identity", "quarantined_rows"), quarantine)


def _finish_manifest(conn, result: IngestResult, contract: Contract, data: pd.DataFrame, held: bool) -> None:
    """The manifest row's final status, counts and completeness."""
    filled = {c: int(data[c].notna().sum()) for c in contract.column_names}
    scored = contract.scored_fields
    completeness = sum(filled[c] for c in scored) / (len(scored) * len(data)) if scored and len(data) else None
    conn.execute(
        """update ingest.file_manifest
              set status = %s, rows_in = %s, rows_loaded = %s, rows_quarantined = %s, rows_warned = %s,
                  version = %s, is_current = %s, supersedes_file_id = %s,
                  key_field_completeness = %s, column_filled = %s, blank_rows = %s
            where file_id = %s""",
        (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined, result.rows_warned,
         result.version, not held, result.supersedes_file_id, completeness, Jsonb(filled), result.blank_rows,
         result.file_id),
    )
