"""Take one landed file: hash it, keep it, check it, and load it all-or-nothing.

Exactly-once rests on the database, not on file moves: the manifest holds every
received file by sha256 with a unique index on accepted content, and the whole
load (manifest row, raw rows, quarantined rows, issues, supersession) is one
transaction. A crash part-way rolls everything back; a re-delivered identical
file is recorded as a duplicate and loads nothing; a changed file for the same
partner, feed and period supersedes the earlier version (kept, flagged not current).
"""

from __future__ import annotations

import io
import json
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pgpq
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.types.json import Jsonb

from worklink.contracts import Contract
from worklink.identity.pseudonyms import normalise_name, tokens
from worklink.ingest.checks import PreparedFrame, cross_feed_order_issues, prepare, validate
from worklink.ingest.distinct_values import DistinctColumn, distinct_combinations
from worklink.ingest.landing import LandedFile, open_landed
from worklink.ingest.manifest import RECEIVED_STATUSES, archive_landed
from worklink.ingest.reader import ROW, FileRejected, LandedRows, feed_matching_headers, read_rows
from worklink.platform.database import libpq_url
from worklink.quality.suites import load_suite
from worklink.settings import load_settings

LINEAGE_COLUMNS = ["_file_id", "_source_row_number", "_partner_id", "_period"]

@dataclass
class FileIssue:
    rule: str
    column: str | None
    row: int | None
    message: str
    severity: str
    record_id: str | None = None

@dataclass
class IngestResult:
    file: str
    sha256: str
    partner: str | None
    feed: str | None
    status: str  # see worklink.ingest.manifest for the statuses
    file_id: int | None = None
    period: str | None = None
    version: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_warned: int = 0
    blank_rows: int = 0
    supersedes_file_id: int | None = None
    duplicate_of: int | None = None
    errors: list[FileIssue] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

DDL_LOCK = "select pg_advisory_xact_lock(hashtext('worklink-ddl'))"

def prepare_warehouse(database_url: str) -> None:
    """Platform tables, schemas, roles and grants, and every contract's landing tables with all
    its columns; once per run (concurrent runs serialise). The landing tables are dbt's sources:
    made here, they exist before a feed's first file and gain a contract's new optional column
    before the next file of that feed arrives."""
    from worklink.contracts import load_contracts
    from worklink.platform.roles import ensure_roles

    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute(DDL_LOCK)
        conn.execute((Path(__file__).with_name("platform_tables.sql")).read_text())
        ensure_roles(conn)
        for contract in load_contracts():
            ensure_feed_tables(conn, contract)

def ensure_landing_table(conn: psycopg.Connection, schema: str, table: str, columns: list[str]) -> None:
    """raw.<table> (everything but direct identifiers) or identity.<table> (only those), same keys.

    Partitioned by file: each received file's rows are one partition, written by one COPY
    inside the file's transaction. (file, row) is unique by construction, so no index is
    maintained during the bulk write; superseding a file touches only its partition.
    """
    ident = sql.Identifier(schema, table)
    conn.execute(DDL_LOCK)
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            " _file_id bigint not null,"
            " _source_row_number integer not null,"
            " _partner_id text not null,"
            " _period text,"
            " _loaded_at timestamptz not null default now(),"
            " _is_current boolean not null default true)"
            " partition by list (_file_id)"
        ).format(ident)
    )
    for column in columns:
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} text").format(ident, sql.Identifier(column))
        )

def create_file_partition(conn: psycopg.Connection, schema: str, table: str, file_id: int,
                          constants: dict[str, object], split_at: int | None = None
                          ) -> tuple[sql.Composable, sql.Composable]:
    """The file's partition and the table its (first) COPY writes into.

    Lineage values that are the same on every row of the file (file id, partner, period, load
    time) are column defaults, so the COPY only carries what varies by row. With ``split_at``
    the partition is itself split by source row number: rows below it go into ``..._a`` here,
    the rest into ``..._b``, which a second connection writes (``write_second_half``) and
    ``attach_second_half`` adds inside this transaction.
    """
    partition = file_partition(schema, table, file_id)
    conn.execute(sql.SQL("create table {} partition of {} for values in ({}){}").format(
        partition, sql.Identifier(schema, table), sql.Literal(file_id),
        sql.SQL(" partition by range (_source_row_number)" if split_at else "")))
    target = partition
    if split_at:
        target = file_partition(schema, table, file_id, "_a")
        conn.execute(sql.SQL("create table {} partition of {} for values from (minvalue) to ({})").format(
            target, partition, sql.Literal(split_at)))
    _set_lineage_defaults(conn, target, {"_file_id": file_id, **constants})
    return partition, target

def file_partition(schema: str, table: str, file_id: int, half: str = "") -> sql.Identifier:
    """``<schema>.<table>__file_<id>``: the file's partition, or with ``half`` ("_a", "_b") one of
    the two tables a large file's raw partition is split into."""
    return sql.Identifier(schema, f"{table}__file_{file_id}{half}")

def _set_lineage_defaults(conn: psycopg.Connection, table: sql.Composable, values: dict[str, object]) -> None:
    conn.execute(sql.SQL("alter table {} {}").format(table, sql.SQL(", ").join(
        sql.SQL("alter column {} set default {}").format(sql.Identifier(c), sql.Literal(v))
        for c, v in values.items())))

# A file this large is written by two connections at once, half each (the server's side of a COPY
# is one core's work); below it, the second connection costs more than it saves.
PARALLEL_WRITE_MIN_ROWS = 200_000

# Advisory lock key a load holds on its file id until it commits or aborts (parameter: the file
# id): a second half whose load is gone can be told from one whose load is still running.
FILE_LOCK_KEY = "hashtext('worklink-load-file:' || %s)"

def write_second_half(database_url: str, schema: str, table: str, file_id: int, split_at: int,
                      columns: list[tuple[str, str, bool]], defaults: dict[str, object],
                      frame: pd.DataFrame) -> None:
    """Write rows from ``split_at`` on into a table of their own, committed by a second connection.

    It is not part of the warehouse until ``attach_second_half`` attaches it inside the load's
    transaction; if that transaction never commits, the table is an orphan that the next load of
    the feed drops (``drop_orphaned_halves``). Its CHECK constraints state the partition bounds,
    so attaching it needs no scan. The columns are given, not copied from the parent table: the
    parent is locked by the load's own transaction.
    """
    half = file_partition(schema, table, file_id, "_b")
    definitions = [sql.SQL("{} {}{}").format(sql.Identifier(name), sql.SQL(kind), sql.SQL(" not null" if not_null else ""))
                   for name, kind, not_null in columns]
    with psycopg.connect(database_url) as conn:
        conn.execute(sql.SQL("create table {} ({}, check (_file_id = {}), check (_source_row_number >= {}))").format(
            half, sql.SQL(", ").join(definitions), sql.Literal(file_id), sql.Literal(split_at)))
        _set_lineage_defaults(conn, half, defaults)
        with conn.cursor() as cur:
            _copy_binary(cur, half, frame)
        conn.commit()

def attach_second_half(conn: psycopg.Connection, schema: str, table: str, file_id: int, split_at: int) -> None:
    conn.execute(sql.SQL("alter table {} attach partition {} for values from ({}) to (maxvalue)").format(
        file_partition(schema, table, file_id), file_partition(schema, table, file_id, "_b"),
        sql.Literal(split_at)))

def drop_orphaned_halves(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    """Drop second halves whose load never committed (crashed or failed after writing them)."""
    dropped = []
    candidates = conn.execute(
        """select c.relname, substring(c.relname from '__file_([0-9]+)_b$')::bigint
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = %s and c.relkind = 'r' and not c.relispartition
              and c.relname ~ ('^' || %s || '__file_[0-9]+_b$')""", (schema, table)).fetchall()
    for name, file_id in candidates:
        if conn.execute(f"select pg_try_advisory_xact_lock({FILE_LOCK_KEY})", (file_id,)).fetchone()[0]:
            conn.execute(sql.SQL("drop table {}").format(sql.Identifier(schema, name)))
            dropped.append(name)
    return dropped

def _table_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str, bool]]:
    return conn.execute(
        """select attname, format_type(atttypid, atttypmod), attnotnull from pg_attribute
            where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum""",
        (f"{schema}.{table}",)).fetchall()

def period_of(path: Path, contract: Contract) -> str | None:
    match = re.search(contract.file.period_regex, path.name)
    return match.group("period") if match else None

def _copy_frame(cur: psycopg.Cursor, table: sql.Composable, frame: pd.DataFrame) -> None:
    """COPY a frame as CSV; Arrow's writer is ~15x faster than pandas.to_csv at 1M rows."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    buffer = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer,
                    pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    data = buffer.getbuffer()
    with cur.copy(sql.SQL("copy {} ({}) from stdin with (format csv)").format(table, cols)) as copy:
        for start in range(0, len(data), 1 << 20):
            copy.write(data[start:start + (1 << 20)])

def _copy_binary(cur: psycopg.Cursor, table: sql.Composable, frame: pd.DataFrame) -> None:
    """COPY a frame in PostgreSQL's binary format (pgpq encodes Arrow columns natively):
    the server skips CSV parsing, ~30% less of its time than the CSV COPY at 1M rows."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    # Categoricals go back to text batch by batch (Arrow, outside the GIL), so the server starts
    # on the first rows at once instead of waiting for whole text columns to be built.
    schema = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in arrow.schema])
    encoder = pgpq.ArrowToPostgresBinaryEncoder(schema)
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    with cur.copy(sql.SQL("copy {} ({}) from stdin with (format binary)").format(table, cols)) as copy:
        copy.write(encoder.write_header())
        for batch in arrow.to_batches(max_chunksize=1 << 16):
            copy.write(encoder.write_batch(pa.RecordBatch.from_arrays(
                [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in batch.columns],
                schema=schema)))
        copy.write(encoder.finish())

PERIOD_FORMAT = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

def period_problem(period: str, delivered: datetime) -> str | None:
    """Why a file name's period cannot be the month it reports on, or None."""
    if not PERIOD_FORMAT.fullmatch(period):
        return "is not a month (YYYY-MM with a month from 01 to 12)"
    if period > delivered.strftime("%Y-%m"):
        return f"is after the month the file was delivered ({delivered.strftime('%Y-%m')})"
    return None

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
            file_id, is_current, status, partner_id, feed, earlier_period = earlier
            result.duplicate_of = file_id
            superseded = (status in ("loaded", "loaded_with_quarantine") and not is_current
                          and (partner_id, feed, earlier_period) == (contract.partner.id, contract.feed, period))
            if superseded:  # an earlier version sent again: it becomes the current one again
                result.status = "reinstated"
                result.supersedes_file_id = _make_current(conn, contract, file_id, period)
            else:
                result.status = "duplicate"
            result.file_id = _insert_manifest(conn, result, contract, landed, archive_path, run_label)
            refresh_dq_history(conn, contract.partner.id, contract.feed, period)
            conn.commit()
            return result

        rejection: FileRejected | None = None
        rows = prepared = None
        if problem:
            rejection = FileRejected("period_invalid",
                                     f"{path.name}: the period {named_period} in the file name {problem}")
        elif period is None:
            rejection = FileRejected(
                "file_name_mismatch",
                f"{path.name}: cannot find the period (YYYY-MM) in the file name; "
                f"expected a name like {contract.file.pattern}",
            )
        else:
            try:
                rows = read_rows(landed, contract)
                prepared = prepare(rows.frame, contract)
            except FileRejected as exc:
                rejection = _explain_wrong_feed(exc, contract, siblings or [], path)

        if rejection is not None:
            result.status = "rejected"
            where = "".join([f" row {rejection.row}" if rejection.row else "",
                             f" column {rejection.column}" if rejection.column else ""])
            text = rejection.message if rejection.message.startswith(path.name) else f"{path.name}: {rejection.message}"
            where = f" ({where.strip()})" if where else ""
            result.errors = [FileIssue(rejection.rule_id, rejection.column, rejection.row,
                                       f"{text}{where} [rule {rejection.rule_id}]", "reject_file")]
            result.file_id = _insert_manifest(conn, result, contract, landed, archive_path, run_label,
                                              rejection=rejection)
            _insert_issues(conn, result.file_id, pd.DataFrame([{
                ROW: rejection.row, "record_id": None, "column_name": rejection.column,
                "rule_id": rejection.rule_id, "severity": "reject_file", "message": result.errors[0].message,
            }]))
            refresh_dq_history(conn, contract.partner.id, contract.feed, result.period)
            conn.commit()
            return result

        _load(conn, result, contract, landed, archive_path, rows, prepared,
              load_suite(contract, expectations_dir), libpq_url(database_url), run_label)
        refresh_dq_history(conn, contract.partner.id, contract.feed, result.period)
        conn.commit()
    return result

def _make_current(conn: psycopg.Connection, contract: Contract, file_id: int, period: str | None) -> int | None:
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
        replaced = _make_current(conn, contract, file_id, period)
        status = "loaded_with_quarantine" if quarantined else "loaded"
        conn.execute("""update ingest.file_manifest set status = %s, confirmed_at = now(), supersedes_file_id = %s
                         where file_id = %s""", (status, replaced, file_id))
        refresh_dq_history(conn, partner_id, feed, period)
    return IngestResult(file=name, sha256="", partner=partner_id, feed=feed, status=status, file_id=file_id,
                        period=period, supersedes_file_id=replaced)

def refresh_dq_history(conn, partner_id: str, feed: str, period: str | None) -> None:
    """Recompute one partner/feed/month row of the scorecard from the manifest and issues."""
    if period is None:
        return
    conn.execute(
        """
        insert into ingest.dq_history as h
            (partner_id, feed, period, files_received, files_rejected, duplicate_files, late_files,
             rows_in, rows_loaded, rows_quarantined, duplicate_rows, row_rejection_rate,
             key_field_completeness, last_received_at, refreshed_at)
        select m.partner_id, m.feed, m.period,
               count(*),
               count(*) filter (where m.status = 'rejected'),
               count(*) filter (where m.status = 'duplicate'),
               count(*) filter (where m.is_late),
               coalesce(sum(m.rows_in) filter (where m.is_current), 0),
               coalesce(sum(m.rows_loaded) filter (where m.is_current), 0),
               coalesce(sum(m.rows_quarantined) filter (where m.is_current), 0),
               (select count(*) from ingest.file_issues i
                  join ingest.file_manifest c on c.file_id = i.file_id and c.is_current
                 where c.partner_id = m.partner_id and c.feed = m.feed and c.period = m.period
                   and i.rule_id = 'duplicate_row'),
               sum(m.rows_quarantined) filter (where m.is_current)::numeric
                   / nullif(sum(m.rows_in) filter (where m.is_current), 0),
               avg(m.key_field_completeness) filter (where m.is_current),
               max(m.received_at),
               now()
          from ingest.file_manifest m
         where m.partner_id = %s and m.feed = %s and m.period = %s
         group by m.partner_id, m.feed, m.period
        on conflict (partner_id, feed, period) do update set
            files_received = excluded.files_received, files_rejected = excluded.files_rejected,
            duplicate_files = excluded.duplicate_files, late_files = excluded.late_files,
            rows_in = excluded.rows_in, rows_loaded = excluded.rows_loaded,
            rows_quarantined = excluded.rows_quarantined, duplicate_rows = excluded.duplicate_rows,
            row_rejection_rate = excluded.row_rejection_rate,
            key_field_completeness = excluded.key_field_completeness,
            last_received_at = excluded.last_received_at, refreshed_at = excluded.refreshed_at
        """,
        (partner_id, feed, period),
    )

def landing_targets(contract: Contract) -> list[tuple[str, list[str]]]:
    """(schema, columns) pairs a feed loads into: raw without identifiers, identity with only them."""
    identifiers = [c.name for c in contract.columns if c.privacy == "direct_identifier"]
    attributes = [c for c in contract.column_names if c not in identifiers] + token_column_names(contract)
    return [("raw", attributes)] + ([("identity", identifiers)] if identifiers else [])

def ensure_feed_tables(conn: psycopg.Connection, contract: Contract) -> None:
    targets = landing_targets(contract)
    for schema, columns in targets:
        ensure_landing_table(conn, schema, contract.target_table, columns)
    if len(targets) > 1:  # raw rows point to their identity row
        conn.execute(sql.SQL("alter table {} add column if not exists _identity_row_number integer").format(
            sql.Identifier("raw", contract.target_table)))

FIRST_NAME_COLUMNS = ("first_name", "forename")
LAST_NAME_COLUMNS = ("last_name", "surname")

def pseudonym_columns(frame: pd.DataFrame, contract: Contract,
                      distinct: dict[str, DistinctColumn] | None = None, categorical: bool = False) -> pd.DataFrame:
    """Keyed tokens that stand in for identifiers outside the identity schema.

    ``<column>_token`` for every NHS / National Insurance number column, and
    ``name_dob_token`` when the feed has first name, last name and date of birth.
    One HMAC per distinct value (or name + date-of-birth combination), spread to the rows;
    ``distinct`` passes the columns already factorised by checks.prepare. ``categorical``
    returns pandas categoricals (no per-row copy of a 64-character token; the loader's
    Arrow writer turns them back into text).
    """
    def column(name: str) -> DistinctColumn:
        return distinct[name] if distinct and name in distinct else DistinctColumn.of(frame[name])

    def spread(values: DistinctColumn, made: pd.Series) -> pd.Series:
        return values.as_categorical(made) if categorical else values.expand(made)

    out = {}
    for spec in contract.columns:
        for kind in ("nhs_number", "ni_number"):
            if kind in spec.rules:
                values = column(spec.name)
                out[f"{spec.name}_token"] = spread(values, tokens(kind, values.values))
    name_parts = _name_dob_columns(contract)
    if name_parts:
        parts = [column(c) for c in (*name_parts, "date_of_birth")]
        combination = distinct_combinations(parts)
        first_rows = combination.values.to_numpy()
        first, last, dob = (part.values.take(part.codes[first_rows]).reset_index(drop=True) for part in parts)
        key = normalise_name(first) + "|" + normalise_name(last) + "|" + dob
        out["name_dob_token"] = spread(combination, tokens("name_dob", key))
    result = pd.DataFrame(out) if out else pd.DataFrame(index=pd.RangeIndex(len(frame)))
    result.index = frame.index
    return result

def _name_dob_columns(contract: Contract) -> tuple[str, str] | None:
    names = contract.column_names
    first = next((c for c in FIRST_NAME_COLUMNS if c in names), None)
    last = next((c for c in LAST_NAME_COLUMNS if c in names), None)
    return (first, last) if first and last and "date_of_birth" in names else None

def token_column_names(contract: Contract) -> list[str]:
    cols = [f"{c.name}_token" for c in contract.columns if {"nhs_number", "ni_number"} & set(c.rules)]
    return cols + (["name_dob_token"] if _name_dob_columns(contract) else [])

def _earliest_dates(conn: psycopg.Connection, partner_id: str):
    """Lookup for cross-feed date rules: earliest current date per record id in raw.<table>."""

    def lookup(table: str, column: str, ids: list[str]) -> pd.Series:
        exists = conn.execute("select to_regclass(%s)", (f"raw.{table}",)).fetchone()[0]
        if not exists or not ids:
            return pd.Series(dtype="object")
        rows = conn.execute(
            sql.SQL("select referral_id, min({col}) from {tbl} where _partner_id = %s and _is_current"
                    " and referral_id = any(%s) and {col} is not null group by 1").format(
                col=sql.Identifier(column), tbl=sql.Identifier("raw", table)),
            (partner_id, ids),
        ).fetchall()
        return pd.Series(dict(rows), dtype="object")

    return lookup

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

# When the platform started judging deliveries: the setting, else its first ingest run, else now.
WATCHED_FROM = ("coalesce(%s::timestamptz, (select min(processed_at) from ingest.file_manifest), now())")


def _insert_manifest(conn, result: IngestResult, contract: Contract, landed: LandedFile, archive_path: Path,
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

def _insert_issues(conn, file_id: int, issues: pd.DataFrame) -> None:
    if issues.empty:
        return
    frame = issues.rename(columns={ROW: "source_row"})[
        ["source_row", "record_id", "column_name", "rule_id", "severity", "message"]
    ].copy()
    frame.insert(0, "file_id", file_id)
    frame["source_row"] = frame["source_row"].astype("Int64")
    with conn.cursor() as cur:
        _copy_frame(cur, sql.Identifier("ingest", "file_issues"), frame)

def _load(conn, result: IngestResult, contract: Contract, landed: LandedFile, archive_path: Path,
          rows_read: LandedRows, prepared: PreparedFrame, suite, database_url: str, run_label: str | None) -> None:
    """Write the file's rows and validate them at the same time, then take out what failed.

    The bulk write (server-bound) runs in a thread while the checks (CPU-bound, in this
    process) run, so the two cores both work. Both happen inside the file's single
    transaction: rows that fail a quarantine rule are deleted from the new partitions
    before commit, so nothing unchecked is ever visible and a crash leaves nothing.
    """
    data = prepared.data
    path = landed.path
    bad = rows_read.bad_rows
    unreadable = bad.loc[~bad[ROW].isin(data[ROW])]  # rows the reader could not split into cells
    result.status = "loaded"  # provisional, inside the transaction; final status set below
    file_id = _insert_manifest(conn, result, contract, landed, archive_path, run_label)
    result.file_id = file_id
    previous = conn.execute(
        """select file_id, version, rows_in from ingest.file_manifest
           where partner_id = %s and feed = %s and period = %s and is_current""",
        (contract.partner.id, contract.feed, result.period),
    ).fetchone()
    targets = landing_targets(contract)
    # A re-send far smaller than the month it would replace (a truncated or header-only export)
    # is loaded but held, not current, until someone confirms it: it never silently erases a month.
    rows_now = len(data) + unreadable[ROW].nunique()
    held = bool(previous) and previous[2] > 0 and rows_now < contract.file.min_resend_fraction * previous[2]
    if previous and not held:
        result.supersedes_file_id = previous[0]
        conn.execute("update ingest.file_manifest set is_current = false where file_id = %s", (previous[0],))
        for schema, _ in targets:
            conn.execute(
                sql.SQL("update {} set _is_current = false where _file_id = %s").format(
                    sql.Identifier(schema, contract.target_table)),
                (previous[0],),
            )
    result.version = (previous[1] if previous else 0) + 1

    # Direct identifiers never enter raw: they go to the restricted identity schema, once per
    # distinct combination in the file; each raw row names the row whose identity record it shares.
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
                  for schema, columns in targets}
    raw_columns = _table_columns(conn, "raw", table) if halves else []
    identity_columns = partitions["identity"][2] if "identity" in partitions else []
    people = distinct_combinations([prepared.columns[c] for c in identity_columns]) if identity_columns else None
    holders = people.values.to_numpy() if people is not None else None  # first row of each combination

    def write(schema: str, frame: pd.DataFrame, after: Future | None = None) -> None:
        if after is not None:  # one COPY at a time on this connection
            after.result()
        with conn.cursor() as cur:
            _copy_binary(cur, partitions[schema][1], frame)

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

    issues = checked.issues
    if len(bad):
        issues = pd.concat([issues, bad_row_issues(bad, contract)], ignore_index=True)
    if contract.cross_feed_order:
        extra = cross_feed_order_issues(prepared, contract, _earliest_dates(conn, contract.partner.id))
        if extra is not None:
            issues = pd.concat([issues, extra], ignore_index=True)
    if contract.record_id_column:
        record_ids = data.set_index(ROW)[contract.record_id_column]
        issues = issues.assign(record_id=issues[ROW].map(record_ids).astype("object"))
    else:
        issues = issues.assign(record_id=None)
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
                  f"{path.name} row {int(r[ROW])} column {r['column_name']}: {r['message']} [rule {r['rule_id']}]",
                  r["severity"], r["record_id"])
        for r in issues.to_dict("records")
    ]
    filled = {c: int(data[c].notna().sum()) for c in contract.column_names}
    scored = contract.scored_fields
    completeness = sum(filled[c] for c in scored) / (len(scored) * len(data)) if scored and len(data) else None

    if quarantined_rows and is_quarantined.any():
        conn.execute(sql.SQL("delete from {} where _source_row_number = any(%s)").format(partitions["raw"][0]),
                     ([int(r) for r in quarantined_rows],))
        if people is not None:  # identity rows no loaded row refers to any more
            still_held = np.zeros(len(holders), dtype=bool)
            still_held[people.codes[~is_quarantined.to_numpy()]] = True
            orphans = row_numbers[holders[~still_held]]
            if len(orphans):
                conn.execute(sql.SQL("delete from {} where _source_row_number = any(%s)").format(
                    partitions["identity"][0]), ([int(r) for r in orphans],))
        # Kept whole (identifiers included) for the partner to correct: restricted schema.
        bad = data.loc[is_quarantined]
        records = bad[contract.column_names].to_json(orient="records", lines=True).splitlines()
        quarantine = pd.DataFrame({
            "file_id": file_id, "source_row": bad[ROW].to_numpy(), "partner_id": contract.partner.id,
            "feed": contract.feed, "record": records,
        })
        with conn.cursor() as cur:
            _copy_frame(cur, sql.Identifier("identity", "quarantined_rows"), quarantine)
    if len(unreadable_rows):
        # No cells to name: the line as received, for the partner to correct (restricted schema).
        quarantine = pd.DataFrame({
            "file_id": file_id, "source_row": unreadable_rows[ROW].to_numpy(), "partner_id": contract.partner.id,
            "feed": contract.feed,
            "record": [json.dumps({"_unreadable_row": raw}) for raw in unreadable_rows["raw"]],
        })
        with conn.cursor() as cur:
            _copy_frame(cur, sql.Identifier("identity", "quarantined_rows"), quarantine)
    _insert_issues(conn, file_id, issues)
    conn.execute(
        """update ingest.file_manifest
              set status = %s, rows_in = %s, rows_loaded = %s, rows_quarantined = %s, rows_warned = %s,
                  version = %s, is_current = %s, supersedes_file_id = %s,
                  key_field_completeness = %s, column_filled = %s, blank_rows = %s
            where file_id = %s""",
        (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined, result.rows_warned,
         result.version, not held, result.supersedes_file_id, completeness, Jsonb(filled), result.blank_rows,
         file_id),
    )
