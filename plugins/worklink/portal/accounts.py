"""Partner accounts: argon2id password hashes (argon2-cffi, RFC 9106 parameters), sessions with a
CSRF token each, and the sign-in rate limit. Every function takes an open connection."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from worklink.portal.config import PortalConfig
from worklink.portal.store import token_digest

HASHER = PasswordHasher()
# Compared against when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
MIN_PASSWORD = 12


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Session:
    username: str
    partner_id: str
    csrf_token: str


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if username.lower() in password.lower():
        raise AccountError("the password must not contain the account name")


def add_user(conn, username: str, partner_id: str, password: str) -> None:
    if not USERNAME.fullmatch(username):
        raise AccountError("account names are 3-64 characters: lower-case letters, digits and . _ @ -")
    check_new_password(password, username)
    inserted = conn.execute(
        "insert into portal.accounts (username, partner_id, password_hash) values (%s, %s, %s) "
        "on conflict do nothing returning username", (username, partner_id, HASHER.hash(password))).fetchone()
    if inserted is None:
        raise AccountError(f"account {username} already exists (change its password with `worklink portal user passwd`)")


def set_password(conn, username: str, password: str) -> None:
    check_new_password(password, username)
    changed = conn.execute(
        "update portal.accounts set password_hash = %s, password_changed_at = now() where username = %s "
        "returning username", (HASHER.hash(password), username)).fetchone()
    if changed is None:
        raise AccountError(f"no account {username}")
    conn.execute("delete from portal.sessions where username = %s", (username,))  # signed out everywhere


def remove_user(conn, username: str) -> None:
    if conn.execute("delete from portal.accounts where username = %s returning username", (username,)).fetchone() is None:
        raise AccountError(f"no account {username}")


def list_users(conn) -> list[dict]:
    return conn.execute("select username, partner_id, created_at, password_changed_at, last_sign_in_at "
                        "from portal.accounts order by partner_id, username").fetchall()


def sign_in_refused(conn, username: str, client: str, config: PortalConfig) -> bool:
    """True when this account name or this client failed too often within the window."""
    row = conn.execute(
        """select count(*) filter (where username = %(u)s) as by_name, count(*) filter (where client = %(c)s) as by_client
             from portal.sign_in_failures
            where failed_at > now() - make_interval(mins => %(w)s) and (username = %(u)s or client = %(c)s)""",
        {"u": username, "c": client, "w": config.sign_in_window_minutes}).fetchone()
    return (row["by_name"] >= config.sign_in_failures_per_account
            or row["by_client"] >= config.sign_in_failures_per_client)


def authenticate(conn, username: str, password: str, client: str) -> str | None:
    """The account's partner when the password is right; a failure is recorded for the rate limit."""
    row = conn.execute("select partner_id, password_hash from portal.accounts where username = %s",
                       (username,)).fetchone()
    try:
        HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
        ok = row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        conn.execute("insert into portal.sign_in_failures (username, client) values (%s, %s)",
                     (username[:64], client[:64]))
        conn.execute("delete from portal.sign_in_failures where failed_at < now() - interval '1 day'")
        return None
    if HASHER.check_needs_rehash(row["password_hash"]):
        conn.execute("update portal.accounts set password_hash = %s where username = %s",
                     (HASHER.hash(password), username))
    conn.execute("delete from portal.sign_in_failures where username = %s", (username,))
    conn.execute("update portal.accounts set last_sign_in_at = now() where username = %s", (username,))
    return row["partner_id"]


def open_session(conn, username: str, partner_id: str) -> str:
    """A new session; returns the cookie's token (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    conn.execute("insert into portal.sessions (token_sha256, username, partner_id, csrf_token) values (%s, %s, %s, %s)",
                 (token_digest(token), username, partner_id, secrets.token_urlsafe(32)))
    return token


def find_session(conn, token: str | None, config: PortalConfig) -> Session | None:
    """The live session for a cookie's token (idle and absolute limits applied), touched."""
    if not token:
        return None
    row = conn.execute(
        """update portal.sessions s set last_seen_at = now()
             from portal.accounts a
            where s.token_sha256 = %s and a.username = s.username and a.partner_id = s.partner_id
              and s.last_seen_at > now() - make_interval(mins => %s)
              and s.created_at > now() - make_interval(hours => %s)
        returning s.username, s.partner_id, s.csrf_token""",
        (token_digest(token), config.session_idle_minutes, config.session_max_hours)).fetchone()
    return Session(**row) if row else None


def close_session(conn, token: str | None) -> None:
    if token:
        conn.execute("delete from portal.sessions where token_sha256 = %s", (token_digest(token),))
    conn.execute("delete from portal.sessions where last_seen_at < now() - interval '1 day'")
