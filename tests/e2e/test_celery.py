"""The nightly on the CeleryExecutor (WORKLINK_EXECUTOR=celery): the project's Redis broker
(127.0.0.1, password), two Celery workers; partners' ingests go to the `ingest` queue, linkage and
dbt to theirs.

Two platforms run the same small sample at the same time, each with its own embedded PostgreSQL
and state folder: one on the LocalExecutor (the reference), one on Celery. On Celery, `worklink
serve --only ...` runs Airflow's scheduler, DAG processor and API server, and the two workers are
started by hand, as on two machines: `worklink airflow celery worker --celery-hostname workerN@%h`
(which gets the broker from worklink's settings). While a partner's ingest runs, the worker running
it is killed with SIGKILL (its whole process group: the worker, its pool and the task) and stays
down, as when its machine dies. The scheduler notices the task's heartbeats stop, the task's second
try runs on the other worker -- each try's worker is read from Airflow's metadata database
(task_instance and task_instance_history; worklink records the Celery worker's name as the try's
hostname) -- and the night ends with the marts, the loaded rows and the file manifest equal to the
LocalExecutor's: nothing lost, nothing loaded twice.

The folders are made outside pytest's temporary root (see tests/e2e/test_scheduler.py for why).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from worklink.orchestration.night_driver import DAG, WORKLINK, NightDriver, free_port

pytestmark = [pytest.mark.e2e]
DROPPED = ("WORKLINK_DATABASE_URL", "WORKLINK_AIRFLOW_DATABASE_URL", "WORKLINK_PG_PORT", "AIRFLOW_HOME",
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__OPENLINEAGE__TRANSPORT", "AIRFLOW__CORE__EXECUTOR",
           "WORKLINK_EXECUTOR")
#: the loaded tables compared between the two runs (every raw table, plus the restricted vault's)
LOADED_SCHEMAS = ("raw", "identity")
PARTICIPANT_ID = re.compile(r"\bWL[0-9A-HJKMNP-TV-Z]{10}\b")
#: the ingest whose worker is killed: the partner with the most files in the sample
TARGET = "icb_workwell.ingest"


class Platform(NightDriver):
    def __init__(self, root: Path, landing: Path, executor: str, pseudonym_key: str):
        self.root, self.executor = root, executor
        self.state = root / "state"
        self.state.mkdir(parents=True)
        self.serve_log = root / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if k not in DROPPED} | {
            "WORKLINK_STATE_DIR": str(self.state),
            "WORKLINK_LANDING_DIR": str(landing),
            "WORKLINK_EXECUTOR": executor,
            "WORKLINK_PSEUDONYM_KEY": pseudonym_key,
            "WORKLINK_TASK_RETRY_DELAY_SECONDS": "1",
            "AIRFLOW__API__PORT": str(free_port()),
            # a task whose worker died is noticed within half a minute, not five
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        }
        self.serve: subprocess.Popen | None = None
        self.workers: dict[int, subprocess.Popen] = {}

    def worklink(self, *args: str, timeout: int = 300) -> str:
        proc = subprocess.run([WORKLINK, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, f"worklink {' '.join(args)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        return proc.stdout.strip()

    def start(self, *only: str) -> None:
        self.worklink("db", "start")
        self.airflow_url, self.warehouse_url = self.worklink("db", "url", "--airflow"), self.worklink("db", "url")
        self.serve = subprocess.Popen([WORKLINK, "serve", "--max-backoff", "8", *(f"--only={p}" for p in only)],
                                      env=self.env, stdout=self.serve_log.open("a"), stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def start_worker(self, number: int) -> None:
        """A Celery worker started by hand, as an operator adds one on another machine."""
        self.workers[number] = subprocess.Popen(
            [WORKLINK, "airflow", "celery", "worker", "--queues", "default,ingest,linkage,dbt", "--concurrency", "1",
             "--celery-hostname", f"worker{number}@%h", "--skip-serve-logs"],
            env=self.env, stdout=self.worker_log(number).open("a"), stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        for worker in self.workers.values():
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers.values():
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGTERM)
            try:
                self.serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.serve.pid, signal.SIGKILL)
                self.serve.wait()
        if self.executor == "celery":
            from worklink.platform.redis_server import redis_server

            redis_server(self.state).stop()
        subprocess.run([WORKLINK, "db", "stop"], env=self.env, capture_output=True, timeout=120)

    def worker_log(self, number: int) -> Path:
        return self.root / f"worker-{number}.log"

    def tries(self, run_id: str, task_id: str | None = None) -> dict[tuple[str, int], str]:
        """(task, try) -> the host that ran it: the Celery worker's name (task_instance_history keeps
        the earlier tries, task_instance the last; a try that failed before it started has none)."""
        rows = self.query("select task_id, try_number, hostname from task_instance_history where dag_id = %s"
                          " and run_id = %s union all select task_id, try_number, hostname from task_instance"
                          " where dag_id = %s and run_id = %s and try_number > 0", (DAG, run_id, DAG, run_id))
        return {(r[0], r[1]): r[2] for r in rows if r[2] and (task_id is None or r[0] == task_id)}

    def outcome(self) -> dict:
        """Marts (row count and a hash of their rows), loaded tables' row counts, the manifest.

        Participant ids are random (worklink.linkage.ids), so two databases give one person
        different ids: in the marts each id is replaced by its first source record's key (pseudonym
        tokens in those keys agree, both platforms having one pseudonym key)."""
        canonical = dict(self.query("select participant_id, min(source_record_key) from linkage.participant_xref"
                                    " group by 1", airflow=False))
        tables = self.query("select table_schema, table_name from information_schema.tables where table_schema"
                            " in ('analytics', 'raw', 'identity') and table_type = 'BASE TABLE' order by 1, 2",
                            airflow=False)
        result = {}
        for schema, name in tables:
            rows = self.query(f'select t::text from {schema}."{name}" t order by 1', airflow=False)
            if schema == "analytics":
                texts = sorted(PARTICIPANT_ID.sub(lambda m: canonical.get(m.group(0), "?"), r[0]) for r in rows)
                result[f"{schema}.{name}"] = f"{len(rows)}:" + hashlib.sha256("\n".join(texts).encode()).hexdigest()
            else:  # per-file partitions are numbered by file id, which follows the order of loading
                table = f"{schema}.{re.sub(r'__file_[0-9]+$', '', name)}"
                result[table] = result.get(table, 0) + len(rows)
        result["manifest"] = sorted(self.query(
            "select partner_id, feed, file_name, status, version, is_current, rows_in, rows_loaded,"
            " rows_quarantined from ingest.file_manifest where status <> 'duplicate'", airflow=False))
        result["duplicates"] = self.query("select count(*) from ingest.file_manifest where status = 'duplicate'",
                                          airflow=False)[0][0]
        return result


@pytest.fixture(scope="module")
def nights():
    from worklink.synth import generate

    root = Path(tempfile.mkdtemp(prefix="worklink-celery-"))
    generate(root / "sample", seed=5, participants=40, defect_rate=0.0)
    for partner in ("ancoats_trust", "mossside_carers"):  # fewer partners: a shorter night
        shutil.rmtree(root / "sample" / "landing" / partner)
    landing = root / "sample" / "landing"
    key = secrets.token_hex(32)
    local, celery = Platform(root / "local", landing, "local", key), Platform(root / "celery", landing, "celery", key)
    results: dict = {}
    try:
        local.start()
        celery.start("scheduler", "dag-processor", "api-server")  # the nightly defers nothing: no triggerer
        for number in (1, 2):
            celery.start_worker(number)
        local_run, celery_run = local.night(), celery.night()
        killed = kill_a_worker_during_an_ingest(celery, celery_run)
        results = {"local": (local.finished(local_run), local.outcome()),
                   "celery": (celery.finished(celery_run), celery.outcome()),
                   "local_tasks": local.tasks(local_run),
                   "celery_tasks": celery.tasks(celery_run), "tries": celery.tries(celery_run),
                   "killed": killed, "platform": celery}
        yield results
    finally:
        stoppers = [threading.Thread(target=p.stop) for p in (local, celery)]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        shutil.rmtree(root, ignore_errors=True)


def kill_session(leader: int) -> None:
    """SIGKILL every process of the session ``leader`` began, as when its machine dies: the worker,
    its pool and the task, which Airflow's supervisor runs in a process group of its own."""
    import psutil

    for _ in range(2):  # a second sweep for anything forked while the first ran
        for proc in psutil.process_iter():
            try:
                if os.getsid(proc.pid) == leader:
                    proc.kill()
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass


def kill_a_worker_during_an_ingest(celery: Platform, run_id: str) -> dict:
    """SIGKILL the worker running the ICB's ingest (90 files) once it has
    loaded some of its files and not all, and leave it down: the retry must run on the other
    worker, load the rest and none twice."""

    def worker_midway():
        rows = celery.query("select state, try_number, hostname from task_instance where dag_id = %s and run_id = %s"
                            " and task_id = %s", (DAG, run_id, TARGET))
        # any try: on a loaded machine a first try may fail before it starts (the API server slow to answer)
        if not rows or rows[0][0] != "running" or not (match := re.match(r"worker([12])@", rows[0][2] or "")):
            return None
        loaded = celery.query("select count(*) from ingest.file_manifest where partner_id = %s",
                              (TARGET.split(".")[0],), airflow=False)[0][0]
        return (int(match.group(1)), rows[0][1], loaded) if 0 < loaded < 60 else None

    number, try_number, loaded = celery.wait_for(f"{TARGET} midway on a worker", worker_midway, 900, every=0.5)
    worker = celery.workers[number]
    kill_session(worker.pid)
    worker.wait()
    return {"task_id": TARGET, "worker": number, "try": try_number, "files_loaded_before": loaded}


def test_the_celery_night_equals_the_local_executor_night(nights):
    local_state, local = nights["local"]
    celery_state, celery = nights["celery"]
    not_done = {k: v for k, v in [*nights["local_tasks"].items(), *nights["celery_tasks"].items()]
                if v[0] not in ("success", "skipped")}
    assert (local_state, celery_state) == ("success", "success"), not_done
    assert not local["analytics.referrals_by_partner_month"].startswith("0:")
    assert {k: v for k, v in celery.items() if k.startswith("analytics.")} == \
        {k: v for k, v in local.items() if k.startswith("analytics.")}
    # the heavy task kinds went to their own queues
    tasks = nights["celery_tasks"]
    assert tasks["hmrc.ingest"][2] == "ingest" and tasks["link_participants"][2] == "linkage"
    assert tasks["dbt_build.nightly"][2] == "dbt" and tasks["night_outcome"][2] == "default"
    # both workers took tasks, and each try names the worker that ran it
    workers = {re.sub(r"@.*", "", host) for host in nights["tries"].values()}
    assert workers == {"worker1", "worker2"}, workers


def test_a_worker_killed_mid_ingest_loses_and_doubles_nothing(nights):
    killed, tasks, platform = nights["killed"], nights["celery_tasks"], nights["platform"]
    task_id = killed["task_id"]
    killed_try = killed["try"]
    assert tasks[task_id][:2] == ("success", killed_try + 1), tasks[task_id]  # the killed try, then one more
    # the killed try ran on the killed worker, the next on the other one (the killed one stayed down)
    tries = {number: host.split("@")[0] for (task, number), host in nights["tries"].items() if task == task_id}
    assert tries[killed_try] == f"worker{killed['worker']}", tries
    assert tries[killed_try + 1] == f"worker{3 - killed['worker']}", tries
    assert platform.workers[killed["worker"]].returncode == -signal.SIGKILL
    _, local = nights["local"]
    _, celery = nights["celery"]
    loaded = {k: v for k, v in local.items() if k.split(".")[0] in LOADED_SCHEMAS}
    assert sum(loaded.values()) > 0
    assert {k: v for k, v in celery.items() if k.split(".")[0] in LOADED_SCHEMAS} == loaded
    assert celery["manifest"] == local["manifest"]
    # the files the killed try had committed were found again by the retry, recorded as duplicates
    assert celery["duplicates"] - local["duplicates"] >= killed["files_loaded_before"] > 0


def test_the_broker_listens_on_loopback_only_and_wants_its_password(nights):
    import psutil
    import redis
    from worklink.platform.private_files import is_private
    from worklink.platform.redis_server import redis_server

    server = redis_server(nights["platform"].state)
    assert is_private(server.password_file) and is_private(server.conf_file)
    pid = int((server.root / "redis.pid").read_text())
    listening = {c.laddr for c in psutil.Process(pid).net_connections("inet") if c.status == psutil.CONN_LISTEN}
    assert listening == {("127.0.0.1", server.port)}
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=5).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=server.port, password="not-" + server.password()).ping()
    assert redis.Redis.from_url(server.url()).ping()
    # the password is on no process's command line
    assert not any(server.password() in " ".join(p.info["cmdline"] or [])
                   for p in psutil.process_iter(["cmdline"]))
