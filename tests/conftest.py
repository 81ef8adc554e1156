"""Shared fixtures: a real PostgreSQL (the embedded server, or WORKLINK_DATABASE_URL) with a
fresh database per test session, and an isolated state folder for archives and Airflow."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from worklink.platform.database import ensure_database, libpq_url
from worklink.settings import load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def _admin_url() -> str:
    return libpq_url(ensure_database(load_settings()))


def _recreate(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_admin_url() -> str:
    """URL of a database on the real server with rights to create databases."""
    return _admin_url()


def _export_role_passwords(admin_url: str) -> None:
    """Roles are cluster-wide and keep their passwords, so the tests log in with the passwords of the
    checkout's own state (.worklink/secrets/roles.json), exported as WORKLINK_<ROLE>_PASSWORD before
    the session switches to a state folder of its own. A role whose password this checkout does not
    know (made by an older version) is given a new one, as `worklink db rotate-passwords` would."""
    from worklink.platform.roles import (
        ROLES,
        UnknownRolePassword,
        ensure_roles,
        role_password,
        rotate_passwords,
    )

    with psycopg.connect(admin_url, autocommit=True) as conn:
        ensure_roles(conn)
        for role in ROLES:
            try:
                password = role_password(role)
                login = make_url(admin_url).set(username=role, password=password)
                psycopg.connect(login.render_as_string(hide_password=False)).close()
            except (UnknownRolePassword, psycopg.OperationalError):
                rotate_passwords(conn, (role,))
            os.environ[f"{role.upper()}_PASSWORD"] = role_password(role)


@pytest.fixture(scope="session")
def session_db(server_admin_url, tmp_path_factory) -> str:
    """A fresh warehouse database for this test session, made the configured one."""
    _export_role_passwords(server_admin_url)
    suffix = uuid.uuid4().hex[:8]
    url = _recreate(server_admin_url, f"worklink_test_{suffix}")
    airflow_url = _recreate(server_admin_url, f"worklink_test_{suffix}_airflow")
    state = tmp_path_factory.mktemp("state")
    os.environ["WORKLINK_DATABASE_URL"] = url
    os.environ["WORKLINK_AIRFLOW_DATABASE_URL"] = airflow_url
    os.environ["WORKLINK_STATE_DIR"] = str(state)
    yield url
    for name in (f"worklink_test_{suffix}", f"worklink_test_{suffix}_airflow"):
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def module_db(session_db, server_admin_url):
    """A database of its own for a module that loads a whole programme year.

    Periods and file names repeat between generated samples, so two modules sharing a
    database would see each other's files as duplicates or resubmissions.
    """
    suffix = uuid.uuid4().hex[:8]
    names = [f"worklink_test_{suffix}", f"worklink_test_{suffix}_airflow"]
    previous = {k: os.environ[k] for k in ("WORKLINK_DATABASE_URL", "WORKLINK_AIRFLOW_DATABASE_URL")}
    url = _recreate(server_admin_url, names[0])
    os.environ["WORKLINK_DATABASE_URL"] = url
    os.environ["WORKLINK_AIRFLOW_DATABASE_URL"] = _recreate(server_admin_url, names[1])
    yield url
    os.environ.update(previous)
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def db(session_db):
    """Autocommit connection to the database the code under test is using right now."""
    with psycopg.connect(os.environ["WORKLINK_DATABASE_URL"], autocommit=True) as conn:
        yield conn
