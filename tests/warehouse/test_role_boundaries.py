"""Role boundaries, proved by connecting to the real warehouse as each role.

| role               | may read                       | must not read                                         |
|--------------------|--------------------------------|-------------------------------------------------------|
| worklink_evaluator | analytics, published           | raw, identity, staging, intermediate, linkage,        |
|                    |                                | restricted (EDL list), reference                      |
| worklink_public    | published                      | everything else, analytics included                   |
| worklink_loader    | its loading schemas            | analytics, published, restricted                      |
Nobody but the owner writes to analytics or published.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.e2e

EVALUATOR, PUBLIC, LOADER = "worklink_evaluator", "worklink_public", "worklink_loader"
FORBIDDEN_FOR_EVERYONE = [
    "raw.vcse_referrals", "identity.vcse_referrals", "staging.stg_vcse__referrals",
    "intermediate.int_job_starts_evaluated", "linkage.participant_xref",
    "restricted.employment_data_lab_participants", "reference.national_living_wage_rates",
]


@pytest.fixture(scope="module")
def as_role(warehouse):
    """Connect as a role with its password (ensure_roles first, so the cluster holds this state's passwords)."""
    from worklink.platform.roles import ensure_roles, role_password

    with warehouse.connect() as owner:
        ensure_roles(owner)

    def connect(role: str) -> psycopg.Connection:
        url = make_url(warehouse.url).set(username=role, password=role_password(role))
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)

    return connect


def readable(conn: psycopg.Connection, table: str) -> bool:
    try:
        conn.execute(f"select * from {table} limit 1").fetchall()
        return True
    except errors.InsufficientPrivilege:
        return False


def tables_in(warehouse, schema: str) -> list[str]:
    with warehouse.connect() as conn:
        rows = conn.execute("select table_schema || '.' || table_name from information_schema.tables"
                            " where table_schema = %s order by 1", (schema,)).fetchall()
    return [r[0] for r in rows]


def test_the_marts_exist(warehouse):
    assert len(tables_in(warehouse, "analytics")) >= 15
    assert len(tables_in(warehouse, "published")) >= 10
    assert tables_in(warehouse, "restricted") == ["restricted.employment_data_lab_participants"]


def test_evaluator_reads_analytics_and_published(warehouse, as_role):
    with as_role(EVALUATOR) as conn:
        for table in tables_in(warehouse, "analytics") + tables_in(warehouse, "published"):
            assert readable(conn, table), table


def test_public_reads_published_only(warehouse, as_role):
    with as_role(PUBLIC) as conn:
        for table in tables_in(warehouse, "published"):
            assert readable(conn, table), table
        for table in tables_in(warehouse, "analytics"):
            assert not readable(conn, table), f"public can read {table}"


@pytest.mark.parametrize("role", [EVALUATOR, PUBLIC])
def test_restricted_and_upstream_schemas_are_closed(as_role, role):
    with as_role(role) as conn:
        for table in FORBIDDEN_FOR_EVERYONE:
            assert not readable(conn, table), f"{role} can read {table}"


def test_loader_cannot_read_marts(warehouse, as_role):
    with as_role(LOADER) as conn:
        for table in ["analytics.participants", "published.funnel_by_cohort_month",
                      "restricted.employment_data_lab_participants"]:
            assert not readable(conn, table), f"loader can read {table}"


@pytest.mark.parametrize("role", [EVALUATOR, PUBLIC])
def test_readers_cannot_write(as_role, role):
    with as_role(role) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("create table published.sneaky (x int)")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("delete from published.funnel_by_cohort_month")
        if role == EVALUATOR:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("update analytics.participants set sex = null")
