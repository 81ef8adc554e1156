"""Which PostgreSQL worklink talks to, and the environment Airflow and dbt need to reach it.

One setting decides it: ``WORKLINK_DATABASE_URL``. Unset, worklink starts (or reuses)
its embedded server; set, it uses that server and never starts one. Airflow's
metadata database sits on the same server in its own database (``airflow`` on the
embedded server; ``WORKLINK_AIRFLOW_DATABASE_URL`` for an existing server, default:
the warehouse URL with the database name ``<name>_airflow``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from worklink.platform.embedded_postgres import AIRFLOW_DB, EmbeddedPostgres
from worklink.platform.private_files import make_private, private_dir, write_private_text
from worklink.settings import Settings, load_settings


def embedded_server(settings: Settings | None = None) -> EmbeddedPostgres:
    settings = settings or load_settings()
    return EmbeddedPostgres(
        root=settings.state_dir / "pg", preferred_port=settings.pg_port, secrets_dir=settings.state_dir / "secrets"
    )


def ensure_database(settings: Settings | None = None) -> str:
    """Return the warehouse URL, starting the embedded server first when it is the one in use."""
    settings = settings or load_settings()
    if settings.uses_embedded_database:
        embedded_server(settings).start()
    return warehouse_url(settings)


def warehouse_url(settings: Settings | None = None) -> str:
    settings = settings or load_settings()
    if settings.database_url:
        return settings.database_url
    return embedded_server(settings).url()


def airflow_metadata_url(settings: Settings | None = None) -> str:
    settings = settings or load_settings()
    if settings.airflow_database_url:
        return settings.airflow_database_url
    if settings.database_url:
        url = make_url(settings.database_url)
        return url.set(database=f"{url.database}_airflow").render_as_string(hide_password=False)
    return embedded_server(settings).url(AIRFLOW_DB)


def sqlalchemy_url(url: str, driver: str = "psycopg") -> URL:
    """The same server with an explicit driver (``postgresql://`` alone means psycopg2 to SQLAlchemy)."""
    return make_url(url).set(drivername=f"postgresql+{driver}")


def libpq_url(url: str) -> str:
    """A URL psql and psycopg accept (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def runtime_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment for Airflow and dbt subprocesses so they share one setup.

    Kept in one place so the CLI, the tests and a hand-started scheduler agree.
    """
    settings = settings or load_settings()
    wh = make_url(warehouse_url(settings))
    af = sqlalchemy_url(airflow_metadata_url(settings), driver="psycopg2")
    airflow_home = prepare_airflow_home(settings)
    api_host, api_port = airflow_api_address()
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        # The worklink package is installed (editable); Airflow must not import plugins/ file by file
        # as Airflow plugins, so its plugin folder is an empty one of ours.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(airflow_home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": os.environ.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # Tasks are CPU-bound (pandas, GX, Splink, dbt): more at once than cores only thrashes.
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", str(max(2, os.cpu_count() or 2))),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": af.render_as_string(hide_password=False),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__API__HOST": api_host,
        "AIRFLOW__API__PORT": str(api_port),
        # Workers reach the API server's execution API here; Airflow's default assumes port 8080.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": os.environ.get(
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://{_client_host(api_host)}:{api_port}/execution/"),
        # OpenLineage (Airflow's provider): every task's start and end as lineage events, to a file
        # by default so it works offline; point AIRFLOW__OPENLINEAGE__TRANSPORT at Marquez or
        # DataHub instead (docs/operations.md).
        "AIRFLOW__OPENLINEAGE__NAMESPACE": os.environ.get("AIRFLOW__OPENLINEAGE__NAMESPACE", "worklink"),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": os.environ.get("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(
            {"type": "file", "log_file_path": str(openlineage_events_file(settings)), "append": True})),
        # Airflow's own overhead in a night (docs/benchmarks.md, "Nightly under the scheduler"): the DAG
        # processor parsed the two unchanged DAG files every 30 s, a third of Airflow's CPU in a night.
        # A DAG file whose modification time changes is parsed again at once whatever this says
        # (file_parsing_sort_mode modified_time); the interval only bounds how late a change in
        # contracts/, which the DAG files read, shows up (or `worklink airflow dags reserialize`).
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": os.environ.get(
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL", "600"),
        # two DAG files: one parser process is enough, a second only competes for the 2 cores
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": os.environ.get("AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES", "1"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
        "WORKLINK_DBT_HOST": wh.host or "127.0.0.1",
        "WORKLINK_DBT_PORT": str(wh.port or 5432),
        "WORKLINK_DBT_USER": wh.username or "",
        "WORKLINK_DBT_PASSWORD": wh.password or "",
        "WORKLINK_DBT_DBNAME": wh.database or "",
        "WORKLINK_DATABASE_URL_RESOLVED": libpq_url(wh.render_as_string(hide_password=False)),
        "WORKLINK_STATE_DIR": str(settings.state_dir),
        "WORKLINK_LANDING_DIR": str(settings.landing_dir),
        "PYTHONPATH": os.pathsep.join(
            p for p in [str(settings.repo_root / "plugins"), os.environ.get("PYTHONPATH", "")] if p
        ),
    }
    return env



#: Airflow's secret files in AIRFLOW_HOME: its config (fernet key, JWT secret, metadata URL) and
#: the UI's generated admin password.
AIRFLOW_SECRET_FILES = ("airflow.cfg", "simple_auth_manager_passwords.json.generated", "webserver_config.py")


def prepare_airflow_home(settings: Settings | None = None) -> Path:
    """AIRFLOW_HOME as a 700 folder whose secret files are 600.

    Airflow writes its admin password file with the process umask (644 by default), so it is
    created here first, empty and 600 (Airflow then fills it in place); files an older setup left
    readable are narrowed.
    """
    settings = settings or load_settings()
    home = private_dir(settings.airflow_home)
    passwords = home / "simple_auth_manager_passwords.json.generated"
    if not passwords.exists():
        write_private_text(passwords, "")
    make_private(home / name for name in AIRFLOW_SECRET_FILES)
    private_dir(openlineage_events_file(settings).parent)
    return home


def openlineage_events_file(settings: Settings | None = None) -> Path:
    """Where the default (file) OpenLineage transport appends its events, one JSON document a line."""
    settings = settings or load_settings()
    return settings.airflow_home / "openlineage" / "events.jsonl"


def airflow_api_address() -> tuple[str, int]:
    """Where the Airflow API server and UI listen: 127.0.0.1:8080 unless ``AIRFLOW__API__HOST`` /
    ``AIRFLOW__API__PORT`` say otherwise (set the host to 0.0.0.0 only behind a firewall or proxy)."""
    host = os.environ.get("AIRFLOW__API__HOST") or "127.0.0.1"
    return host, int(os.environ.get("AIRFLOW__API__PORT") or 8080)


def _client_host(listen_host: str) -> str:
    """An address a worker on this machine can reach the API server at."""
    if listen_host in ("0.0.0.0", "", "*"):
        return "127.0.0.1"
    if listen_host == "::":
        return "[::1]"
    return f"[{listen_host}]" if ":" in listen_host and not listen_host.startswith("[") else listen_host
