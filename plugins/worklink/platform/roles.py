"""Database roles and the schema boundaries they enforce.

| role                 | may read                          | may write                      |
|----------------------|-----------------------------------|--------------------------------|
| worklink_loader      | ingest, raw, identity, linkage    | ingest, raw, identity, linkage |
| worklink_evaluator   | analytics, published              | nothing                        |
| worklink_public      | published                         | nothing                        |

Nobody but the loader and the owner can use ``identity`` (direct identifiers) or
``raw``/``ingest``/``staging``.

Roles are cluster-wide, so their passwords belong to the server, not to one checkout: a role's
password is set when worklink creates the role and never again by a run, a test or a second
checkout on the same server. ``worklink db rotate-passwords`` changes them on purpose. The
password a checkout uses comes from ``WORKLINK_<ROLE>_PASSWORD`` or from
``.worklink/secrets/roles.json`` (600 in a 700 folder), written when this checkout created the
role or rotated it.
"""

from __future__ import annotations

import fcntl
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from worklink.platform.private_files import private_dir, write_private_text
from worklink.settings import load_settings

LOADER, EVALUATOR, PUBLIC = "worklink_loader", "worklink_evaluator", "worklink_public"
RESTRICTED_SCHEMAS = ("identity", "raw", "ingest", "staging", "intermediate", "linkage")
READABLE = {
    LOADER: ("ingest", "raw", "identity", "linkage"),
    EVALUATOR: ("analytics", "published"),
    PUBLIC: ("published",),
}
WRITABLE = {LOADER: ("ingest", "raw", "identity", "linkage")}
ALL_SCHEMAS = ("ingest", "raw", "identity", "linkage", "staging", "intermediate", "analytics", "published")


ROLES = (LOADER, EVALUATOR, PUBLIC)


class UnknownRolePassword(RuntimeError):
    """The role exists on the server but this checkout was never told its password."""


def _store_path():
    return load_settings().state_dir / "secrets" / "roles.json"


def _stored() -> dict[str, str]:
    path = _store_path()
    return json.loads(path.read_text()) if path.exists() else {}


def _store(role: str, password: str) -> None:
    stored = _stored()
    stored[role] = password
    write_private_text(_store_path(), json.dumps(stored, indent=2))


def role_password(role: str) -> str:
    """The password this checkout knows for ``role`` (environment first, then roles.json)."""
    env = load_settings().role_passwords.get(role)
    if env:
        return env
    stored = _stored()
    if role not in stored:
        raise UnknownRolePassword(
            f"the password of database role {role} is not known here: set {role.upper()}_PASSWORD, "
            f"or copy it into {_store_path()}, or run `worklink db rotate-passwords --role {role}`"
        )
    return stored[role]


@contextmanager
def _creating_roles() -> Iterator[None]:
    """Processes of one checkout create roles one at a time (a lock file beside roles.json), so the
    password stored is always the one the role was created with."""
    folder = private_dir(_store_path().parent)
    with open(folder / ".roles.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _new_password(role: str) -> str:
    return load_settings().role_passwords.get(role) or secrets.token_urlsafe(18)


def _create_role(conn: psycopg.Connection, role: str) -> None:
    if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
        return  # made by another process of this checkout while we waited for the lock
    password = _new_password(role)
    # Stored first: a role created with a password nobody kept would be unusable.
    if not load_settings().role_passwords.get(role):
        _store(role, password)
    try:
        with conn.transaction():
            conn.execute(sql.SQL("create role {} with login password {}").format(
                sql.Identifier(role), sql.Literal(password)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        # Another checkout on the same server created it at the same moment: the role is theirs,
        # with their password (`worklink db rotate-passwords` gives this checkout one).
        if not load_settings().role_passwords.get(role):
            stored = _stored()
            stored.pop(role, None)
            write_private_text(_store_path(), json.dumps(stored, indent=2))


def ensure_roles(conn: psycopg.Connection) -> None:
    """Create missing roles (cluster-wide) and apply this database's grants. Idempotent.

    A role that already exists keeps its password, whoever created it.
    """
    missing = [role for role in ROLES
               if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()]
    if missing:
        with _creating_roles():
            for role in missing:
                _create_role(conn, role)
    revoke_connect_on_other_databases(conn)
    database = conn.info.dbname
    for schema in ALL_SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(schema)))
    for role in (LOADER, EVALUATOR, PUBLIC):
        conn.execute(sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(database), sql.Identifier(role)))
        for schema in READABLE[role]:
            ident = sql.Identifier(schema), sql.Identifier(role)
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(*ident))
            conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(*ident))
            conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(*ident))
        for schema in WRITABLE.get(role, ()):
            ident = sql.Identifier(schema), sql.Identifier(role)
            conn.execute(sql.SQL("grant create on schema {} to {}").format(*ident))
            conn.execute(sql.SQL("grant insert, update on all tables in schema {} to {}").format(*ident))
            conn.execute(sql.SQL(
                "alter default privileges in schema {} grant insert, update on tables to {}").format(*ident))
            conn.execute(sql.SQL(
                "alter default privileges in schema {} grant usage on sequences to {}").format(*ident))
    ensure_access_audit(conn)


AUDITOR = "worklink_auditor"
AUDITED_SCHEMAS = ("identity", "restricted")


def ensure_access_audit(conn: psycopg.Connection) -> bool:
    """pgaudit's object audit of every read of ``identity`` and ``restricted``: the auditor role
    (no login) is granted SELECT on their tables, and pgaudit (``pgaudit.role``) logs each statement
    that touches a table that role could read. Returns False where pgaudit is not loaded (an external
    server without it: see docs/data-protection.md)."""
    loaded = "pgaudit" in (conn.execute("show shared_preload_libraries").fetchone()[0] or "")
    if not loaded:
        return False
    try:
        with conn.transaction():
            conn.execute("create extension if not exists pgaudit")
    except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
        pass  # created by a concurrent run
    except psycopg.errors.InsufficientPrivilege:
        pass  # an external server where the DBA creates extensions: object audit works without it
    if not conn.execute("select 1 from pg_roles where rolname = %s", (AUDITOR,)).fetchone():
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(AUDITOR)))
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass
    for schema in AUDITED_SCHEMAS:
        ident = sql.Identifier(schema), sql.Identifier(AUDITOR)
        conn.execute(sql.SQL("create schema if not exists {}").format(ident[0]))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(*ident))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(*ident))
        conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(*ident))
    return True


def revoke_connect_on_other_databases(conn: psycopg.Connection) -> None:
    """Only the owner may connect to ``postgres`` and Airflow's metadata database.

    PostgreSQL grants CONNECT on every new database to PUBLIC; the evaluator and public roles
    have no business in Airflow's metadata (connections, variables) or the maintenance database.
    """
    from sqlalchemy.engine import make_url

    from worklink.platform.database import airflow_metadata_url

    names = {"postgres", make_url(airflow_metadata_url()).database}
    # Only where PUBLIC still has CONNECT (a null ACL is the default, which grants it): the catalog
    # row is shared by the whole server, and two runs in other databases (advisory locks are per
    # database) updating it at once fail with "tuple concurrently updated"; that run retries.
    open_to_public = """select datname from pg_database
                         where datname = any(%s)
                           and (datacl is null or exists (select 1 from aclexplode(datacl) a
                                                           where a.grantee = 0 and a.privilege_type = 'CONNECT'))"""
    for attempt in range(5):
        names_open = [r[0] for r in conn.execute(open_to_public, (sorted(names),))]
        try:
            with conn.transaction():
                for name in names_open:
                    conn.execute(sql.SQL("revoke connect on database {} from public").format(sql.Identifier(name)))
            return
        except psycopg.errors.InternalError_:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def rotate_passwords(conn: psycopg.Connection, roles: tuple[str, ...] = ROLES) -> list[str]:
    """Give each role a new password on purpose (``worklink db rotate-passwords``); returns the roles
    changed. The new password is ``WORKLINK_<ROLE>_PASSWORD`` when set, else a random one kept in
    roles.json. Every other checkout or client of the server must then be given the new one."""
    changed = []
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role}; worklink's roles are {', '.join(ROLES)}")
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        password = _new_password(role)
        if not load_settings().role_passwords.get(role):
            _store(role, password)
        verb = "alter" if exists else "create"
        conn.execute(sql.SQL(verb + " role {} with login password {}").format(
            sql.Identifier(role), sql.Literal(password)))
        changed.append(role)
    return changed
