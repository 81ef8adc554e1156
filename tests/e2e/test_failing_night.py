"""A deliberately failing night through Airflow: the run is `failed`, the data engineers get an email
on a real local SMTP server (aiosmtpd) with the run summary, `worklink nightly` streams task progress
and keeps its output where it says, and `worklink status` reports the night with a non-zero exit code.

The night has three faults a partner or the calendar can cause: a referrals file repeating a
referral id with a changed phone number (both rows load; dbt's `unique` test on
stg_vcse__referrals.referral_key fails, so dbt_build.nightly fails), a referrals file whose header
is not the contract's (rejected), and months received after they were due (late feeds, the platform
watching deliveries from 2026-03-01)."""

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
    referrals = sample / "landing" / "wythenshawe_wellbeing" / "referrals"
    # fault 1: a referral id sent twice in one month's file, the second time with another phone number
    target = next(p for p in sorted(referrals.glob("*.csv")) if len(p.read_text().splitlines()) > 2)
    header, first = target.read_text().splitlines()[:2]
    cells = first.split(",")
    phone = header.split(",").index("phone")
    cells[phone] = "07700900123" if cells[phone] != "07700900123" else "07700900124"
    with target.open("a") as out:
        out.write(",".join(cells) + "\n")
    # fault 2: a file that is not the referrals layout at all
    (referrals / "WWC_referrals_2026-04.csv").write_text("ref,name\nR1,someone\n")
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        env = {**os.environ, "WORKLINK_LANDING_DIR": str(sample / "landing"),
               "WORKLINK_DELIVERIES_WATCHED_FROM": "2026-03-01",  # fault 3: months due since then are late
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
    failed = [m for m in to_engineers if "FAILED" in m["Subject"]]
    assert len(failed) == 1, [m["Subject"] for m in to_engineers]
    # the late feeds are told once, in their own email (check_deliveries)
    assert sum("late or missing" in m["Subject"] for m in to_engineers) == 1, [m["Subject"] for m in to_engineers]


def _html_body(message) -> str:
    return "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_content_type() == "text/html")


def test_the_engineers_alert_is_a_run_summary(failing_night):
    _, _, _, inbox = failing_night
    [message] = [m for rcpt, m in inbox.messages if "data-engineers@example.org" in rcpt and "FAILED" in m["Subject"]]
    body = _html_body(message)
    # what failed
    assert "FAILED  dbt_build.nightly" in body
    # which partners' files were rejected (the file's name, its partner)
    assert "partners: wythenshawe_wellbeing" in body and "WWC_referrals_2026-04.csv: rejected" in body
    # late feeds, dbt tests failed (the failing test named), linkage counts, link to the log
    assert "late or missing feeds told tonight: 0" not in body and ": late" in body
    assert "tests 1 failed" in body and "unique_stg_vcse__referrals_referral_key" in body
    assert "linkage: " in body and " participants;" in body
    assert "/dags/worklink_nightly/runs/" in body and "task logs: " in body and "dag_id=worklink_nightly" in body


def test_status_reports_the_failed_night_with_a_non_zero_exit(failing_night):
    _, status, plain, _ = failing_night
    assert status.returncode == 1, status.stderr[-2000:]
    report = json.loads(status.stdout)
    assert report["ok"] is False and report["night"]["state"] == "failed"
    assert "dbt_build.nightly" in report["night"]["failed_tasks"]
    # the rejected file, with its partner told
    [rejected] = [f for f in report["files"] if f["status"] == "rejected"]
    assert (rejected["partner"], rejected["file"], rejected["alert_sent"]) == (
        "wythenshawe_wellbeing", "WWC_referrals_2026-04.csv", True)
    assert report["problem_files"] == [rejected]
    # late feeds told tonight: a month due after 2026-03-01 and received now is late
    late = [f for f in report["late_feeds"] if f["kind"] == "late"]
    assert late and all(f["due_at"] >= "2026-03-01" for f in late)
    # dbt: the failed test, the models it built, those it skipped
    dbt = report["dbt"]
    assert dbt["tests_failed"] == 1 and dbt["from_an_earlier_night"] is False
    assert any("unique_stg_vcse__referrals_referral_key" in n for n in dbt["failing_nodes"])
    assert dbt["models_built"] > 0 and dbt["models_skipped"] > 0  # models downstream of the failed test
    assert report["freshness"]["sources"] > 0
    assert report["linkage"]["participants"] > 0 and report["linkage"]["source_records"] >= report["linkage"][
        "participants"]
    assert "clear the failed task" in report["next"]
    assert any(s.startswith("dbt: 1 tests") for s in report["next_steps"])
    assert plain.returncode == 1 and "FAILED" in plain.stdout and "Failed tasks:" in plain.stdout
    assert "tests 1 failed" in plain.stdout and "rejected" in plain.stdout and "Next:" in plain.stdout
