"""No other OS user can read worklink's secrets, and the Airflow API listens on loopback only.

A real Airflow API server runs on a state folder of its own (it writes its admin password file
there); an unprivileged OS user, created here when we are root, then tries to read every secret.
Only this machine's own interface addresses are contacted.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e
WORKLINK = str(Path(sys.executable).with_name("worklink"))
REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE_USER = "worklink-probe"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(session_db):
    """worklink's Airflow API server on a free port, with its state in a folder other users may
    traverse (mode 711), so that only worklink's own file modes stand between them and the secrets."""
    state = Path(tempfile.mkdtemp(prefix="worklink-exposure-", dir="/tmp"))
    os.chmod(state, 0o711)
    port = free_port()
    env = {**os.environ, "WORKLINK_STATE_DIR": str(state), "AIRFLOW__API__PORT": str(port)}
    env.pop("AIRFLOW__API__HOST", None)
    migrate = subprocess.run([WORKLINK, "airflow", "db", "migrate"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    log = open(state / "api-server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([WORKLINK, "airflow", "api-server", "--workers", "1"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, (state / "api-server.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "API server did not start"
                time.sleep(0.5)
        # The admin password is written when the auth manager initialises; wait for it.
        passwords = state / "airflow" / "simple_auth_manager_passwords.json.generated"
        while passwords.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        subprocess.run([WORKLINK, "db", "pgpass"], env=env, check=True, capture_output=True, timeout=60)
        subprocess.run([sys.executable, "-c", "from worklink.identity.pseudonyms import _master_key; _master_key()"],
                       env=env, check=True, timeout=60)
        yield state, port, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def probe_user():
    """An unprivileged OS user (created, and removed afterwards, when we are root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create an unprivileged user and run commands as it")
    created = False
    try:
        pwd.getpwnam(PROBE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PROBE_USER],
                       check=True)
        created = True
    yield PROBE_USER
    if created:
        subprocess.run(["userdel", PROBE_USER], check=False)


def as_probe(user: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", *args], capture_output=True, text=True, timeout=30)


def secret_files(state: Path) -> list[Path]:
    real = REPO_ROOT / ".worklink" / "secrets"
    files = [
        state / "secrets" / "pgpass",
        state / "secrets" / "pseudonym.key",
        state / "airflow" / "simple_auth_manager_passwords.json.generated",
        state / "airflow" / "airflow.cfg",  # holds the fernet key and the JWT secret
        *(p for p in (real / "pg_password", real / "roles.json") if p.exists()),
    ]
    return files


def test_every_secret_file_is_600_in_a_700_folder(api_server):
    state, _, _ = api_server
    files = secret_files(state)
    assert (state / "airflow" / "simple_auth_manager_passwords.json.generated").read_text().strip() not in ("", "{}")
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    for folder, dirs, names in os.walk(state / "airflow"):  # logs included
        for name in dirs:
            assert stat.S_IMODE(Path(folder, name).stat().st_mode) == 0o700, Path(folder, name)
        for name in names:
            assert stat.S_IMODE(Path(folder, name).stat().st_mode) == 0o600, Path(folder, name)


def test_an_unprivileged_user_can_read_no_secret(api_server, probe_user):
    state, _, _ = api_server
    control = state / "readable-control.txt"
    control.write_text("anyone may read this")
    os.chmod(control, 0o644)
    # Control: the user reaches the state folder, so any refusal below comes from worklink's modes.
    assert as_probe(probe_user, "cat", str(control)).stdout == "anyone may read this"
    for path in secret_files(state):
        result = as_probe(probe_user, "cat", str(path))
        assert result.returncode != 0 and result.stdout == "", path
        assert "Permission denied" in result.stderr, (path, result.stderr)
    listing = as_probe(probe_user, "ls", str(state / "airflow"))
    assert listing.returncode != 0 and "Permission denied" in listing.stderr


def own_addresses() -> list[str]:
    """This machine's own non-loopback interface addresses (no link-local, which needs a scope)."""
    found = []
    for addresses in psutil.net_if_addrs().values():
        for addr in addresses:
            if addr.family == socket.AF_INET and not addr.address.startswith("127."):
                found.append(addr.address)
            elif addr.family == socket.AF_INET6 and addr.address not in ("::1",) and not addr.address.startswith("fe80"):
                found.append(addr.address.split("%")[0])
    return found


def test_api_server_listens_on_loopback_only(api_server):
    _, port, proc = api_server
    listening = [c for c in psutil.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listening, "nothing listens on the API port"
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}
    addresses = own_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback address to try")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        # Control: a listener on every address of this machine is reachable through this address.
        with socket.socket(family) as control:
            control.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            control.listen(1)
            socket.create_connection((address, control.getsockname()[1]), timeout=3).close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=3).close()
    assert proc.poll() is None


def test_an_unprivileged_user_can_read_no_archived_file_or_partner_report(api_server, probe_user):
    """A delivery with one bad row: its archived copy and the partner's report stay private."""
    import json

    state, _, _ = api_server
    folder = state / "landing" / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    os.chmod(state / "landing", 0o755)
    (folder / "WWC_referrals_2025-07.csv").write_text(
        "referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,ni_number,"
        "referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,economic_status,"
        "service_variant,eligible,ineligible_reason\n"
        "X-1,Ann,Smith,1980-01-02,F,,M22 5RT,,,,,2025-07-32,gp,carer,mental_health,,inactive_other,,Y,\n")
    env = {**os.environ, "WORKLINK_STATE_DIR": str(state), "WORKLINK_LANDING_DIR": str(state / "landing")}
    env.pop("AIRFLOW_CONN_WORKLINK_SMTP", None)
    ingested = subprocess.run([WORKLINK, "ingest", "--json", str(state / "landing")], env=env, capture_output=True,
                              text=True, timeout=300)
    assert ingested.returncode == 0, ingested.stderr[-3000:]
    [result] = json.loads(ingested.stdout)
    assert result["status"] == "loaded_with_quarantine"
    subprocess.run([sys.executable, "-c", "from worklink.alerts.delivery import alert_partner; "
                    f"assert alert_partner('wythenshawe_wellbeing', [{result['file_id']}])"],
                   env=env, check=True, timeout=120)
    kept = [p for root in (state / "archive", state / "reports") for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in kept) and any(p.suffix == ".html" for p in kept)
    for path in kept:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        read = as_probe(probe_user, "cat", str(path))
        assert read.returncode != 0 and read.stdout == "", path
    for root in (state / "archive", state / "reports"):
        listing = as_probe(probe_user, "ls", str(root))
        assert listing.returncode != 0 and "Permission denied" in listing.stderr, root
