"""The CLI keeps passwords off command lines, says "database unreachable" in one line, and the
embedded server commits synchronously."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

WORKLINK = str(Path(sys.executable).with_name("worklink"))


def test_a_dead_database_url_gives_one_line_and_no_password(tmp_path):
    # Port 1 on this machine: nothing listens there, so the connection is refused at once.
    dead = "postgresql://someone:Hunter2Secret@127.0.0.1:1/nowhere"
    env = {**os.environ, "WORKLINK_DATABASE_URL": dead, "WORKLINK_STATE_DIR": str(tmp_path)}
    env.pop("WORKLINK_AIRFLOW_DATABASE_URL", None)
    for args in (["ingest", str(tmp_path)], ["link"], ["db", "reset", "--yes"]):
        proc = subprocess.run([WORKLINK, *args], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("==> ")]
        assert len(lines) == 1, (args, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr and "Hunter2Secret" not in proc.stderr + proc.stdout
        assert lines[0].startswith("Error: cannot connect to WORKLINK_DATABASE_URL (127.0.0.1:1/nowhere)"), lines


def test_a_role_password_this_checkout_does_not_know_is_one_line(session_db, tmp_path):
    env = {**os.environ, "WORKLINK_STATE_DIR": str(tmp_path)}
    env.pop("WORKLINK_EVALUATOR_PASSWORD")
    proc = subprocess.run([WORKLINK, "psql", "--role", "worklink_evaluator", "-c", "select 1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "Error: the password of database role worklink_evaluator is not known here: set WORKLINK_EVALUATOR_PASSWORD, "
        f"or copy it into {tmp_path / 'secrets' / 'roles.json'}, or run "
        "`worklink db rotate-passwords --role worklink_evaluator`"]


def test_psql_runs_with_the_password_in_its_environment_only(session_db):
    password = make_url(session_db).password
    assert password
    proc = subprocess.Popen([WORKLINK, "psql", "-tAc", "select current_user, pg_sleep(3)"],
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:  # worklink execs psql: same pid
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        seen.append(cmdline)
        if Path(cmdline[0].decode()).name == "psql":
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip().startswith(make_url(session_db).username + "|")
    psql_cmdlines = [c for c in seen if Path(c[0].decode()).name == "psql"]
    assert psql_cmdlines, "never saw the psql process"
    assert all(password.encode() not in b" ".join(c) for c in seen)


def test_psql_as_evaluator_is_refused_the_vault(session_db):
    from worklink.ingest import prepare_warehouse

    prepare_warehouse(session_db)
    proc = subprocess.run([WORKLINK, "psql", "--role", "worklink_evaluator", "-tAc",
                           "select count(*) from ingest.file_manifest"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "permission denied for schema ingest" in proc.stderr


def test_db_url_for_the_evaluator_is_read_only(session_db):
    """`worklink db url --role evaluator`: the URL an evaluator is given reads the marts' schemas and
    can write nothing, not even a table of its own."""
    from worklink.ingest import prepare_warehouse

    prepare_warehouse(session_db)
    url = subprocess.run([WORKLINK, "db", "url", "--role", "evaluator"], capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    assert make_url(url).username == "worklink_evaluator"
    read = subprocess.run(["psql", url, "-tAc", "select has_schema_privilege('analytics', 'usage')"],
                          capture_output=True, text=True, timeout=60)
    assert read.stdout.strip() == "t", read.stderr
    write = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-c", "create table analytics.mine (x int)"],
                           capture_output=True, text=True, timeout=60)
    assert write.returncode != 0 and "permission denied" in write.stderr


def test_db_url_without_password_and_pgpass_file(session_db, tmp_path, monkeypatch):
    env = {**os.environ, "WORKLINK_STATE_DIR": str(tmp_path)}
    url = subprocess.run([WORKLINK, "db", "url", "--no-password"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert make_url(url).password is None and make_url(url).database == make_url(session_db).database
    line = subprocess.run([WORKLINK, "db", "pgpass"], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    pgpass = tmp_path / "secrets" / "pgpass"
    assert line == f"export PGPASSFILE={pgpass}"
    assert oct(pgpass.stat().st_mode & 0o777) == "0o600" and oct(pgpass.parent.stat().st_mode & 0o777) == "0o700"
    psql = subprocess.run(["psql", url, "-w", "-tAc", "select 7*6"], env={**env, "PGPASSFILE": str(pgpass)},
                          capture_output=True, text=True, timeout=60)
    assert psql.returncode == 0 and psql.stdout.strip() == "42", psql.stderr


def test_embedded_server_commits_synchronously(server_admin_url):
    with psycopg.connect(server_admin_url) as conn:
        rows = dict(conn.execute("select name, setting from pg_settings"
                                 " where name in ('synchronous_commit', 'fsync', 'full_page_writes')").fetchall())
        sourcefile = conn.execute("select sourcefile from pg_settings where name = 'shared_buffers'").fetchone()[0] or ""
    if not sourcefile.endswith("/pg/data/postgresql.conf"):
        pytest.skip("not worklink's embedded server: its durability settings are its operator's")
    assert rows == {"synchronous_commit": "on", "fsync": "on", "full_page_writes": "on"}


def test_an_older_cluster_conf_is_upgraded_to_synchronous_commit(tmp_path):
    from worklink.platform.embedded_postgres import _SERVER_CONF, EmbeddedPostgres

    server = EmbeddedPostgres(root=tmp_path / "pg", preferred_port=None, secrets_dir=tmp_path / "secrets")
    server.data_dir.mkdir(parents=True)
    conf = server.data_dir / "postgresql.conf"
    old = _SERVER_CONF.format(port=5, socket_dir="/x").replace("synchronous_commit = on", "synchronous_commit = off")
    conf.write_text("#synchronous_commit = on\t\t# synchronization level;\n" + old)
    server._upgrade_conf()
    server._upgrade_conf()  # twice: appended once
    settings = [line for line in conf.read_text().splitlines() if line.startswith("synchronous_commit")]
    assert settings == ["synchronous_commit = off", "synchronous_commit = on"]  # the last one wins
