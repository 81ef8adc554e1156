"""The embedded PostgreSQL: reused when running, reachable by psql and SQLAlchemy, and runnable
both as root (as in CI, via an unprivileged server user) and as an ordinary user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKLINK = str(Path(sys.executable).with_name("worklink"))


def test_start_reuses_the_running_server_and_url_serves_psql_and_sqlalchemy():
    env = {k: v for k, v in os.environ.items() if k not in ("WORKLINK_DATABASE_URL", "WORKLINK_STATE_DIR")}
    first = subprocess.run([WORKLINK, "db", "start"], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([WORKLINK, "db", "start"], env=env, capture_output=True, text=True, check=True)
    assert "already running" in second.stdout, first.stdout + second.stdout
    url = subprocess.run([WORKLINK, "db", "url"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert url.startswith("postgresql://")
    psql = subprocess.run(["psql", url, "-tAc", "select current_database()"], capture_output=True, text=True)
    assert psql.returncode == 0 and psql.stdout.strip() == "worklink", psql.stderr
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar() == 1
    status = subprocess.run([WORKLINK, "db", "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 0 and "running" in status.stdout


SCRIPT = """
import sys
from pathlib import Path
from worklink.platform.embedded_postgres import EmbeddedPostgres
server = EmbeddedPostgres(root=Path(sys.argv[1]) / "pg", preferred_port=None, secrets_dir=Path(sys.argv[1]) / "secrets")
getattr(server, sys.argv[2])()
print(server.url() if sys.argv[2] == "start" else "stopped")
"""


def _as_ordinary_user(args: list[str], state: Path) -> subprocess.CompletedProcess:
    """Run our module as a non-root user: `nobody` with the system Python 3.11 when we are root."""
    paths = [str(REPO_ROOT / "plugins"), sysconfig.get_paths()["purelib"]]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "nobody", "--", "/usr/bin/python3.11", "-c",
                   f"import sys; sys.path[:0] = {paths!r}\n" + SCRIPT, str(state), *args]
    else:
        command = [sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}\n" + SCRIPT, str(state), *args]
    env = {"PATH": os.environ["PATH"], "HOME": str(state), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(os.geteuid() == 0 and not Path("/usr/bin/python3.11").exists(),
                    reason="needs Debian's python3.11 to run as an unprivileged user")
def test_an_ordinary_user_runs_its_own_server():
    state = Path(tempfile.mkdtemp(prefix="worklink-user-", dir="/tmp"))
    try:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(state, nobody.pw_uid, nobody.pw_gid)
        started = _as_ordinary_user(["start"], state)
        assert started.returncode == 0, started.stdout + started.stderr
        url = started.stdout.strip().splitlines()[-1]
        owner = subprocess.run(["stat", "-c", "%U", str(state / "pg" / "data")], capture_output=True, text=True)
        assert owner.stdout.strip() == ("nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name)
        psql = subprocess.run(["psql", url, "-tAc", "select current_user"], capture_output=True, text=True)
        assert psql.stdout.strip() == "worklink", psql.stderr
        again = _as_ordinary_user(["start"], state)
        assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == url
    finally:
        _as_ordinary_user(["stop"], state)
        shutil.rmtree(state, ignore_errors=True)


def test_three_processes_starting_a_new_server_at_once_share_one():
    """Parallel Airflow tasks (or test workers) may all find no server and start it: one initialises
    and starts it, the others wait on the lock and find it running; all get the same URL."""
    state = Path(tempfile.mkdtemp(prefix="worklink-race-", dir="/tmp"))
    paths = [str(REPO_ROOT / "plugins"), sysconfig.get_paths()["purelib"]]
    command = [sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}\n" + SCRIPT, str(state)]
    try:
        starters = [subprocess.Popen([*command, "start"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True) for _ in range(3)]
        results = [(p.wait(timeout=180), *p.communicate()) for p in starters]
        assert [code for code, _, _ in results] == [0, 0, 0], [err[-600:] for _, _, err in results]
        urls = {out.strip().splitlines()[-1] for _, out, _ in results}
        assert len(urls) == 1
        psql = subprocess.run(["psql", urls.pop(), "-tAc", "select 1"], capture_output=True, text=True)
        assert psql.stdout.strip() == "1", psql.stderr
    finally:
        subprocess.run([*command, "stop"], capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)
