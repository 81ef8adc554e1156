"""One partition per received file, and the two-connection write of a large file's raw rows."""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg import sql

from worklink.platform.copy import copy_binary


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
            copy_binary(cur, half, frame)
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
