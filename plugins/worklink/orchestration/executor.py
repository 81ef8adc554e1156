"""Which Airflow executor runs the tasks: ``WORKLINK_EXECUTOR=local`` (default) or ``celery``.

local: Airflow's LocalExecutor; the scheduler runs each task as its own subprocess, at most
``AIRFLOW__CORE__PARALLELISM`` at once. One machine.

celery: Airflow's CeleryExecutor (provider ``apache-airflow-providers-celery``). The scheduler
puts each task on a Redis queue (the project's own Redis, ``worklink.platform.redis_server``) and
Celery workers take them; task states go to Celery's result backend in Airflow's metadata
database (``db+postgresql``). ``worklink serve`` starts the broker and ``CELERY_WORKERS`` workers
beside the scheduler; ``worklink airflow ...`` passes the same broker settings (``airflow_env``), so
``worklink airflow celery worker --queues ...`` adds a worker by hand, here or on another machine
with the same settings; ``worklink flower`` shows the queues and workers (docs/deploy.md, section 9,
also for what happens to a task whose worker dies).

Heavy tasks go to a queue of their kind (``QUEUES``, set by ``worklink.orchestration.dags``): every
partner's ingest on ``ingest``, the linkage on ``linkage``, dbt on ``dbt``; light ones (alerts,
delivery checks, the night's verdict) stay on Airflow's default queue. The workers here listen on
all of them, so the night's partner ingests spread over both; a bigger deployment gives the
linkage (memory) and dbt (database) queues workers of their own without touching the DAG.
"""

from __future__ import annotations

import os

from worklink.orchestration.night import TASK_TIMEOUT
from worklink.settings import Settings

#: Celery queue of each heavy task kind (the task's ``queue``; LocalExecutor ignores it).
QUEUES = {"ingest": "ingest", "linkage": "linkage", "dbt": "dbt"}
#: Workers `worklink serve` starts with the CeleryExecutor.
CELERY_WORKERS = 2
AIRFLOW_EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}


def default_queue(env: dict[str, str]) -> str:
    return env.get("AIRFLOW__OPERATORS__DEFAULT_QUEUE") or "default"


def worker_queues(env: dict[str, str]) -> list[str]:
    return [default_queue(env), *QUEUES.values()]


def celery_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The settings Airflow's CeleryExecutor and its workers need, starting the broker if it is down.

    Explicit ``AIRFLOW__CELERY__*`` settings in ``env`` win (an existing broker elsewhere)."""
    from worklink.platform.redis_server import redis_server

    extra = {"AIRFLOW__CORE__EXECUTOR": AIRFLOW_EXECUTORS["celery"]}
    if not env.get("AIRFLOW__CELERY__BROKER_URL"):
        server = redis_server(settings.state_dir)
        server.start()
        extra["AIRFLOW__CELERY__BROKER_URL"] = server.url()
    if not env.get("AIRFLOW__CELERY__RESULT_BACKEND"):
        extra["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    # What happens when a worker dies mid-task (killed, out of memory, its machine gone) -- the
    # settings below; docs/deploy.md explains each:
    # 1. Airflow, not Celery, tries the task again. The task's supervisor on the worker heartbeats
    #    to the API server; the scheduler fails a running task whose heartbeats stopped for
    #    [scheduler] task_instance_heartbeat_timeout (Airflow's default, 300 s) and, the task having
    #    retries, queues its next try, which any live worker takes.
    # 2. Celery never hands the dead worker's message out again while that retry may run: a message
    #    delivered and not acknowledged comes back only after the visibility timeout, which is set
    #    longer than any task may run (TASK_TIMEOUT). Should it come back after all, the execution
    #    API refuses to start a try that is no longer the task's current one.
    # 3. A worker holds only the tasks it runs (acknowledged when they end, prefetch 1): none waits
    #    behind a long task in the buffer of a worker that may die, so the retry and the rest of the
    #    night go to the live workers at once. These are Airflow's defaults, stated here on purpose.
    defaults = {
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(int(TASK_TIMEOUT.total_seconds()) + 3600),
        "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        # Tasks are CPU-bound: the workers together run as many at once as the machine has cores.
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(max(1, (os.cpu_count() or 2) // CELERY_WORKERS)),
        # Each try records the Celery worker that ran it (task_instance.hostname and its history):
        # on one machine every worker has the machine's name, so Airflow's default would not tell.
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worklink.orchestration.executor.worker_hostname",
    }
    extra.update({name: value for name, value in defaults.items() if not env.get(name)})
    return extra


def airflow_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """``env`` with what the configured executor needs: for ``celery`` the broker and result backend
    (the broker started if it is down), so that an Airflow command started by hand (``worklink
    airflow celery worker``, ``worklink airflow scheduler``) joins the same queues as ``worklink serve``."""
    if settings.executor != "celery":
        return dict(env)
    return {**env, **celery_env(settings, env)}


_worker_name: str | None = None


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` under Celery: the Celery worker's node name (its
    ``--celery-hostname``, e.g. ``worker1@machine``) inside a worker, else the machine's name as
    Airflow's default gives it. A worker process keeps the name once seen: a task's start and its
    heartbeats must give the same name, or the API server stops the task."""
    global _worker_name
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - the Celery provider brings it
        current_task = None
    request = getattr(current_task, "request", None) if current_task else None
    name = getattr(request, "hostname", None)
    if name:
        _worker_name = name
    if _worker_name:
        return _worker_name
    from airflow.utils.net import getfqdn

    return getfqdn()


def worker_args(airflow: str, number: int, env: dict[str, str]) -> list[str]:
    """`airflow celery worker` for worker ``number`` of this machine: its own Celery node name (two
    workers of one name on one machine clash), no log server (both would take port 8793; the API
    server reads the task logs from the shared log folder)."""
    return [airflow, "celery", "worker",
            "--queues", ",".join(worker_queues(env)),
            "--concurrency", env.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "1"),
            "--celery-hostname", f"worker{number}@%h",
            "--skip-serve-logs"]


def broker_running(settings: Settings, env: dict[str, str]) -> bool | None:
    """None when the broker is not ours (an explicit AIRFLOW__CELERY__BROKER_URL elsewhere)."""
    from worklink.platform.redis_server import redis_server

    server = redis_server(settings.state_dir)
    if env.get("AIRFLOW__CELERY__BROKER_URL") != server.url():
        return None
    return server.is_running()
