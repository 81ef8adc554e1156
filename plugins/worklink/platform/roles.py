"""Database roles and the schema boundaries they enforce.

| role                 | may read                          | may write                      |
|----------------------|-----------------------------------|--------------------------------|
| worklink_loader      | ingest, raw, identity, linkage    | ingest, raw, identity, linkage |
| worklink_evaluator   | analytics, published              | nothing                        |
| worklink_public      | published                         | nothing                        |

Nobody but the loader and the owner can use ``identity`` (direct identifiers) or
``raw``/``ingest``/``staging``. Passwords come from ``WORKLINK_<ROLE>_PASSWORD`` or are
generated into ``.worklink/secrets/roles.json`` (mode 600) for local use.
"""

from __future__ import annotations

import json
import os
import secrets

import psycopg
from psycopg import sql

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


def role_password(role: str) -> str:
    env = os.environ.get(f"{role.upper()}_PASSWORD")
    if env:
        return env
    path = load_settings().state_dir / "secrets" / "roles.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if role not in stored:
        stored[role] = secrets.token_urlsafe(18)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        os.chmod(path, 0o600)
    return stored[role]


def ensure_roles(conn: psycopg.Connection) -> None:
    """Create the roles (cluster-wide) and apply this database's grants. Idempotent."""
    for role in (LOADER, EVALUATOR, PUBLIC):
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        verb = "alter" if exists else "create"
        conn.execute(sql.SQL(verb + " role {} with login password {}").format(
            sql.Identifier(role), sql.Literal(role_password(role))))
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
