"""The nightly under the real scheduler, as an operator runs it: `worklink serve` (scheduler, DAG
processor and API server with the LocalExecutor, no triggerer, restarted when they stop) on a
non-default API port, against an embedded PostgreSQL of this module's own (so stopping it harms no
other test), a small sample, and a real local SMTP server (aiosmtpd).

One scheduler session serves every test here, in order:

1. the scheduled night runs with a deliberate fault (dbt's work folder cannot be created: a file
   stands where the folder should be): the DAG run is ``failed`` and the engineers get one email;
2. the fault is removed and hmrc's ingest is cleared with its downstream tasks: they run again in
   order (linkage after the ingest, dbt after linkage) and the same run ends ``success``;
3. a triggered night loses its database for 25 seconds while tasks run: the supervisor restarts the
   Airflow processes and the run ends ``success`` or ``failed`` with no task left hanging;
4. the next night, a backfill of a past date, succeeds and gives the same marts as the first night;
5. a corrected month (a referral added) taken in with `worklink reprocess` becomes current and the
   marts follow;
6. the OpenLineage file transport received events of the ingest, linkage and dbt tasks.

The module's folder is made outside pytest's temporary root: other pytest sessions on the machine
reset that root to mode 700, which would lock the embedded server's OS user out of its data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from email import message_from_bytes
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from worklink.orchestration.night_driver import DAG, WORKLINK, NightDriver, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.scheduler]
ENGINEERS = "data-engineers@example.org"
# Everything the tests inherit that would point the processes elsewhere.
DROPPED = ("WORKLINK_DATABASE_URL", "WORKLINK_AIRFLOW_DATABASE_URL", "WORKLINK_PG_PORT", "AIRFLOW_HOME",
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__OPENLINEAGE__TRANSPORT")


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


class Platform(NightDriver):
    """The running platform of this module: its environment, databases and scheduler (waiting for
    and reading its nights: worklink.orchestration.night_driver, as the nightly benchmark does)."""

    def __init__(self, root: Path, inbox: Inbox, smtp_port: int):
        self.root, self.inbox = root, inbox
        self.state = root / "state"
        self.api_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in DROPPED} | {
            "WORKLINK_STATE_DIR": str(self.state),
            "WORKLINK_LANDING_DIR": str(root / "sample" / "landing"),
            "WORKLINK_ENGINEER_EMAILS": ENGINEERS,
            "WORKLINK_TASK_RETRY_DELAY_SECONDS": "1",
            "AIRFLOW_CONN_WORKLINK_SMTP": f"smtp://127.0.0.1:{smtp_port}?disable_ssl=true&disable_tls=true&timeout=10",
            "AIRFLOW__API__PORT": str(self.api_port),
            # a task whose worker died with the scheduler is noticed within a minute, not five
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        }
        self.serve: subprocess.Popen | None = None
        self.first_night_marts: dict[str, str] = {}
        self.serve_log = root / "serve.log"

    def worklink(self, *args: str, timeout: int = 300, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([WORKLINK, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"worklink {' '.join(args)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n"
                                 f"{proc.stderr[-3000:]}")
        return proc

    def url(self, airflow: bool = False) -> str:
        return self.worklink("db", "url", *(["--airflow"] if airflow else [])).stdout.strip()

    def start(self) -> None:
        self.worklink("db", "start")
        self.airflow_url, self.warehouse_url = self.url(airflow=True), self.url()
        log = self.serve_log.open("a")
        self.serve = subprocess.Popen([WORKLINK, "serve", "--port", str(self.api_port), "--max-backoff", "8"],
                                      env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGTERM)
            try:
                self.serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.serve.pid, signal.SIGKILL)
                self.serve.wait()
        self.worklink("db", "stop", check=False)

    def marts(self) -> dict[str, str]:
        """A fingerprint of every analytics mart: row count and a hash of its rows in a fixed order."""
        with psycopg.connect(self.warehouse_url) as conn:
            names = [r[0] for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'analytics'"
                " order by 1").fetchall()]
            prints = {}
            for name in names:
                rows = conn.execute(f'select t::text from analytics."{name}" t order by 1').fetchall()
                prints[name] = f"{len(rows)}:" + hashlib.sha256("\n".join(r[0] for r in rows).encode()).hexdigest()
        return prints


@pytest.fixture(scope="module")
def platform():
    from worklink.synth import generate

    root = Path(tempfile.mkdtemp(prefix="worklink-scheduler-"))
    generate(root / "sample", seed=5, participants=40, defect_rate=0.0)
    # few partners: one VCSE partner, the ICB, DWP and HMRC (the other partners' tasks run with no files)
    for partner in ("ancoats_trust", "mossside_carers"):
        shutil.rmtree(root / "sample" / "landing" / partner)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    platform = Platform(root, inbox, controller.port)
    platform.state.mkdir()
    # the deliberate fault of the first night: dbt's work folder cannot be made
    (platform.state / "dbt_nightly").write_text("not a folder\n")
    started = time.monotonic()
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        controller.stop()
        print(f"\nscheduler module: {time.monotonic() - started:.0f}s with the scheduler up")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def first_night(platform):
    """The night the scheduler starts by itself (the DAG's latest 02:00 interval)."""
    run_id = platform.night(timeout=240)
    return run_id, platform.finished(run_id, timeout=900)


def test_a_scheduled_night_with_a_failed_task_is_failed_and_emails_the_engineers(platform, first_night):
    run_id, state = first_night
    assert state == "failed"
    tasks = platform.tasks(run_id)
    assert tasks["dbt_build.nightly"].state == "failed" and tasks["dbt_build.nightly"].try_number == 2  # tried twice
    assert tasks["night_outcome"].state == "failed"
    assert tasks["link_participants"].state == "success"
    emails = platform.wait_for("the engineers' email", lambda: [
        m for rcpt, m in platform.inbox.messages if ENGINEERS in rcpt and "FAILED" in m["Subject"]], timeout=60)
    assert len(emails) == 1 and run_id in emails[0]["Subject"]


def test_the_api_server_runs_on_a_non_default_port(platform, first_night):
    assert platform.api_port != 8080
    with urllib.request.urlopen(f"http://127.0.0.1:{platform.api_port}/api/v2/monitor/health", timeout=10) as r:
        health = json.load(r)
    assert health["metadatabase"]["status"] == "healthy"
    # every task reached the execution API on that port (the first night's tasks ran at all)
    assert platform.tasks(first_night[0])["link_participants"].state == "success"
    # ... with no triggerer: `worklink serve` starts none by default, and no task of the night defers
    log = platform.serve_log.read_text()
    assert "started scheduler" in log and "started triggerer" not in log


def test_airflow_reads_worklinks_parsing_settings_under_their_airflow_3_names(platform, first_night):
    # the DAG files are parsed every 10 minutes by one parser process (the options moved from
    # [scheduler] to [dag_processor] in Airflow 3: a wrong section would be ignored silently)
    for option, expected in (("min_file_process_interval", "600"), ("parsing_processes", "1")):
        got = platform.worklink("airflow", "config", "get-value", "dag_processor", option).stdout.strip()
        assert got == expected, (option, got)


def test_clearing_a_failed_night_reruns_it_in_order(platform, first_night):
    run_id, _ = first_night
    (platform.state / "dbt_nightly").unlink()  # the fault is fixed
    # Airflow 3.3's --task-regex is a substring match: "hmrc.ingest" is that task alone
    platform.worklink("airflow", "tasks", "clear", DAG, "--task-regex", "hmrc.ingest", "--downstream", "--yes",
                      timeout=120)
    before = platform.tasks(run_id)["night_outcome"].try_number
    # finished again: night_outcome tried once more and the run in a final state
    state = platform.wait_for("the cleared night to finish again", lambda: (
        platform.tasks(run_id)["night_outcome"].try_number > before
        and platform.tasks(run_id)["night_outcome"].state in ("success", "failed")
        and (s := platform.run_state(run_id)) in ("success", "failed") and s), timeout=900)
    tasks = platform.tasks(run_id)
    assert state == "success", {t: v.state for t, v in tasks.items()}
    ingest_end, link, dbt = tasks["hmrc.ingest"].end_date, tasks["link_participants"], tasks["dbt_build.nightly"]
    assert link.start_date >= ingest_end and dbt.start_date >= link.end_date  # downstream waited for upstream
    assert tasks["night_outcome"].state == "success"
    assert len([m for rcpt, m in platform.inbox.messages if "FAILED" in m["Subject"]]) == 1  # no new alert
    platform.first_night_marts = platform.marts()


def test_a_database_blip_during_a_night_ends_it_cleanly_and_the_next_night_succeeds(platform, first_night):
    platform.trigger("blip")
    platform.wait_for("a task of the blip night to run", lambda: any(
        t.state == "running" for t in platform.tasks("blip").values()), timeout=240, every=1)
    platform.worklink("db", "stop")
    time.sleep(25)
    platform.worklink("db", "start")
    state = platform.finished("blip", timeout=480)
    assert state in ("success", "failed")
    leftover = {t: s.state for t, s in platform.tasks("blip").items()
                if s.state not in ("success", "failed", "upstream_failed", "skipped")}
    assert leftover == {}
    log = platform.serve_log.read_text()
    assert "exited with code" in log and "restarting in" in log  # the processes died and came back


def test_the_next_night_a_backfill_succeeds_with_the_first_nights_marts(platform, first_night):
    before = platform.first_night_marts
    assert before and not before["referrals_by_partner_month"].startswith("0:")
    # one past night: the 02:00 run of 1 March 2026
    platform.worklink("airflow", "backfill", "create", "--dag-id", DAG, "--from-date", "2026-03-01",
                      "--to-date", "2026-03-01T12:00:00", timeout=120)
    backfilled = platform.wait_for("the backfill run", lambda: [
        r[0] for r in platform.runs() if r[1] == "backfill"], timeout=120)
    assert len(backfilled) == 1, backfilled
    assert platform.finished(backfilled[0], timeout=900) == "success"
    assert platform.marts() == before


def test_openlineage_file_transport_received_the_nights_events(platform, first_night):
    events_file = platform.state / "airflow" / "openlineage" / "events.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    seen = {(e["job"]["name"], e["eventType"]) for e in events if "job" in e and "eventType" in e}
    for job in (f"{DAG}.hmrc.ingest", f"{DAG}.link_participants", f"{DAG}.dbt_build.nightly"):
        assert (job, "START") in seen and (job, "COMPLETE") in seen, sorted(seen)[:40]
    assert (f"{DAG}.dbt_build.nightly", "FAIL") in seen  # the first night's failure is lineage too
    assert all(e["job"]["namespace"] == "worklink" for e in events if "job" in e)


def test_reprocessing_a_corrected_month_makes_it_current_and_rebuilds(platform, first_night):
    if not platform.first_night_marts:
        pytest.fail("needs a built warehouse (the first night, cleared)")
    folder = platform.root / "sample" / "landing" / "wythenshawe_wellbeing" / "referrals"
    target = max(sorted(folder.glob("WWC_referrals_20??-??.csv")), key=lambda p: len(p.read_text().splitlines()))
    period = re.search(r"(\d{4}-\d{2})", target.name).group(1)
    lines = target.read_text().splitlines()
    assert len(lines) >= 2  # header and at least one referral

    def referrals() -> int:
        with psycopg.connect(platform.warehouse_url) as conn:
            return conn.execute("select sum(referrals) from analytics.referrals_by_partner_month"
                                " where partner_id = 'wythenshawe_wellbeing'").fetchone()[0]

    before = referrals()
    # the correction: a referral the partner had left out (the month's last row again, under a new id)
    cells = lines[-1].split(",")
    cells[0] = cells[0] + "C"
    target.write_text("\n".join([*lines, ",".join(cells)]) + "\n")
    platform.worklink("reprocess", "--partner", "wythenshawe_wellbeing", "--period", period, timeout=600)
    assert referrals() == before + 1
    with psycopg.connect(platform.warehouse_url) as conn:
        versions = conn.execute(
            "select status, is_current, ingest_run like 'reprocess__wythenshawe_wellbeing__' || %s || '__%%'"
            " from ingest.file_manifest where partner_id = 'wythenshawe_wellbeing' and feed = 'referrals'"
            " and period = %s and status <> 'duplicate' order by file_id", (period, period)).fetchall()
    assert versions == [("loaded", False, False), ("loaded", True, True)]
    # the same month again: nothing new, nothing rebuilt
    again = platform.worklink("reprocess", "--partner", "wythenshawe_wellbeing", "--period", period)
    assert "duplicate" in again.stderr and "no rebuild needed" in again.stderr
    bad = platform.worklink("reprocess", "--partner", "wythenshawe_wellbeing", "--period", "2025-13", check=False)
    assert bad.returncode != 0 and "YYYY-MM" in bad.stderr
