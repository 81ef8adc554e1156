"""`worklink serve`: run Airflow's long-lived processes and restart any that stops.

Airflow's scheduler, DAG processor and triggerer (when run) exit when their metadata database goes away (a
restart of PostgreSQL, a fail-over, a network blip) and ``airflow standalone`` does not start them
again. This supervisor runs each as a child process in its own process group, with its output in
``<AIRFLOW_HOME>/logs/supervisor/<name>.log`` (mode 600), and starts a child that exited again
after a back-off: 1 s, doubling on each quick failure up to ``max_backoff`` (30 s), back to 1 s
once a child has run for ``healthy_after`` seconds. ``airflow db migrate`` runs first, retried the
same way until the database answers; then the API server, and the others once it answers HTTP
(tasks report to its execution API: a task started before it listens fails its first try).

The triggerer is not started unless asked for (``ALL_PROCESSES``, ``PROCESSES``): no worklink task
defers, and an idle triggerer still costs CPU every second.

A task that was running when the scheduler died is not lost: the restarted scheduler resets tasks
whose scheduler is gone (Airflow's orphaned-task adoption) and runs them again, up to the task's
retries. SIGTERM or SIGINT stops every child (SIGTERM to its group, SIGKILL after 30 s).

With ``WORKLINK_EXECUTOR=celery`` (``worklink.orchestration.executor``) it first starts the
project's Redis broker (and starts it again if it stops), and runs two Celery workers
(``celery-worker-1``, ``celery-worker-2``) as children like the others: a worker that dies is
restarted, and a task it was running is retried by Airflow (on the other worker, or on this one
once it is back) after the scheduler notices its heartbeat stopped.

For production, the same processes can run as systemd units (``infra/systemd/``): systemd's
``Restart=always`` with ``RestartSec`` does what this supervisor does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from worklink.settings import load_settings

#: every long-lived Airflow process `worklink serve` can run
ALL_PROCESSES = ("scheduler", "dag-processor", "triggerer", "api-server")
#: what it runs by default: not the triggerer, which only deferrable tasks (sensors, deferring
#: operators) need and worklink's DAGs have none; idle, it still woke every second and cost 7% of a
#: night's CPU on 2 cores (docs/benchmarks.md). `worklink serve --with-triggerer` adds it.
PROCESSES = ("scheduler", "dag-processor", "api-server")


def _say(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} worklink serve: {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    next_start: float = 0.0
    backoff: float = 1.0
    restarts: int = 0
    log: object = field(default=None, repr=False)


class Supervisor:
    def __init__(self, airflow: str, env: dict[str, str], log_dir: Path, processes=PROCESSES,
                 max_backoff: float = 30.0, healthy_after: float = 60.0, umask: int = 0o077,
                 say: Callable[[str], None] = _say, executor: str | None = None,
                 celery_workers: bool | None = None):
        self.airflow, self.env, self.log_dir, self.umask, self.say = airflow, env, log_dir, umask, say
        self.max_backoff, self.healthy_after = max_backoff, healthy_after
        self.children = [Child(name, [airflow, name]) for name in processes]
        self.stopping = threading.Event()
        self.settings = None
        if executor is None:
            # the setting applies to the real processes; a test's stand-in children name none
            executor = load_settings().executor if set(processes) & set(ALL_PROCESSES) else "local"
        self.executor = executor
        if executor == "celery":
            # `worklink serve --only ...` runs no workers (they run elsewhere, or are started by
            # hand); its default set of processes, which no longer includes the triggerer, must
            # therefore be told apart from an --only naming the same processes
            if celery_workers is None:
                celery_workers = set(PROCESSES) <= set(processes)
            self._use_celery(all_processes=celery_workers)

    def _use_celery(self, all_processes: bool) -> None:
        """Broker settings into every child's environment (the env dict is updated in place, so the
        caller sees the executor too); two workers beside the others unless --only was given."""
        from worklink.orchestration.executor import CELERY_WORKERS, celery_env, worker_args

        self.settings = load_settings()
        self.env.update(celery_env(self.settings, self.env))
        if all_processes:
            for number in range(1, CELERY_WORKERS + 1):
                self.children.append(Child(f"celery-worker-{number}",
                                           worker_args(self.airflow, number, self.env)))

    def _check_broker(self) -> None:
        """Start the project's Redis again when it stopped (the workers reconnect by themselves)."""
        from worklink.orchestration.executor import broker_running
        from worklink.platform.redis_server import RedisServerError, redis_server

        if broker_running(self.settings, self.env) is False:
            self.say("the Redis broker is not running: starting it")
            try:
                redis_server(self.settings.state_dir).start()
            except RedisServerError as exc:
                self.say(f"the Redis broker did not start: {exc}")

    # ---------------------------------------------------------------------------------- children
    def _open_log(self, name: str):
        fd = os.open(self.log_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        return os.fdopen(fd, "a", buffering=1)

    def _start(self, child: Child) -> None:
        if child.log is None:
            child.log = self._open_log(child.name)
        child.log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(child.args[1:])}\n")
        child.proc = subprocess.Popen(child.args, env=self.env, stdout=child.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True, umask=self.umask)
        child.started_at = time.monotonic()
        self.say(f"started {child.name} (pid {child.proc.pid})")

    def _reap(self, child: Child, now: float) -> None:
        code = child.proc.poll()
        if code is None:
            if now - child.started_at >= self.healthy_after:
                child.backoff = 1.0
            return
        ran = now - child.started_at
        if ran >= self.healthy_after:
            child.backoff = 1.0
        delay = child.backoff
        child.backoff = min(child.backoff * 2, self.max_backoff)
        child.proc, child.next_start = None, now + delay
        child.restarts += 1
        self.say(f"{child.name} exited with code {code} after {ran:.0f}s; restarting in {delay:.0f}s "
                 f"(restart {child.restarts}; its log: {self.log_dir / (child.name + '.log')})")

    def _stop_children(self, grace: float = 30.0) -> None:
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for child in running:
            try:
                os.killpg(child.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for child in running:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {grace:.0f}s: killing it")
                try:
                    os.killpg(child.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.proc.wait()
        # what the children started in their groups (task processes) goes with them
        for child in self.children:
            if child.proc is not None:
                try:
                    os.killpg(child.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if child.log is not None:
                child.log.close()
                child.log = None

    # ---------------------------------------------------------------------------------- run
    def migrate(self) -> bool:
        """`airflow db migrate`, retried with back-off until the database answers (or we are stopped)."""
        delay = 1.0
        while not self.stopping.is_set():
            with self._open_log("migrate") as log:
                code = subprocess.call([self.airflow, "db", "migrate"], env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, umask=self.umask)
            if code == 0:
                return True
            self.say(f"airflow db migrate failed (code {code}; {self.log_dir / 'migrate.log'}); "
                     f"retrying in {delay:.0f}s")
            self.stopping.wait(delay)
            delay = min(delay * 2, self.max_backoff)
        return False

    def wait_for_api(self, timeout: float = 300.0) -> bool:
        """Start the API server and wait until it answers HTTP (any status) at the execution API's
        address, so the first tasks find it; False when it did not in ``timeout`` seconds."""
        api = next((c for c in self.children if c.name == "api-server"), None)
        url = self.env.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL")
        if api is None or not url:
            return True
        self._start(api)
        health = url.split("/execution", 1)[0].rstrip("/") + "/api/v2/monitor/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                with urllib.request.urlopen(health, timeout=5):  # noqa: S310 - our own API server
                    pass
                self.say(f"api-server answers at {health}")
                return True
            except urllib.error.HTTPError:
                return True  # it answers, whatever it says
            except (urllib.error.URLError, OSError):
                pass
            if api.proc.poll() is not None:
                return False  # exited: the main loop restarts it
            self.stopping.wait(1.0)
        self.say(f"api-server did not answer at {health} in {timeout:.0f}s; starting the others anyway")
        return False

    def run(self) -> int:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.log_dir, 0o700)
        if not self.migrate():
            return 0
        try:
            self.wait_for_api()
            broker_checked = time.monotonic()
            while not self.stopping.is_set():
                now = time.monotonic()
                if self.executor == "celery" and now - broker_checked >= 10:
                    self._check_broker()
                    broker_checked = now
                for child in self.children:
                    if child.proc is not None:
                        self._reap(child, now)
                    if child.proc is None and now >= child.next_start and not self.stopping.is_set():
                        self._start(child)
                self.stopping.wait(1.0)
        finally:
            self.say("stopping " + ", ".join(c.name for c in self.children))
            self._stop_children()
        return 0

    def install_signal_handlers(self) -> None:
        def stop(signum, _frame):
            self.say(f"signal {signal.Signals(signum).name}: stopping")
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
