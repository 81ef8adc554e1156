"""With WORKLINK_EXECUTOR=celery every Airflow command started through worklink gets the broker and
the result backend (so `worklink airflow celery worker` joins `worklink serve`'s queues by hand),
and the settings that decide what happens to a task whose worker dies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from worklink.orchestration.executor import TASK_TIMEOUT, airflow_env, worker_hostname
from worklink.platform.database import runtime_env
from worklink.platform.redis_server import redis_server
from worklink.settings import load_settings

WORKLINK = str(Path(sys.executable).with_name("worklink"))
CELERY_VARIABLES = ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
                    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT", "AIRFLOW__CELERY__TASK_ACKS_LATE",
                    "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER", "AIRFLOW__CELERY__WORKER_CONCURRENCY",
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE")


@pytest.fixture
def broker(session_db, monkeypatch):
    for name in CELERY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    server = redis_server(load_settings().state_dir)
    was_running = server.is_running()
    yield server
    if not was_running:
        server.stop()


def test_local_adds_nothing_and_celery_adds_the_broker_and_backend(broker, monkeypatch):
    monkeypatch.setenv("WORKLINK_EXECUTOR", "local")
    base = runtime_env()
    assert airflow_env(load_settings(), base) == base
    monkeypatch.setenv("WORKLINK_EXECUTOR", "celery")
    env = airflow_env(load_settings(), runtime_env())
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == broker.url() and broker.is_running()
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    # a dead worker's message is not handed out again while Airflow's retry may run
    assert int(env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"]) > TASK_TIMEOUT.total_seconds()
    assert (env["AIRFLOW__CELERY__TASK_ACKS_LATE"], env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"]) == ("True", "1")
    # an operator's own broker (elsewhere) wins, and so does any setting given explicitly
    elsewhere = "redis://:pw@redis.council.example:6379/0"
    monkeypatch.setenv("AIRFLOW__CELERY__BROKER_URL", elsewhere)
    monkeypatch.setenv("AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER", "4")
    env = airflow_env(load_settings(), {**runtime_env(), **os.environ})
    assert (env["AIRFLOW__CELERY__BROKER_URL"], env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"]) == (elsewhere, "4")


def test_worklink_airflow_passes_the_broker_to_the_airflow_command(broker):
    """What Airflow itself reads through `worklink airflow` (the path `worklink airflow celery worker` takes)."""
    env = {**os.environ, "WORKLINK_EXECUTOR": "celery"}
    proc = subprocess.run([WORKLINK, "airflow", "config", "get-value", "celery", "broker_url"], env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == broker.url()
    # under the LocalExecutor no broker is started or passed: Airflow's placeholder remains
    broker.stop()
    proc = subprocess.run([WORKLINK, "airflow", "config", "get-value", "celery", "broker_url"],
                          env={**env, "WORKLINK_EXECUTOR": "local"}, capture_output=True, text=True, timeout=180)
    assert proc.stdout.strip() != broker.url() and not broker.is_running()


def test_outside_a_celery_worker_the_hostname_is_the_machines():
    from airflow.utils.net import getfqdn

    assert worker_hostname() == getfqdn()


def test_serve_runs_workers_by_default_and_none_with_only(broker, monkeypatch, tmp_path):
    """`worklink serve` on Celery runs two workers beside Airflow's processes; `serve --only ...` runs
    none, even when --only names exactly the default processes (workers then run elsewhere)."""
    from worklink.orchestration.supervisor import PROCESSES, Supervisor

    monkeypatch.setenv("WORKLINK_EXECUTOR", "celery")

    def children(**kwargs):
        supervisor = Supervisor("airflow", dict(runtime_env()), tmp_path / "logs", processes=PROCESSES,
                                executor="celery", **kwargs)
        return [child.name for child in supervisor.children]

    assert children() == [*PROCESSES, "celery-worker-1", "celery-worker-2"]
    assert children(celery_workers=True) == [*PROCESSES, "celery-worker-1", "celery-worker-2"]
    assert children(celery_workers=False) == list(PROCESSES)
