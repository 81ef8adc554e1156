"""Evaluator and public roles are refused the identity schema (and raw, linkage), by connecting as them."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from worklink.ingest import prepare_warehouse
from worklink.platform.roles import EVALUATOR, PUBLIC, role_password

RESTRICTED = ["identity", "raw", "linkage", "ingest"]


def connect_as(warehouse_url: str, role: str, password: str | None = None) -> psycopg.Connection:
    """Log in as ``role``. Role passwords are cluster-wide and other processes may reset them, so
    the grants and passwords are (re)applied just before, with a retry."""
    last = None
    for _ in range(3):
        prepare_warehouse(warehouse_url)
        url = make_url(warehouse_url).set(username=role, password=password or role_password(role))
        try:
            return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        except psycopg.OperationalError as exc:  # password changed by a concurrent process
            last = exc
            time.sleep(0.5)
    raise last


def tables_in(conn: psycopg.Connection, schema: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by 1", (schema,))]


@pytest.mark.parametrize("role", [EVALUATOR, PUBLIC])
def test_role_gets_permission_denied_on_the_vault(populated_warehouse, role):
    with psycopg.connect(populated_warehouse) as owner:
        identity_tables = tables_in(owner, "identity")
        other = {s: tables_in(owner, s) for s in RESTRICTED[1:]}
    assert "vcse_referrals" in identity_tables
    with connect_as(populated_warehouse, role) as conn:
        assert conn.execute("select current_user").fetchone()[0] == role
        for table in identity_tables:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(sql.SQL("select * from {} limit 1").format(sql.Identifier("identity", table)))
        for schema, tables in other.items():
            for table in tables[:3]:
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    conn.execute(sql.SQL("select * from {} limit 1").format(sql.Identifier(schema, table)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("create table identity.sneaky (x int)")


def test_evaluator_can_read_the_marts(populated_warehouse):
    """The positive control: the same login works where it should."""
    with psycopg.connect(populated_warehouse) as owner:
        marts = tables_in(owner, "analytics")
    if not marts:
        pytest.skip("no analytics tables built")
    with connect_as(populated_warehouse, EVALUATOR) as conn:
        conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("analytics", marts[0]))).fetchone()


def test_a_role_with_no_grants_is_refused_too(populated_warehouse):
    """Nothing reaches identity through PUBLIC: a brand-new login role gets no access."""
    name, password = f"worklink_probe_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(populated_warehouse, autocommit=True) as owner:
        owner.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(name), sql.Literal(password)))
        owner.execute(sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(owner.info.dbname), sql.Identifier(name)))
    try:
        url = make_url(populated_warehouse).set(username=name, password=password)
        with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute("select * from identity.vcse_referrals limit 1")
    finally:
        with psycopg.connect(populated_warehouse, autocommit=True) as owner:
            owner.execute(sql.SQL("revoke all on database {} from {}").format(
                sql.Identifier(owner.info.dbname), sql.Identifier(name)))
            owner.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))
