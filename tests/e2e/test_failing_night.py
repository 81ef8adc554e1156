"""A deliberately failing night through Airflow: the run is `failed`, the data engineers get an email
on a real local SMTP server (aiosmtpd), `worklink nightly` streams task progress and keeps its output
where it says, and `worklink status` reports the night with a non-zero exit code."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller

pytestmark = pytest.mark.e2e
WORKLINK = str(Path(sys.executable).with_name("worklink"))


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def failing_night(module_db, tmp_path_factory):
    from worklink.synth import generate

    sample = tmp_path_factory.mktemp("failing_sample")
    generate(sample, seed=11, participants=60, defect_rate=0.0)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        env = {**os.environ, "WORKLINK_LANDING_DIR": str(sample / "landing"),
               "DBT_TARGET": "no_such_target",  # the deliberate fault: dbt cannot find its target
               "WORKLINK_TASK_RETRY_DELAY_SECONDS": "1",  # the retry still happens, without the wait
               "WORKLINK_ENGINEER_EMAILS": "data-engineers@example.org",
               "AIRFLOW_CONN_WORKLINK_SMTP":
                   f"smtp://127.0.0.1:{controller.port}?disable_ssl=true&disable_tls=true&timeout=10"}
        proc = subprocess.run([WORKLINK, "nightly"], env=env, capture_output=True, text=True, timeout=900)
        status = subprocess.run([WORKLINK, "status", "--json"], env=env, capture_output=True, text=True, timeout=120)
        plain = subprocess.run([WORKLINK, "status"], env=env, capture_output=True, text=True, timeout=120)
    finally:
        controller.stop()
    return proc, status, plain, inbox


def test_the_night_is_failed_and_named_with_its_failed_task(failing_night):
    proc, _, _, _ = failing_night
    assert proc.returncode != 0, proc.stderr[-3000:]
    assert "finished with failed tasks" in proc.stderr and "dbt_build.nightly" in proc.stderr, proc.stderr[-3000:]
    with psycopg.connect(os.environ["WORKLINK_AIRFLOW_DATABASE_URL"]) as conn:
        state = conn.execute("select state from dag_run where dag_id = 'worklink_nightly'"
                             " order by id desc limit 1").fetchone()[0]
        outcome = conn.execute("select state from task_instance where dag_id = 'worklink_nightly'"
                               " and task_id = 'night_outcome' order by start_date desc limit 1").fetchone()[0]
    assert (state, outcome) == ("failed", "failed")


def test_nightly_streams_task_progress_and_keeps_its_output_where_it_says(failing_night):
    proc, _, _, _ = failing_night
    assert "started  link_participants" in proc.stderr and "finished link_participants" in proc.stderr
    said = [line for line in proc.stderr.splitlines() if "full output: " in line]
    log = Path(said[0].split("full output: ", 1)[1].strip())
    assert log.exists() and stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "dbt_build.nightly" in log.read_text()


def test_the_data_engineers_get_one_email_naming_the_failed_task(failing_night):
    _, _, _, inbox = failing_night
    to_engineers = [m for rcpt, m in inbox.messages if "data-engineers@example.org" in rcpt]
    assert len(to_engineers) == 1, [m["Subject"] for _, m in inbox.messages]
    message = to_engineers[0]
    assert "FAILED" in message["Subject"]
    body = "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_content_type() == "text/html")
    assert "dbt_build.nightly" in body and "FAILED" in body


def test_status_reports_the_failed_night_with_a_non_zero_exit(failing_night):
    _, status, plain, _ = failing_night
    assert status.returncode == 1, status.stderr[-2000:]
    report = json.loads(status.stdout)
    assert report["ok"] is False and report["night"]["state"] == "failed"
    assert "dbt_build.nightly" in report["night"]["failed_tasks"]
    assert report["files"] and all(f["status"] in ("loaded", "loaded_with_quarantine") for f in report["files"])
    assert report["linkage"]["participants"] > 0
    assert "clear the failed task" in report["next"]
    assert plain.returncode == 1 and "FAILED" in plain.stdout and "Failed tasks:" in plain.stdout
