"""The warehouse's tables for ingestion: platform tables, roles, and each feed's landing tables."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from worklink.contracts import Contract
from worklink.identity.columns import landing_targets
from worklink.platform.database import libpq_url

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

def ensure_feed_tables(conn: psycopg.Connection, contract: Contract) -> None:
    targets = landing_targets(contract)
    for schema, columns in targets:
        ensure_landing_table(conn, schema, contract.target_table, columns)
    if len(targets) > 1:  # raw rows point to their identity row
        conn.execute(sql.SQL("alter table {} add column if not exists _identity_row_number integer").format(
            sql.Identifier("raw", contract.target_table)))

def table_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str, bool]]:
    return conn.execute(
        """select attname, format_type(atttypid, atttypmod), attnotnull from pg_attribute
            where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum""",
        (f"{schema}.{table}",)).fetchall()
