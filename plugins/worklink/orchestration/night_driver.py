"""Drive and watch a night of a running platform from outside: the benchmark's and the end-to-end tests'.

A platform here is ``worklink serve`` (scheduler, DAG processor, API server) against its own
metadata database; :class:`NightDriver` is what the nightly benchmark (``bench/nightly_bench.py``)
and the scheduler and Celery tests share to trigger a night, wait for it, and read what Airflow
recorded of it (the ``dag_run`` and ``task_instance`` rows), so the three measure and judge a
night the same way. A subclass sets ``airflow_url`` (the metadata database, ``worklink db url
--airflow``), ``warehouse_url``, ``env`` (the platform's environment, for the CLI) and
``serve_log`` (quoted when a wait times out), and starts and stops the platform itself.

Only the standard library and psycopg: nothing here imports Airflow, so the driver costs the
platform it watches no CPU beyond its queries (one every ``every`` seconds while it waits).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import psycopg

DAG = "worklink_nightly"
WORKLINK = str(Path(sys.executable).with_name("worklink"))
#: variables a test or benchmark inherits that would point its platform at another one's database,
#: Airflow home, executor or landing folder
FOREIGN_ENV = ("WORKLINK_DATABASE_URL", "WORKLINK_AIRFLOW_DATABASE_URL", "WORKLINK_PG_PORT", "AIRFLOW_HOME",
               "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__OPENLINEAGE__TRANSPORT",
               "AIRFLOW__CORE__EXECUTOR", "WORKLINK_EXECUTOR")
FINISHED = ("success", "failed")


class TaskRow(NamedTuple):
    """One task instance of a run as Airflow recorded it (the latest try)."""

    state: str | None
    try_number: int
    queue: str | None
    start_date: datetime | None
    end_date: datetime | None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a platform's API server or a test's SMTP server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NightDriver:
    """Trigger, wait for and read the nights of one running platform (see the module docstring)."""

    airflow_url: str
    warehouse_url: str
    env: dict[str, str]
    serve_log: Path | None = None
    dag_id: str = DAG
    #: called with a line every minute while a wait goes on (None: quiet)
    say: Callable[[str], None] | None = None

    # ------------------------------------------------------------------------------- reading
    def query(self, sql: str, params: Any = (), airflow: bool = True) -> list[tuple]:
        """Rows of ``sql`` in the metadata database (``airflow=False``: the warehouse)."""
        with psycopg.connect(self.airflow_url if airflow else self.warehouse_url, autocommit=True,
                             connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def runs(self) -> list[tuple[str, str, str]]:
        """(run_id, run_type, state) of every run of the DAG, oldest first."""
        return self.query("select run_id, run_type, state from dag_run where dag_id = %s order by id",
                          (self.dag_id,))

    def run_state(self, run_id: str) -> str | None:
        rows = self.query("select state from dag_run where dag_id = %s and run_id = %s", (self.dag_id, run_id))
        return rows[0][0] if rows else None

    def tasks(self, run_id: str) -> dict[str, TaskRow]:
        """{task_id: TaskRow} of the run."""
        rows = self.query("select task_id, state, try_number, queue, start_date, end_date from task_instance"
                          " where dag_id = %s and run_id = %s", (self.dag_id, run_id))
        return {r[0]: TaskRow(*r[1:]) for r in rows}

    def run_times(self, run_id: str) -> tuple[datetime | None, datetime | None]:
        """(start_date, end_date) of the run: when the scheduler started it and when it ended."""
        rows = self.query("select start_date, end_date from dag_run where dag_id = %s and run_id = %s",
                          (self.dag_id, run_id))
        return rows[0] if rows else (None, None)

    def progress(self) -> str:
        """Task instances of the DAG by state, e.g. ``3 running, 12 success`` (for progress lines)."""
        try:
            rows = self.query("select state, count(*) from task_instance where dag_id = %s group by 1",
                              (self.dag_id,))
        except psycopg.Error:
            return "Airflow not up yet"
        return ", ".join(f"{n} {s}" for s, n in sorted(rows, key=lambda r: str(r[0]))) or "no task yet"

    # ------------------------------------------------------------------------------- waiting
    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float, every: float = 2.0):
        """``probe()``'s first true value, asked every ``every`` seconds; a database error counts as
        not yet (Airflow has not made its tables, or the server is restarting). TimeoutError after
        ``timeout`` seconds, with the end of the platform's log."""
        deadline, noted = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline:
            try:
                value = probe()
            except psycopg.Error:
                value = None
            if value:
                return value
            if self.say is not None and time.monotonic() - noted >= 60:
                noted = time.monotonic()
                self.say(f"  waiting for {what} ({self.progress()})")
            time.sleep(every)
        log = ""
        if self.serve_log is not None and self.serve_log.exists():
            log = "; platform log:\n" + self.serve_log.read_text(errors="replace")[-4000:]
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{log}")

    def night(self, timeout: float = 300) -> str:
        """The run id of the night the scheduler starts by itself (the DAG's latest 02:00 interval)."""
        return self.wait_for("the scheduled night", lambda: next(
            (run_id for run_id, run_type, _ in self.runs() if run_type == "scheduled"), None), timeout)

    def finished(self, run_id: str, timeout: float = 1200, every: float = 2.0) -> str:
        """Wait for the run to end; its state (success or failed)."""
        return self.wait_for(f"run {run_id} to finish",
                             lambda: (state := self.run_state(run_id)) in FINISHED and state, timeout, every)

    # ------------------------------------------------------------------------------- acting
    def trigger(self, run_id: str, timeout: float = 120) -> None:
        """Start a night now with this run id (`airflow dags trigger` through worklink's CLI)."""
        proc = subprocess.run([WORKLINK, "airflow", "dags", "trigger", self.dag_id, "--run-id", run_id],
                              env=self.env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"triggering {self.dag_id} {run_id} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
