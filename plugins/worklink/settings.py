"""Where worklink keeps things, read from the environment once.

Every setting has a documented default so a fresh clone runs with none set. The
one setting people change is ``WORKLINK_DATABASE_URL``: leave it unset to use the
embedded PostgreSQL that worklink starts under ``.worklink/``; set it to use an
existing server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# plugins/worklink/settings.py -> repository root (the package is installed editable).
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    repo_root: Path
    state_dir: Path  # everything generated locally; ignored by git
    database_url: str | None  # None -> embedded server
    airflow_database_url: str | None
    pg_port: int | None  # None: embedded server picks 54329 if free, else a free port
    landing_dir: Path
    sample_dir: Path
    # Deliveries due before this date are not judged late or missing (None: from the platform's
    # first ingest run): a history loaded on the first night was not late, the platform simply
    # was not there. Set it when the platform takes over feeds that were already being sent.
    deliveries_watched_from: str | None = None
    # Where platform alerts to the data engineers go (failed nights, late and missing feeds, held
    # files, errors): WORKLINK_ENGINEER_EMAILS, comma-separated; none set -> the log only.
    engineer_emails: tuple[str, ...] = ()
    # Who partners contact about their data-quality alerts (WORKLINK_PLATFORM_CONTACT), named in
    # every alert.
    platform_contact: str = "the worklink data team, dq-alerts@worklink.invalid"
    # How Airflow runs tasks under `worklink serve` (WORKLINK_EXECUTOR): "local" (LocalExecutor,
    # tasks as subprocesses of the scheduler) or "celery" (CeleryExecutor: a Redis broker the
    # project starts and two Celery workers; worklink.orchestration.executor).
    executor: str = "local"

    @property
    def dbt_project_dir(self) -> Path:
        return self.repo_root / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.repo_root / "expectations"

    @property
    def contracts_dir(self) -> Path:
        return self.repo_root / "contracts"

    @property
    def dags_dir(self) -> Path:
        return self.repo_root / "dags"

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow"

    @property
    def archive_dir(self) -> Path:
        return self.state_dir / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.state_dir / "reports"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None


def load_settings() -> Settings:
    env = os.environ
    state_dir = Path(env.get("WORKLINK_STATE_DIR", REPO_ROOT / ".worklink")).resolve()
    sample_dir = state_dir / "sample"
    return Settings(
        repo_root=REPO_ROOT,
        state_dir=state_dir,
        database_url=env.get("WORKLINK_DATABASE_URL") or None,
        airflow_database_url=env.get("WORKLINK_AIRFLOW_DATABASE_URL") or None,
        pg_port=int(env["WORKLINK_PG_PORT"]) if env.get("WORKLINK_PG_PORT") else None,
        landing_dir=Path(env.get("WORKLINK_LANDING_DIR", sample_dir / "landing")).resolve(),
        sample_dir=sample_dir,
        deliveries_watched_from=env.get("WORKLINK_DELIVERIES_WATCHED_FROM") or None,
        platform_contact=env.get("WORKLINK_PLATFORM_CONTACT") or "the worklink data team, dq-alerts@worklink.invalid",
        executor=_executor(env.get("WORKLINK_EXECUTOR")),
        engineer_emails=tuple(a.strip() for a in env.get("WORKLINK_ENGINEER_EMAILS", "").split(",") if a.strip()),
    )


EXECUTORS = ("local", "celery")


def _executor(value: str | None) -> str:
    executor = (value or "local").strip().lower()
    if executor not in EXECUTORS:
        raise ValueError(f"WORKLINK_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {value!r}")
    return executor
