"""`worklink flower`: Celery's monitor on 127.0.0.1 only, behind basic auth, watching worklink's broker."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from worklink.platform.redis_server import redis_server
from worklink.settings import load_settings

pytest.importorskip("flower", reason="Flower is an optional extra (uv sync --extra flower)")
WORKLINK = str(Path(sys.executable).with_name("worklink"))


def get(url: str, auth: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_flower_answers_on_loopback_with_its_password_only(session_db):
    import psutil

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__CELERY")}
    env["WORKLINK_EXECUTOR"] = "celery"
    state = load_settings().state_dir
    broker_was_running = redis_server(state).is_running()
    proc = subprocess.Popen([WORKLINK, "flower", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/workers"
        deadline = time.monotonic() + 180
        while True:
            try:
                status = get(url)
                break
            except urllib.error.URLError:
                assert proc.poll() is None and time.monotonic() < deadline, "flower did not start"
                time.sleep(1)
        assert status == 401  # no password, no answer
        password = (state / "secrets" / "flower_password").read_text().strip()
        assert get(url, "worklink:not-" + password) == 401
        assert get(url, "worklink:" + password) == 200
        listening = {c.laddr for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
                     for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN}
        assert listening == {("127.0.0.1", port)}, listening
        assert not any(password in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if not broker_was_running:
            redis_server(state).stop()


def test_flower_refuses_without_the_celery_executor(session_db):
    proc = subprocess.run([WORKLINK, "flower"], env={**os.environ, "WORKLINK_EXECUTOR": "local"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "WORKLINK_EXECUTOR=celery" in proc.stderr
