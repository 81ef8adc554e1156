"""Every ``WORKLINK_*`` setting, read from the environment in one place.

Every setting has a documented default so a fresh clone runs with none set. The one setting
people change is ``WORKLINK_DATABASE_URL``: leave it unset to use the embedded PostgreSQL that
worklink starts under ``.worklink/``; set it to use an existing server.

Each field of :class:`Settings` names its variable, its default and its meaning (``setting()``);
the README's settings table is generated from them (``worklink settings --markdown``) and a test
keeps the two equal. Modules never read ``os.environ`` for a ``WORKLINK_*`` variable themselves:
they call :func:`load_settings`, which reads the environment afresh each time (cheap), so a
variable set in a process (tests, ``worklink identity rotate-key``) is seen at once.

Adding a setting: a field with ``setting(...)`` here, its read in :func:`load_settings`, then
``worklink settings --markdown --write README.md``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# plugins/worklink/settings.py -> repository root (the package is installed editable).
REPO_ROOT = Path(__file__).resolve().parents[2]

#: The database roles whose passwords may come from ``WORKLINK_<ROLE>_PASSWORD``
#: (``worklink.platform.roles`` defines what each may read).
DATABASE_ROLES = ("worklink_loader", "worklink_evaluator", "worklink_public")

DEFAULT_PLATFORM_CONTACT = "the worklink data team, dq-alerts@worklink.invalid"

#: The first line of the settings table in the README (the table runs to the next line not starting with "|").
TABLE_HEADER = "| variable | default | meaning |"


def setting(variables: str | tuple[str, ...], default_text: str, meaning: str, *, label: str | None = None,
            secret: bool = False, **kwargs) -> dataclasses.Field:
    """A Settings field with its documentation: the environment variable(s) it is read from, the
    default in words, and what it means. ``secret`` keeps the value out of ``repr``."""
    names = (variables,) if isinstance(variables, str) else tuple(variables)
    metadata = {"env": names, "label": label or ", ".join(f"`{n}`" for n in names),
                "default_text": default_text, "meaning": meaning, "secret": secret}
    return field(metadata=metadata, repr=not secret, **kwargs)


@dataclass(frozen=True)
class DbtProfile:
    """The connection dbt's profile (dbt_project/profiles.yml) reads from ``WORKLINK_DBT_*``."""

    host: str
    port: str
    user: str
    password: str = field(repr=False)
    dbname: str


@dataclass(frozen=True)
class Settings:
    repo_root: Path
    sample_dir: Path  # <state dir>/sample: generated sample feeds and their truth
    state_dir: Path = setting(
        "WORKLINK_STATE_DIR", "`.worklink`",
        "archive, Airflow home, embedded server, secrets, reports (everything generated; ignored by git)")
    database_url: str | None = setting(
        "WORKLINK_DATABASE_URL", "unset: embedded server", "the warehouse database", default=None)
    airflow_database_url: str | None = setting(
        "WORKLINK_AIRFLOW_DATABASE_URL", "same server, database `airflow` / `<name>_airflow`",
        "Airflow metadata", default=None)
    landing_dir: Path = setting(
        "WORKLINK_LANDING_DIR", "`.worklink/sample/landing`",
        "where partners' files land (`<partner>/<feed>/<file>`)", default=None)
    # True when WORKLINK_LANDING_DIR is set (even to the sample's folder): `worklink nightly` then
    # never generates sample feeds.
    landing_dir_configured: bool = False
    pg_port: int | None = setting(
        "WORKLINK_PG_PORT", "54329, or a free port if taken",
        "port of a new embedded server (127.0.0.1 only); kept in `.worklink/pg/port`", default=None)
    pg_bindir: Path | None = setting(
        "WORKLINK_PG_BINDIR", "newest `/usr/lib/postgresql/*/bin`",
        "PostgreSQL binaries for the embedded server", default=None)
    role_passwords: Mapping[str, str] = setting(
        tuple(f"{role.upper()}_PASSWORD" for role in DATABASE_ROLES), "`.worklink/secrets/roles.json`",
        "password of `worklink_loader` / `_evaluator` / `_public`", label="`WORKLINK_<ROLE>_PASSWORD`",
        secret=True, default_factory=dict, hash=False)
    pseudonym_key: str | None = setting(
        "WORKLINK_PSEUDONYM_KEY", "`.worklink/secrets/pseudonym.key` (generated)",
        "master key of the identifier pseudonyms (hex); production: from the secret store",
        secret=True, default=None)
    archive_key: str | None = setting(
        "WORKLINK_ARCHIVE_KEY", "`.worklink/secrets/archive.key` (generated)",
        "key the received files are sealed with (64 hex characters); production: from the secret store",
        secret=True, default=None)
    archive_old_keys: tuple[str, ...] = setting(
        "WORKLINK_ARCHIVE_OLD_KEYS", "none", "earlier archive keys, comma-separated, for reading during a rotation",
        secret=True, default=())
    # Deliveries due before this date are not judged late or missing (None: from the platform's
    # first ingest run): a history loaded on the first night was not late, the platform simply
    # was not there. Set it when the platform takes over feeds that were already being sent.
    deliveries_watched_from: str | None = setting(
        "WORKLINK_DELIVERIES_WATCHED_FROM", "the first ingest run",
        "deliveries due before this date (YYYY-MM-DD) are never judged late or missing", default=None)
    # Where platform alerts to the data engineers go (failed nights, late and missing feeds, held
    # files, errors); none set -> the log only.
    engineer_emails: tuple[str, ...] = setting(
        "WORKLINK_ENGINEER_EMAILS", "none: the log only",
        "data engineers told about failed nights, late feeds, held files (comma-separated)", default=())
    platform_contact: str = setting(
        "WORKLINK_PLATFORM_CONTACT", "the worklink data team",
        "who partners ask about their data-quality alerts (named in each alert)", default=DEFAULT_PLATFORM_CONTACT)
    alert_from: str | None = setting(
        "WORKLINK_ALERT_FROM", "`dq-alerts@worklink.invalid` (partners), `worklink@localhost` (engineers)",
        "sender address of the emails worklink sends", default=None)
    task_retry_delay_seconds: int = setting(
        "WORKLINK_TASK_RETRY_DELAY_SECONDS", "120", "wait before a failed task's one retry", default=120)
    linkage_settings: Path | None = setting(
        "WORKLINK_LINKAGE_SETTINGS", "`plugins/worklink/linkage/settings.yml`",
        "the linkage model's settings file (blocking rules, comparisons, thresholds)", default=None)
    reviewer: str | None = setting(
        "WORKLINK_REVIEWER", "the OS user", "name recorded with clerical-review decisions", default=None)
    contracts_root: Path | None = setting(
        "WORKLINK_CONTRACTS_DIR", "`contracts/`",
        "the partner folders and feed contracts (tests add a partner in a copy)", default=None)
    retention_nightly: bool = setting(
        "WORKLINK_RETENTION_NIGHTLY", "off",
        "`1`: the nightly deletes expired identifiers and files ([docs/data-protection.md](docs/data-protection.md))",
        default=False)
    retention_config: Path | None = setting(
        "WORKLINK_RETENTION_CONFIG", "`plugins/worklink/platform/retention.yml`",
        "the platform stores' retention rules and their basis", default=None)
    retention_evaluation_months: int | None = setting(
        "WORKLINK_RETENTION_EVALUATION_MONTHS", "the config's `evaluation_period_months` (24)",
        "months identifiable data is kept after the programme ends, for the evaluation", default=None)
    actor: str | None = setting(
        "WORKLINK_ACTOR", "the OS user", "who is named in the data-protection log (retention, erasure)",
        default=None)
    portal_max_upload_mb: float = setting(
        "WORKLINK_PORTAL_MAX_UPLOAD_MB", "20", "largest file the upload page accepts", default=20.0)
    portal_max_unpacked_mb: float = setting(
        "WORKLINK_PORTAL_MAX_UNPACKED_MB", "100", "largest unpacked size of an uploaded workbook (zip bombs)",
        default=100.0)
    portal_max_unpack_ratio: float = setting(
        "WORKLINK_PORTAL_MAX_UNPACK_RATIO", "100", "largest unpacked/packed size ratio of an uploaded workbook",
        default=100.0)
    portal_session_idle_minutes: int = setting(
        "WORKLINK_PORTAL_SESSION_IDLE_MINUTES", "30", "upload-page sessions end after this long idle", default=30)
    portal_secure_cookies: bool = setting(
        "WORKLINK_PORTAL_SECURE_COOKIES", "off", "`1` when the upload page is served over HTTPS (cookies need TLS)",
        default=False)
    # How Airflow runs tasks under `worklink serve`: LocalExecutor (tasks as subprocesses of the
    # scheduler) or CeleryExecutor (a Redis broker the project starts and two Celery workers;
    # worklink.orchestration.executor).
    executor: str = setting(
        "WORKLINK_EXECUTOR", "`local`",
        "`local` (LocalExecutor) or `celery` (Redis broker + two Celery workers; [docs/operations.md](docs/operations.md))",
        default="local")
    dbt_profile: DbtProfile | None = setting(
        ("WORKLINK_DBT_HOST", "WORKLINK_DBT_PORT", "WORKLINK_DBT_USER", "WORKLINK_DBT_PASSWORD", "WORKLINK_DBT_DBNAME"),
        "set by worklink from the warehouse URL",
        "the connection dbt's profile uses; set by hand only to run dbt without worklink",
        label="`WORKLINK_DBT_HOST`, `_PORT`, `_USER`, `_PASSWORD`, `_DBNAME`", secret=True, default=None)

    @property
    def dbt_project_dir(self) -> Path:
        return self.repo_root / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.repo_root / "expectations"

    @property
    def contracts_dir(self) -> Path:
        return (self.contracts_root or self.repo_root / "contracts").resolve()

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


def _whole_number(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = env.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None


EXECUTORS = ("local", "celery")


def _executor(value: str | None) -> str:
    executor = (value or "local").strip().lower()
    if executor not in EXECUTORS:
        raise ValueError(f"WORKLINK_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {value!r}")
    return executor


def _switch(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def load_settings() -> Settings:
    env = os.environ
    state_dir = Path(env.get("WORKLINK_STATE_DIR", REPO_ROOT / ".worklink")).resolve()
    sample_dir = state_dir / "sample"
    dbt = None
    if "WORKLINK_DBT_HOST" in env:  # the profile's defaults (dbt_project/profiles.yml) for the rest
        dbt = DbtProfile(host=env["WORKLINK_DBT_HOST"], port=env.get("WORKLINK_DBT_PORT", "54329"),
                         user=env.get("WORKLINK_DBT_USER", "worklink"),
                         password=env.get("WORKLINK_DBT_PASSWORD", ""),
                         dbname=env.get("WORKLINK_DBT_DBNAME", "worklink"))
    return Settings(
        repo_root=REPO_ROOT,
        state_dir=state_dir,
        database_url=env.get("WORKLINK_DATABASE_URL") or None,
        airflow_database_url=env.get("WORKLINK_AIRFLOW_DATABASE_URL") or None,
        pg_port=_whole_number(env, "WORKLINK_PG_PORT", None),
        pg_bindir=Path(env["WORKLINK_PG_BINDIR"]) if env.get("WORKLINK_PG_BINDIR") else None,
        landing_dir=Path(env.get("WORKLINK_LANDING_DIR", sample_dir / "landing")).resolve(),
        landing_dir_configured="WORKLINK_LANDING_DIR" in env,
        sample_dir=sample_dir,
        role_passwords={role: env[name] for role in DATABASE_ROLES
                        if env.get(name := f"{role.upper()}_PASSWORD")},
        pseudonym_key=env.get("WORKLINK_PSEUDONYM_KEY") or None,
        archive_key=env.get("WORKLINK_ARCHIVE_KEY") or None,
        archive_old_keys=tuple(filter(None, env.get("WORKLINK_ARCHIVE_OLD_KEYS", "").split(","))),
        deliveries_watched_from=env.get("WORKLINK_DELIVERIES_WATCHED_FROM") or None,
        platform_contact=env.get("WORKLINK_PLATFORM_CONTACT") or DEFAULT_PLATFORM_CONTACT,
        executor=_executor(env.get("WORKLINK_EXECUTOR")),
        engineer_emails=tuple(a.strip() for a in env.get("WORKLINK_ENGINEER_EMAILS", "").split(",") if a.strip()),
        alert_from=env.get("WORKLINK_ALERT_FROM") or None,
        task_retry_delay_seconds=_whole_number(env, "WORKLINK_TASK_RETRY_DELAY_SECONDS", 120),
        linkage_settings=Path(env["WORKLINK_LINKAGE_SETTINGS"]) if env.get("WORKLINK_LINKAGE_SETTINGS") else None,
        reviewer=env.get("WORKLINK_REVIEWER") or None,
        contracts_root=Path(env["WORKLINK_CONTRACTS_DIR"]) if env.get("WORKLINK_CONTRACTS_DIR") else None,
        retention_nightly=_switch(env, "WORKLINK_RETENTION_NIGHTLY"),
        retention_config=Path(env["WORKLINK_RETENTION_CONFIG"]) if env.get("WORKLINK_RETENTION_CONFIG") else None,
        retention_evaluation_months=_whole_number(env, "WORKLINK_RETENTION_EVALUATION_MONTHS", None),
        actor=env.get("WORKLINK_ACTOR") or None,
        portal_max_upload_mb=_number(env, "WORKLINK_PORTAL_MAX_UPLOAD_MB", 20.0),
        portal_max_unpacked_mb=_number(env, "WORKLINK_PORTAL_MAX_UNPACKED_MB", 100.0),
        portal_max_unpack_ratio=_number(env, "WORKLINK_PORTAL_MAX_UNPACK_RATIO", 100.0),
        portal_session_idle_minutes=int(_number(env, "WORKLINK_PORTAL_SESSION_IDLE_MINUTES", 30)),
        portal_secure_cookies=_switch(env, "WORKLINK_PORTAL_SECURE_COOKIES"),
        dbt_profile=dbt,
    )


def documented_settings() -> list[dataclasses.Field]:
    """The Settings fields read from the environment, in the order the README lists them."""
    return [f for f in dataclasses.fields(Settings) if "env" in f.metadata]


def setting_variables() -> set[str]:
    """Every WORKLINK_* environment variable worklink reads."""
    return {name for f in documented_settings() for name in f.metadata["env"]}


def settings_markdown() -> str:
    """The README's settings table, from the fields' documentation."""
    lines = [TABLE_HEADER, "|---|---|---|"]
    for f in documented_settings():
        m = f.metadata
        lines.append(f"| {m['label']} | {m['default_text']} | {m['meaning']} |")
    return "\n".join(lines) + "\n"


def readme_table(text: str) -> str:
    """The settings table in ``text`` (the README): from its header to the last line of the table."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == TABLE_HEADER), None)
    if start is None:
        raise ValueError(f"no settings table (a line {TABLE_HEADER!r}) found")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[start:end])


def replace_readme_table(text: str, table: str | None = None) -> str:
    """``text`` (the README) with its settings table replaced by the generated one."""
    old = readme_table(text)
    return text.replace(old, table or settings_markdown(), 1)
