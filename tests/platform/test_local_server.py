"""The parts the embedded PostgreSQL and the Redis broker share (worklink.platform.local_server):
the port picked once and kept, the password generated once, the start lock and the wait loop."""

from __future__ import annotations

import socket
import threading
import time

from worklink.platform.embedded_postgres import EmbeddedPostgres
from worklink.platform.local_server import generated_password, server_port, start_lock, wait_until
from worklink.platform.private_files import is_private
from worklink.platform.redis_server import redis_server


def test_the_default_port_when_free_another_when_taken_and_the_recorded_one_after(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        other = server_port(tmp_path, busy)
        assert other != busy and 0 < other < 65536
    with socket.socket() as probe:  # free once the listener is closed: now the default is taken
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert server_port(tmp_path, free) == free
    assert server_port(tmp_path, free, preferred=5) == 5  # an explicit port wins over the default
    (tmp_path / "port").write_text("61234")
    assert server_port(tmp_path, free, preferred=5) == 61234  # the recorded port wins over both


def test_the_password_is_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / "secrets" / "x_password"
    first = generated_password(path)
    assert len(first) >= 32 and is_private(path)
    assert generated_password(path) == first
    path.write_text("rotated\n")
    assert generated_password(path) == "rotated"


def test_both_servers_use_the_shared_parts(tmp_path):
    """Each keeps its own password file and port file; neither guesses its port again once recorded."""
    pg = EmbeddedPostgres(root=tmp_path / "pg", preferred_port=None, secrets_dir=tmp_path / "secrets")
    redis = redis_server(tmp_path)
    assert pg.password() != redis.password()
    assert {p.name for p in (tmp_path / "secrets").iterdir()} == {"pg_password", "redis_password"}
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "port").write_text("54001")
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "port").write_text("63001")
    assert (pg.port, redis.port) == (54001, 63001)
    assert redis.url().endswith("@127.0.0.1:63001/0")


def test_the_start_lock_lets_one_starter_in_at_a_time(tmp_path):
    inside, overlaps = [], []

    def starter():
        with start_lock(tmp_path / "srv"):
            if inside:
                overlaps.append(1)
            inside.append(1)
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=starter) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [] and (tmp_path / "srv" / ".start.lock").exists()


def test_wait_until_returns_the_first_true_value_or_none_after_the_timeout():
    calls = []
    assert wait_until(lambda: calls.append(1) or (len(calls) >= 3 and "up"), 5, 0.01) == "up"
    assert len(calls) == 3
    started = time.monotonic()
    assert wait_until(lambda: None, 0.2, 0.05) is None
    assert 0.2 <= time.monotonic() - started < 2
