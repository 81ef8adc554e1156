"""What the project's own servers (embedded PostgreSQL, Redis) share: a port on 127.0.0.1 picked
once and kept, a password generated once into a private file, a start lock and a wait loop.

Each server keeps its state in its own folder under ``.worklink/`` (``pg``, ``redis``); the port it
was given is written to ``<folder>/port`` when the folder is made, so it stays the same across
restarts and the URLs printed once keep working.
"""

from __future__ import annotations

import fcntl
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from worklink.platform.private_files import write_private_text

T = TypeVar("T")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def server_port(root: Path, default: int, preferred: int | None = None) -> int:
    """The port recorded in ``root/port``; before that, ``preferred`` if given, else ``default``
    when free, else any free port."""
    recorded = root / "port"
    if recorded.exists():
        return int(recorded.read_text())
    if preferred is not None:
        return preferred
    return default if not port_in_use(default) else free_port()


def generated_password(path: Path) -> str:
    """The password kept in ``path`` (600 in a 700 folder), generated on first use."""
    if not path.exists():
        write_private_text(path, secrets.token_urlsafe(24))
    return path.read_text().strip()


@contextmanager
def start_lock(root: Path) -> Iterator[None]:
    """Processes starting one server at the same moment take turns: one starts it, the others
    then find it running."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".start.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def wait_until(probe: Callable[[], T], timeout_s: float, every_s: float = 0.1) -> T | None:
    """Call ``probe`` every ``every_s`` until it returns something true (returned) or ``timeout_s``
    has passed (None)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(every_s)
