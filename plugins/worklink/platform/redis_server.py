"""A project-local Redis server: the Celery broker when ``WORKLINK_EXECUTOR=celery``.

Started on demand like the embedded PostgreSQL (``worklink.platform.embedded_postgres``), from
Debian's ``redis-server`` binary (``infra/install.sh`` installs it). It lives in ``.worklink/redis``
(ignored by git), listens on 127.0.0.1 only (no Unix socket), and every client must give the
password generated once into ``.worklink/secrets/redis_password`` (600 in a 700 folder). The
password sits in ``.worklink/redis/redis.conf`` (600) rather than on the command line, where
``ps`` would show it.

Its port is picked like PostgreSQL's: 63790 when free, else any free port, chosen when the folder
is first made and kept in ``.worklink/redis/port``. The queue is kept on disk (append-only file,
fsync each second), so a restarted broker still holds the tasks that were queued.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
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
from worklink.platform.private_files import private_dir, write_private_text

DEFAULT_PORT = 63790

_CONF = """# written by worklink (plugins/worklink/platform/redis_server.py); holds the password: mode 600
bind 127.0.0.1
protected-mode yes
port {port}
unixsocket ""
requirepass {password}
daemonize yes
pidfile {root}/redis.pid
logfile {root}/redis.log
dir {root}/data
save ""
appendonly yes
appendfsync everysec
"""


class RedisServerError(RuntimeError):
    pass


def redis_binary() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists()
                                             else None)
    if not found:
        raise RedisServerError("redis-server not found: run `bash infra/install.sh` as root (Debian package "
                               "redis-server), or set WORKLINK_EXECUTOR=local")
    return found


@dataclass
class RedisServer:
    root: Path  # .worklink/redis
    secrets_dir: Path  # .worklink/secrets

    @property
    def password_file(self) -> Path:
        return self.secrets_dir / "redis_password"

    @property
    def conf_file(self) -> Path:
        return self.root / "redis.conf"

    @property
    def log_file(self) -> Path:
        return self.root / "redis.log"

    @property
    def port(self) -> int:
        return server_port(self.root, DEFAULT_PORT)

    def password(self) -> str:
        return generated_password(self.password_file)

    def url(self, db: int = 0) -> str:
        return f"redis://:{quote(self.password(), safe='')}@127.0.0.1:{self.port}/{db}"

    # -- lifecycle ----------------------------------------------------------------------------
    def _pid(self) -> int | None:
        try:
            pid = int((self.root / "redis.pid").read_text().strip())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url(), socket_connect_timeout=2).ping())
        except redis.RedisError:
            return False

    def is_running(self) -> bool:
        return (self.root / "port").exists() and self._pid() is not None and self.ping()

    def _write_conf(self) -> None:
        port = self.port
        private_dir(self.root)
        private_dir(self.root / "data")
        write_private_text(self.conf_file, _CONF.format(port=port, password=self.password(), root=self.root))
        (self.root / "port").write_text(str(port))

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server (writing its folder first if needed); a no-op when it already runs."""
        private_dir(self.root)
        with start_lock(self.root):
            if self.is_running():
                return
            self._write_conf()  # the password file may have been rotated; the conf follows it
            if port_in_use(self.port):
                raise RedisServerError(f"Port {self.port} on 127.0.0.1 is taken by another program. Stop "
                                       f"it, or delete {self.root / 'port'} to pick another port.")
            result = subprocess.run([redis_binary(), str(self.conf_file)], capture_output=True, text=True,
                                    stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise RedisServerError(f"redis-server did not start: {result.stderr.strip()}")
            if not wait_until(self.ping, timeout_s):
                tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise RedisServerError(f"redis-server did not answer in {timeout_s:.0f}s:\n{tail}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM (Redis flushes its append-only file and exits); False when it was not running."""
        pid = self._pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self._pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._pid() is not None:
            os.kill(pid, signal.SIGKILL)
        return True


def redis_server(state_dir: Path) -> RedisServer:
    return RedisServer(root=state_dir / "redis", secrets_dir=state_dir / "secrets")

