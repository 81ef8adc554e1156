"""Database roles keep their passwords; only `worklink db rotate-passwords` changes them; the evaluator
and public roles cannot connect to Airflow's metadata database or ``postgres``. Against the real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from worklink.platform.roles import EVALUATOR, LOADER, PUBLIC, ROLES

WORKLINK = str(Path(sys.executable).with_name("worklink"))


def password_hashes(admin_url: str) -> dict[str, str]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute("select rolname, rolpassword from pg_authid where rolname = any(%s)",
                            (list(ROLES),)).fetchall()
    return dict(rows)


def can_login(url: str, role: str, password: str, database: str | None = None) -> bool:
    target = make_url(url).set(username=role, password=password)
    if database:
        target = target.set(database=database)
    try:
        psycopg.connect(target.render_as_string(hide_password=False), connect_timeout=5).close()
        return True
    except psycopg.OperationalError:
        return False


@pytest.fixture
def known_passwords(session_db) -> dict[str, str]:
    """The passwords the session's setup made sure the server holds (tests/conftest.py)."""
    return {role: os.environ[f"{role.upper()}_PASSWORD"] for role in ROLES}


def test_ingestion_from_two_checkouts_leaves_every_role_password_unchanged(
        session_db, server_admin_url, known_passwords, tmp_path, monkeypatch):
    from worklink.ingest import prepare_warehouse

    before = password_hashes(server_admin_url)
    assert set(before) == set(ROLES) and all(before.values())
    for role in ROLES:  # the checkouts below know no password: nothing in their environment
        monkeypatch.delenv(f"{role.upper()}_PASSWORD")
    for checkout in ("checkout_a", "checkout_b"):
        monkeypatch.setenv("WORKLINK_STATE_DIR", str(tmp_path / checkout))
        prepare_warehouse(session_db)
        assert password_hashes(server_admin_url) == before, checkout
        assert not (tmp_path / checkout / "secrets" / "roles.json").exists()  # nothing invented
    for role, password in known_passwords.items():
        assert can_login(session_db, role, password), role


def test_rotate_passwords_changes_them_on_purpose_and_keeps_the_new_one(
        session_db, server_admin_url, known_passwords, tmp_path, monkeypatch):
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "WORKLINK_PUBLIC_PASSWORD"}
    env["WORKLINK_STATE_DIR"] = str(state)
    before = password_hashes(server_admin_url)
    try:
        proc = subprocess.run([WORKLINK, "db", "rotate-passwords", "--role", PUBLIC, "--yes"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        after = password_hashes(server_admin_url)
        assert after[PUBLIC] != before[PUBLIC]
        assert after[EVALUATOR] == before[EVALUATOR] and after[LOADER] == before[LOADER]
        stored = (state / "secrets" / "roles.json")
        assert oct(stored.stat().st_mode & 0o777) == "0o600"
        import json

        new = json.loads(stored.read_text())[PUBLIC]
        assert can_login(session_db, PUBLIC, new)
        assert not can_login(session_db, PUBLIC, known_passwords[PUBLIC])
        unknown = subprocess.run([WORKLINK, "db", "rotate-passwords", "--role", "postgres", "--yes"], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert unknown.returncode != 0 and "unknown role" in unknown.stderr
    finally:  # give the role back the password the rest of the session uses
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("alter role {} with password {}").format(
                psycopg.sql.Identifier(PUBLIC), psycopg.sql.Literal(known_passwords[PUBLIC])))


@pytest.mark.parametrize("role", [EVALUATOR, PUBLIC])
def test_evaluator_and_public_cannot_connect_to_airflow_or_postgres(session_db, server_admin_url,
                                                                    known_passwords, role):
    from worklink.ingest import prepare_warehouse

    prepare_warehouse(session_db)
    password = known_passwords[role]
    assert can_login(session_db, role, password)  # control: the password is right
    airflow_db = make_url(os.environ["WORKLINK_AIRFLOW_DATABASE_URL"]).database
    with psycopg.connect(server_admin_url) as conn:
        on_server = {r[0] for r in conn.execute("select datname from pg_database")}
    targets = {"postgres", airflow_db} | ({"airflow"} & on_server)
    for database in sorted(targets):
        target = make_url(session_db).set(username=role, password=password, database=database)
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(target.render_as_string(hide_password=False), connect_timeout=5).close()


def test_a_role_this_checkout_never_knew_gives_a_clear_error(tmp_path, monkeypatch):
    from worklink.platform.roles import UnknownRolePassword, role_password

    monkeypatch.setenv("WORKLINK_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("WORKLINK_EVALUATOR_PASSWORD", raising=False)
    with pytest.raises(UnknownRolePassword, match="rotate-passwords --role worklink_evaluator"):
        role_password(EVALUATOR)
