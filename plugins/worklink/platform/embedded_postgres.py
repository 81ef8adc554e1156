"""A project-local PostgreSQL server, started on demand when no database is configured.

The cluster lives in ``.worklink/pg`` (ignored by git) and uses the PostgreSQL
binaries already on the machine (Debian's ``postgresql`` package). ``initdb`` and
``postgres`` refuse to run as root, so when we are root the server runs as an
unprivileged OS user (``postgres`` if it exists, else one we create); its data
directory is owned by that user, and each parent folder gets the execute
(traverse) bit so the server can reach it -- never read or write.

The server listens on 127.0.0.1 (password auth, scram-sha-256) and on a Unix
socket inside the cluster folder. The superuser password is generated once and
kept in ``.worklink/secrets/pg_password`` (600 in a 700 folder).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from worklink.platform.local_server import (
    generated_password,
    port_in_use,
    server_port,
    start_lock,
    wait_until,
)
from worklink.settings import load_settings

SUPERUSER = "worklink"
DEFAULT_PORT = 54329
WAREHOUSE_DB = "worklink"
AIRFLOW_DB = "airflow"
_ROOT_FALLBACK_OS_USER = "worklink-pg"

# Tuned for a 2-core, 24 GiB machine doing bulk loads. Durability stays as production needs it:
# fsync, full_page_writes and synchronous_commit are on, so a file reported `loaded` (and the
# partner's alert sent) survives a crash of the server or the machine. wal_level = minimal only
# gives up replication and point-in-time recovery, which a local cluster does not offer.
_SERVER_CONF = """
# --- written by worklink (plugins/worklink/platform/embedded_postgres.py) ---
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 100
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
wal_level = minimal
max_wal_senders = 0
max_wal_size = 4GB
checkpoint_timeout = 15min
synchronous_commit = on
logging_collector = off
log_min_messages = warning
timezone = 'UTC'
"""

# Access audit (worklink.platform.access_audit): pgaudit logs every read of a table the auditor role
# can see (identity, restricted), by role and time; statement text is never logged (it could carry an
# identifier), neither with an audit line nor with an error. Added only where pgaudit is installed.
_AUDIT_CONF = """
# --- worklink: access audit of identity and restricted ---
shared_preload_libraries = 'pgaudit'
pgaudit.role = 'worklink_auditor'
pgaudit.log_statement = off
pgaudit.log_parameter = off
pgaudit.log_relation = on
log_line_prefix = '%m [%p] user=%u db=%d app=%a '
log_min_error_statement = panic
"""


class EmbeddedPostgresError(RuntimeError):
    pass


def pgaudit_installed() -> bool:
    """The pgaudit extension is installed beside the server binaries (Debian: postgresql-N-pgaudit)."""
    try:
        bindir = _find_bindir()
    except EmbeddedPostgresError:
        return False
    return (bindir.parent / "lib" / "pgaudit.so").exists()


def _find_bindir() -> Path:
    explicit = load_settings().pg_bindir
    if explicit:
        return explicit
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).resolve().parent
    raise EmbeddedPostgresError(
        "PostgreSQL server binaries not found. Install them (Debian: apt-get install postgresql) "
        "or set WORKLINK_PG_BINDIR, or point WORKLINK_DATABASE_URL at an existing server."
    )


@dataclass
class EmbeddedPostgres:
    root: Path  # .worklink/pg
    preferred_port: int | None  # WORKLINK_PG_PORT, or None: 54329 if free, else any free port
    secrets_dir: Path

    @property
    def port(self) -> int:
        """The cluster's port, chosen once at initialisation and kept in .worklink/pg/port."""
        return server_port(self.root, DEFAULT_PORT, self.preferred_port)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.secrets_dir / "pg_password"

    # -- identity of the OS user that runs the server ------------------------------------
    @staticmethod
    def _server_os_user() -> str | None:
        """None when we are not root (the server runs as us)."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", _ROOT_FALLBACK_OS_USER):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _ROOT_FALLBACK_OS_USER],
            check=True,
        )
        return _ROOT_FALLBACK_OS_USER

    def _run_as_server_user(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        user = self._server_os_user()
        if user is not None:
            args = ["runuser", "-u", user, "--", *args]
        return subprocess.run(args, capture_output=True, text=True, **kwargs)

    def _grant_traverse(self, user: str) -> None:
        """Let the server user reach its folder: chown ours, add o+x on every parent."""
        entry = pwd.getpwnam(user)
        for path in (self.root, self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
        for path in (self.root, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        os.chmod(self.data_dir, 0o700)
        parent = self.root.parent
        while True:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
            if parent == parent.parent:
                break
            parent = parent.parent
        if self.log_file.exists():
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)

    # -- password -------------------------------------------------------------------------
    def password(self) -> str:
        return generated_password(self.password_file)

    # -- lifecycle ------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = self._run_as_server_user([str(_find_bindir() / "pg_ctl"), "status", "-D", str(self.data_dir)])
        return result.returncode == 0

    def init(self) -> None:
        bindir = _find_bindir()
        self.root.mkdir(parents=True, exist_ok=True)
        user = self._server_os_user()
        pwfile = self.root / ".initdb_pw"
        pwfile.write_text(self.password())
        try:
            if user is not None:
                self._grant_traverse(user)
                entry = pwd.getpwnam(user)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            os.chmod(pwfile, 0o600)
            result = self._run_as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D", str(self.data_dir),
                    "-U", SUPERUSER,
                    "--pwfile", str(pwfile),
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        port = self.port
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(_SERVER_CONF.format(port=port, socket_dir=self.socket_dir))
            if pgaudit_installed():
                conf.write(_AUDIT_CONF)
        (self.root / "port").write_text(str(port))

    def start(self, timeout_s: int = 60) -> None:
        """Start the server (initialising it first if needed); a no-op when it already runs.

        Processes that start it at the same moment (parallel Airflow tasks, test workers, two
        terminals) take turns on a lock file, so one initialises and starts it and the others find
        it running."""
        with start_lock(self.root):
            self._start_locked(timeout_s)

    def _start_locked(self, timeout_s: int) -> None:
        if not self.is_initialised():
            self.init()
        if self.is_running():
            return
        if port_in_use(self.port):
            raise EmbeddedPostgresError(
                f"Port {self.port} on 127.0.0.1 is taken by another program. Stop it, or change the "
                f"port in {self.root / 'port'} and {self.data_dir / 'postgresql.conf'}."
            )
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        user = self._server_os_user()
        if user is not None:
            self._grant_traverse(user)
        self._upgrade_conf()
        result = self._run_as_server_user(
            [
                str(_find_bindir() / "pg_ctl"), "start", "-w", "-t", str(timeout_s),
                "-D", str(self.data_dir), "-l", str(self.log_file),
                "-o", f"-p {self.port}",
            ]
        )
        if result.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise EmbeddedPostgresError(f"PostgreSQL did not start:\n{result.stderr}\n{tail}")
        self.ensure_databases()

    def _upgrade_conf(self) -> None:
        """Bring a cluster made by an older worklink up to the current settings (before start).

        Older versions wrote ``synchronous_commit = off``; a later line in postgresql.conf wins,
        so the current value is appended once rather than editing the server's file in place.
        """
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text()
        if "\nsynchronous_commit = off\n" in text and "\nsynchronous_commit = on\n" not in text:
            with open(conf, "a") as handle:
                handle.write("# --- worklink: durability as production needs it ---\nsynchronous_commit = on\n")
        if "pgaudit.role" not in text and pgaudit_installed():
            with open(conf, "a") as handle:
                handle.write(_AUDIT_CONF)

    def stop(self) -> bool:
        if not self.is_running():
            return False
        result = self._run_as_server_user(
            [str(_find_bindir() / "pg_ctl"), "stop", "-m", "fast", "-w", "-D", str(self.data_dir)]
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"pg_ctl stop failed: {result.stderr}")
        return True

    def url(self, database: str = WAREHOUSE_DB) -> str:
        return f"postgresql://{SUPERUSER}:{quote(self.password(), safe='')}@127.0.0.1:{self.port}/{database}"

    def ensure_databases(self) -> None:
        import psycopg

        def connect():
            try:
                return psycopg.connect(self.url("postgres"), autocommit=True)
            except psycopg.OperationalError:
                return None

        # the last try outside the loop raises the server's own error
        conn = wait_until(connect, 20, 0.2) or psycopg.connect(self.url("postgres"), autocommit=True)
        with conn:
            existing = {row[0] for row in conn.execute("select datname from pg_database")}
            for name in (WAREHOUSE_DB, AIRFLOW_DB):
                if name not in existing:
                    conn.execute(f'create database "{name}"')
            # Only the owner (and roles granted it) may connect to these two; see platform.roles.
            conn.execute(f'revoke connect on database "{AIRFLOW_DB}", postgres from public')

