"""The portal on a real PostgreSQL (the test session's database), with a landing folder of its own
and two partners' accounts: Moss Side Carers (CSV returns) and Ancoats Trust (workbooks)."""

from __future__ import annotations

import psycopg
import pytest
from portal_helpers import PARTNER, PASSWORD


@pytest.fixture(scope="module")
def portal_env(session_db, tmp_path_factory, monkeypatch_module):
    """Landing folder of its own; the portal's tables, two accounts; the failure table emptied."""
    landing = tmp_path_factory.mktemp("landing")
    monkeypatch_module.setenv("WORKLINK_LANDING_DIR", str(landing))
    from worklink.portal import accounts, store

    store.ensure_tables(session_db)
    with store.connect(session_db) as conn:
        conn.execute("delete from portal.accounts")
        for username, password in PASSWORD.items():
            accounts.add_user(conn, username, PARTNER[username], password)
    return landing


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(autouse=True)
def no_earlier_failures(session_db):
    with psycopg.connect(session_db, autocommit=True) as conn:
        if conn.execute("select to_regclass('portal.sign_in_failures')").fetchone()[0]:
            conn.execute("delete from portal.sign_in_failures")
