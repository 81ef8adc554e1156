"""`worklink portal user add|passwd|remove|list` on the real database."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner
from portal_helpers import csrf_of, make_client
from worklink.cli import main


def run(*args: str, password: str | None = None):
    return CliRunner().invoke(main, ["portal", "user", *args], input=None if password is None else password + "\n")


def test_account_lifecycle(portal_env, session_db):
    added = run("add", "Wythenshawe.Data", "--partner", "wythenshawe_wellbeing", "--password-stdin",
                password="first-password-42")
    assert added.exit_code == 0, added.output
    assert "wythenshawe.data created for wythenshawe_wellbeing" in added.output  # names are kept lower-case
    listed = run("list")
    assert "wythenshawe.data" in listed.output and "wythenshawe_wellbeing" in listed.output and "never" in listed.output
    again = run("add", "wythenshawe.data", "--partner", "wythenshawe_wellbeing", "--password-stdin",
                password="another-password-42")
    assert again.exit_code != 0 and "already exists" in again.output

    with make_client(session_db) as client:
        assert sign_in_as(client, "wythenshawe.data", "first-password-42").status_code == 303
        assert client.get("/p/wythenshawe_wellbeing/").status_code == 200
        changed = run("passwd", "wythenshawe.data", "--password-stdin", password="second-password-42")
        assert changed.exit_code == 0, changed.output
        assert client.get("/p/wythenshawe_wellbeing/").status_code == 303  # signed out by the change
        assert sign_in_as(client, "wythenshawe.data", "first-password-42").status_code == 401
        assert sign_in_as(client, "wythenshawe.data", "second-password-42").status_code == 303
        assert run("remove", "wythenshawe.data").exit_code == 0
        assert client.get("/p/wythenshawe_wellbeing/").status_code == 303  # its session went with it
    with psycopg.connect(session_db) as conn:
        assert conn.execute("select count(*) from portal.sessions where username = 'wythenshawe.data'"
                            ).fetchone()[0] == 0
    assert run("remove", "wythenshawe.data").exit_code != 0


def test_weak_passwords_and_unknown_partners_are_refused(portal_env):
    short = run("add", "short.pw", "--partner", "ancoats_trust", "--password-stdin", password="elevenchars")
    assert short.exit_code != 0 and "at least 12" in short.output
    named = run("add", "ancoats.lead", "--partner", "ancoats_trust", "--password-stdin", password="ancoats.lead-2026")
    assert named.exit_code != 0 and "must not contain the account name" in named.output
    unknown = run("add", "some.one", "--partner", "not_a_partner", "--password-stdin", password="long-enough-pw")
    assert unknown.exit_code != 0 and "no partner" in unknown.output
    assert "short.pw" not in run("list").output


def sign_in_as(client, username, password):
    form = client.get("/sign-in")
    return client.post("/sign-in", data={"csrf": csrf_of(form.text), "username": username, "password": password})


@pytest.mark.parametrize("role", ["worklink_evaluator", "worklink_public"])
def test_evaluator_and_public_roles_cannot_read_accounts(portal_env, session_db, role):
    from sqlalchemy.engine import make_url
    from worklink.ingest import prepare_warehouse
    from worklink.platform.roles import role_password

    prepare_warehouse(session_db)  # the roles and their grants, as every load applies them
    url = make_url(session_db).set(username=role, password=role_password(role))
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select password_hash from portal.accounts")
