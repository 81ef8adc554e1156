"""The ``worklink`` command: database, sample data, ingestion and the nightly run.

Heavy imports (Airflow, GX, dbt, pandas) happen inside commands so ``--help`` is instant.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click

from worklink.settings import load_settings


def _echo_step(message: str) -> None:
    click.secho(f"==> {message}", fg="cyan", err=True)


def _subprocess_env() -> dict[str, str]:
    from worklink.platform.database import runtime_env

    # Airflow's standalone mode and the dbt task start `airflow` / `dbt` by name: find ours first.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, **runtime_env(), "PATH": path}


def _venv_bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def database_error_line(exc: BaseException) -> str | None:
    """One line for a database that cannot be reached (no traceback, no password), else None."""
    try:
        import psycopg
        import sqlalchemy.exc
    except ImportError:  # pragma: no cover
        return None
    cause = exc.orig if isinstance(exc, sqlalchemy.exc.OperationalError) else exc
    if not isinstance(cause, psycopg.OperationalError):
        return None
    from sqlalchemy.engine import make_url

    settings = load_settings()
    source = "WORKLINK_DATABASE_URL" if settings.database_url else "the embedded PostgreSQL"
    where = ""
    if settings.database_url:
        try:
            url = make_url(settings.database_url)
            where = f" ({url.host}:{url.port or 5432}/{url.database})"
        except Exception:  # noqa: BLE001 - a malformed URL is itself the problem; say so below
            where = " (the URL does not parse)"
    first = next((line.strip() for line in str(cause).splitlines() if line.strip()), type(cause).__name__)
    return f"cannot connect to {source}{where}: {first}"


class WorklinkGroup(click.Group):
    """Turns "database unreachable" into one line and exit code 2, whatever the command."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            line = database_error_line(exc)
            if line is None:
                raise
            click.secho(f"Error: {line}", fg="red", err=True)
            ctx.exit(2)


@click.group(cls=WorklinkGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """worklink: the linked participant warehouse for employment-and-health programmes.

    \b
    Typical first run (what the README's first command does):
      worklink nightly          # start the DB, make sample data, run the nightly DAG in Airflow
      worklink psql -c 'select * from analytics.referrals_by_partner_month limit 5'

    Set WORKLINK_DATABASE_URL to use an existing PostgreSQL instead of the embedded one.
    """


# --------------------------------------------------------------------------------------- db
@main.group()
def db() -> None:
    """Manage the embedded PostgreSQL (data under .worklink/pg)."""


@db.command("start")
def db_start() -> None:
    """Start the embedded server (initialising it on first use); reuse it if running."""
    from worklink.platform.database import embedded_server

    settings = load_settings()
    if not settings.uses_embedded_database:
        click.echo("WORKLINK_DATABASE_URL is set: using that server, nothing to start.")
        return
    server = embedded_server(settings)
    was_running = server.is_running()
    server.start()
    click.echo(f"PostgreSQL {'already running' if was_running else 'started'} on 127.0.0.1:{server.port} "
               f"(data: {server.data_dir})")


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded server."""
    from worklink.platform.database import embedded_server

    stopped = embedded_server().stop()
    click.echo("stopped" if stopped else "not running")


@db.command("status")
def db_status() -> None:
    """Say whether the database is reachable; exit 1 when it is not."""
    from worklink.platform.database import embedded_server

    settings = load_settings()
    if not settings.uses_embedded_database:
        import psycopg

        try:
            psycopg.connect(settings.database_url, connect_timeout=5).close()
            click.echo("external database reachable (WORKLINK_DATABASE_URL)")
        except psycopg.OperationalError as exc:
            click.echo(f"external database NOT reachable: {exc}")
            sys.exit(1)
        return
    server = embedded_server(settings)
    if server.is_running():
        click.echo(f"running on 127.0.0.1:{server.port}, data in {server.data_dir}")
    else:
        click.echo("not running (worklink db start)")
        sys.exit(1)


@db.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_reset(yes: bool) -> None:
    """Drop and recreate the warehouse and Airflow databases (all loaded data is lost)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from worklink.platform.database import airflow_metadata_url, ensure_database, libpq_url

    urls = [make_url(ensure_database()), make_url(airflow_metadata_url())]
    if not yes:
        click.confirm(f"Drop databases {', '.join(u.database for u in urls)} on {urls[0].host}?", abort=True)
    admin = libpq_url(urls[0].set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        for url in urls:
            conn.execute(f'drop database if exists "{url.database}" with (force)')
            conn.execute(f'create database "{url.database}"')
    click.echo("reset: " + ", ".join(u.database for u in urls))


def _connection_url(database: str | None, airflow_db: bool, role: str | None) -> str:
    from sqlalchemy.engine import make_url

    from worklink.platform.database import airflow_metadata_url, ensure_database

    url = make_url(ensure_database())
    if airflow_db:
        url = make_url(airflow_metadata_url())
    if database:
        url = url.set(database=database)
    if role:
        from worklink.platform.roles import ROLES, UnknownRolePassword, role_password

        if role not in ROLES:
            raise click.BadParameter(f"{role} is not one of {', '.join(ROLES)}", param_hint="--role")
        try:
            url = url.set(username=role, password=role_password(role))
        except UnknownRolePassword as exc:
            raise click.ClickException(str(exc)) from None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _full_role_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`evaluator` is `worklink_evaluator` (and so on): the short names evaluators are told."""
    if value is None or value.startswith("worklink_"):
        return value
    return f"worklink_{value}"


_ROLE_OPTION = click.option("--role", default=None, metavar="ROLE", callback=_full_role_name,
                            help="Log in as loader, evaluator or public (worklink_loader, worklink_evaluator, "
                                 "worklink_public; default: the owner). evaluator and public are read-only.")


@db.command("url")
@click.option("--database", default=None, help="Database name (default: the warehouse).")
@click.option("--airflow", "airflow_db", is_flag=True, help="Print Airflow's metadata database URL instead.")
@_ROLE_OPTION
@click.option("--no-password", is_flag=True,
              help="Leave the password out (for a client that reads it from PGPASSFILE: `worklink db pgpass`).")
def db_url(database: str | None, airflow_db: bool, role: str | None, no_password: bool) -> None:
    """Print a postgresql:// URL that psql and SQLAlchemy accept (starts the embedded server).

    The URL holds the password: give it to programs through a file or the environment, not on a
    command line (other users see command lines). For psql use `worklink psql`.
    """
    from sqlalchemy.engine import make_url

    url = _connection_url(database, airflow_db, role)
    click.echo(make_url(url)._replace(password=None).render_as_string(hide_password=False) if no_password else url)


@db.command("pgpass")
def db_pgpass() -> None:
    """Write .worklink/secrets/pgpass (mode 600) for the owner and every role whose password is known here;
    print the line that points libpq clients at it."""
    from sqlalchemy.engine import make_url

    from worklink.platform.private_files import write_private_text
    from worklink.platform.roles import ROLES, UnknownRolePassword

    settings = load_settings()
    owner = make_url(_connection_url(None, False, None))
    airflow_db = make_url(_connection_url(None, True, None))

    def line(url) -> str:
        esc = [str(v).replace("\\", "\\\\").replace(":", "\\:") for v in
               (url.host, url.port or 5432, url.database, url.username, url.password)]
        return ":".join(esc)

    lines = [line(owner), line(airflow_db)]
    for role in ROLES:
        try:
            lines.append(line(make_url(_connection_url(None, False, role)).set(database="*")))
        except UnknownRolePassword:
            continue
    path = write_private_text(settings.state_dir / "secrets" / "pgpass", "\n".join(lines) + "\n")
    click.echo(f"export PGPASSFILE={path}")


@db.command("rotate-passwords")
@click.option("--role", "roles", multiple=True, metavar="ROLE",
              help="Only this role (repeatable); default: worklink_loader, worklink_evaluator, worklink_public.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_rotate_passwords(roles: tuple[str, ...], yes: bool) -> None:
    """Give worklink's database roles new passwords, on purpose.

    Roles are shared by every checkout and client of the server; nothing else ever changes their
    passwords. The new ones are WORKLINK_<ROLE>_PASSWORD when set, else random ones written to
    .worklink/secrets/roles.json (mode 600). Give them to everyone who logs in as those roles.
    """
    import psycopg

    from worklink.platform.database import ensure_database, libpq_url
    from worklink.platform.roles import ROLES, rotate_passwords

    chosen = roles or ROLES
    if not yes:
        click.confirm(f"New passwords for {', '.join(chosen)}? Their current passwords stop working.", abort=True)
    try:
        with psycopg.connect(libpq_url(ensure_database()), autocommit=True) as conn:
            changed = rotate_passwords(conn, tuple(chosen))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--role") from None
    click.echo(f"new passwords for {', '.join(changed)} (kept in {load_settings().state_dir / 'secrets'})")


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@_ROLE_OPTION
@click.option("--database", default=None, help="Database name (default: the warehouse).")
@click.option("--airflow", "airflow_db", is_flag=True, help="Connect to Airflow's metadata database.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def psql(role: str | None, database: str | None, airflow_db: bool, args: tuple[str, ...]) -> None:
    """Run psql on the warehouse; the password goes through the environment, never the command line.

    \b
    Examples:
      worklink psql -c 'select * from analytics.referrals_by_partner_month limit 5'
      worklink psql --role worklink_evaluator
    """
    from sqlalchemy.engine import make_url

    url = make_url(_connection_url(database, airflow_db, role))
    env = {**os.environ, "PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432),
           "PGDATABASE": url.database or "", "PGUSER": url.username or "", "PGPASSWORD": url.password or ""}
    binary = shutil.which("psql")
    if binary is None:
        from worklink.platform.embedded_postgres import EmbeddedPostgresError, _find_bindir

        try:
            binary = str(_find_bindir() / "psql")
        except EmbeddedPostgresError as exc:
            raise click.ClickException(f"psql not found: {exc}") from None
    os.execve(binary, [binary, *args], env)


# ------------------------------------------------------------- commands owned by subpackages
# Each subpackage keeps its command next to the code it drives; their modules import only click
# at the top, so `worklink --help` stays instant.
from worklink.identity.cli import identity_command  # noqa: E402
from worklink.linkage.cli import link_command  # noqa: E402
from worklink.platform.archive_cli import archive_command  # noqa: E402
from worklink.platform.audit_cli import audit_command  # noqa: E402
from worklink.report.cli import report_command  # noqa: E402
from worklink.synth.cli import generate_command  # noqa: E402

main.add_command(generate_command, name="generate")
main.add_command(link_command, name="link")
main.add_command(identity_command, name="identity")
main.add_command(report_command, name="report")
main.add_command(archive_command, name="archive")
main.add_command(audit_command, name="audit")
from worklink.platform.retention_cli import erase_command, retention_command  # noqa: E402

main.add_command(retention_command, name="retention")
main.add_command(erase_command, name="erase")

# Partner upload page (worklink.portal): `worklink portal`, `worklink portal user ...`.
from worklink.portal.cli import portal_command  # noqa: E402

main.add_command(portal_command, name="portal")


# --------------------------------------------------------------------------------- contracts
@main.group()
def contracts() -> None:
    """Feed contracts (contracts/<partner>/<feed>.yml) and the GX suites derived from them."""


@contracts.command("check")
def contracts_check() -> None:
    """Validate every contract against the schema and list them."""
    from worklink.contracts import load_contracts

    for contract in load_contracts():
        click.echo(f"ok  {contract.key:45} -> raw.{contract.target_table}  ({len(contract.columns)} columns)")


@contracts.command("build-suites")
def contracts_build_suites() -> None:
    """(Re)write expectations/<partner>__<feed>.json from the contracts."""
    from worklink.contracts import load_contracts
    from worklink.quality.suites import write_suite

    settings = load_settings()
    settings.expectations_dir.mkdir(exist_ok=True)
    for contract in load_contracts():
        click.echo(f"wrote {write_suite(contract, settings.expectations_dir).relative_to(settings.repo_root)}")


@contracts.command("build-seeds")
def contracts_build_seeds() -> None:
    """(Re)write dbt_project/seeds/delivery_partners.csv and partner_grants.csv from the partner
    folders (contracts/<partner>/partner.yml), and macros/code_list.sql from contracts/_code_lists.yml.
    The nightly does this before dbt runs."""
    from worklink.seeds import write_generated

    changed = write_generated()
    click.echo("\n".join(f"wrote {p}" for p in changed) or "dbt files already match contracts/")


@contracts.command("build-docs")
def contracts_build_docs() -> None:
    """(Re)write the rules table of docs/ingestion.md from the rule registry (worklink.rules)."""
    from worklink.rules import with_docs_table

    path = load_settings().repo_root / "docs" / "ingestion.md"
    path.write_text(with_docs_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    click.echo(f"wrote the rules table of {path}")


@contracts.command("template")
@click.argument("partner")
@click.argument("feed")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="File to write (.xlsx or .csv, as the feed is agreed); default: the name the feed "
                   "expects for the period, in the current folder.")
@click.option("--period", default=None, metavar="YYYY-MM", help="Period of the example row (default: last month).")
def contracts_template(partner: str, feed: str, out: Path | None, period: str | None) -> None:
    """Write a template for PARTNER's FEED: its own headers, an example row, the date format, and
    (in a workbook) drop-down lists for coded columns and a guide sheet.

    \b
    Example:
      worklink contracts template ancoats_trust referrals --out ACT_referrals_2025-09.xlsx --period 2025-09
    """
    from worklink.contracts import load_contracts
    from worklink.feed_templates import default_period, template_name, write_template

    matching = [c for c in load_contracts() if c.partner.id == partner and c.feed == feed]
    if not matching:
        raise click.UsageError(f"no contract for partner {partner!r} and feed {feed!r} (see `worklink contracts check`)")
    contract = matching[0]
    if period is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise click.BadParameter("give the period as YYYY-MM", param_hint="--period")
    period = period or default_period(contract)
    try:
        path = write_template(contract, out or Path(template_name(contract, period)), period)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {path} (check it with: worklink check {path} --partner {partner})")


# ------------------------------------------------------------------------------------- check
@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partner", default=None, help="The partner sending the file (default: found from the file name).")
@click.option("--feed", default=None, help="The feed (default: found from the file name).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
def check(file: Path, partner: str | None, feed: str | None, as_json: bool) -> None:
    """Apply the nightly's checks to FILE without loading it: the file's result first, then each
    row's problems (row numbers as the spreadsheet shows them, the file's own column headers).

    Nothing is written to the warehouse. Exit code 1 when the file would be rejected, 2 when no
    feed matches it.

    \b
    Example:
      worklink check ACT_referrals_2025-09.xlsx --partner ancoats_trust
    """
    from worklink.contracts import load_contracts
    from worklink.ingest.precheck import check_file, contract_for_name, render

    contracts = load_contracts()
    contract = contract_for_name(file, contracts, partner, feed)
    if contract is None:
        known = sorted({c.file.pattern for c in contracts if partner is None or c.partner.id == partner})
        click.echo(f"{file.name}: no feed agreement matches this file name"
                   + (f" for partner {partner}" if partner else "") + f"; expected one of: {', '.join(known)}",
                   err=True)
        sys.exit(2)
    report = check_file(file, contract, load_settings().expectations_dir)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else render(report))
    sys.exit(1 if report.rejected else 0)


# ------------------------------------------------------------------------------------ ingest
@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every file's result.")
def ingest(paths: tuple[Path, ...], as_json: bool) -> None:
    """Ingest landed files or folders: check, quarantine bad rows, load the rest.

    PATHS must lie inside the landing folder (WORKLINK_LANDING_DIR); links and special files
    there are refused, never followed. Each entry ends as loaded, loaded_with_quarantine,
    rejected, duplicate, reinstated (an earlier version sent again), needs_confirmation (a
    much smaller re-send, held: see `worklink files confirm`), unmatched (no feed agreement
    claims it), refused or error. Exit code 0 unless a file hit an internal error (bad data
    is a result, not a failure).
    """
    from worklink.ingest.service import ingest_paths

    def show(result) -> None:
        if as_json:
            return
        click.echo(
            f"{result.status:23} {Path(result.file).name}  partner={result.partner} feed={result.feed} "
            f"rows_in={result.rows_in} rows_loaded={result.rows_loaded} "
            f"rows_quarantined={result.rows_quarantined} sha256={result.sha256[:12]}"
        )
        for issue in result.errors[:20]:
            click.echo(f"    {issue.severity:14} {issue.message}")
        if len(result.errors) > 20:
            click.echo(f"    ... {len(result.errors) - 20} more (use --json for all)")

    results = ingest_paths(paths, progress=show)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    if any(r.status == "error" for r in results):
        sys.exit(1)


@main.group()
def files() -> None:
    """Received files: confirm a held re-send."""


@files.command("confirm")
@click.argument("file_id", type=int)
def files_confirm(file_id: int) -> None:
    """Make a version held as needs_confirmation the current one for its month.

    A re-send with far fewer rows than the month it would replace (a header-only or truncated
    export) is held, not current. When the partner confirms the smaller month is right (for
    example nothing happened that month after all), this makes it current; the earlier
    version is kept, flagged not current.
    """
    from worklink.contracts import load_contracts
    from worklink.ingest import confirm_held_version
    from worklink.platform.database import ensure_database

    try:
        result = confirm_held_version(ensure_database(), file_id, load_contracts())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"file {file_id} ({result.partner}/{result.feed} {result.period}) is now current"
               + (f", replacing file {result.supersedes_file_id}" if result.supersedes_file_id else ""))


@main.command()
@click.option("--partner", required=True, help="The partner's id (its folder under contracts/ and landing/).")
@click.option("--period", required=True, metavar="YYYY-MM", help="The corrected month.")
@click.option("--no-build", is_flag=True, help="Only ingest; leave linkage and dbt to the next nightly.")
def reprocess(partner: str, period: str, no_build: bool) -> None:
    """Take in a partner's corrected month and rebuild what it affects.

    \b
    Land the corrected file(s) first, under the usual name, e.g.
      landing/wythenshawe_wellbeing/referrals/WWC_referrals_2025-07.csv
    then:
      worklink reprocess --partner wythenshawe_wellbeing --period 2025-07

    Every landed file of that partner whose name says that month is ingested with the nightly's
    rules (a corrected file becomes the month's current version; an earlier version sent again is
    reinstated; the current version sent again changes nothing), then participants are linked
    again and the nightly dbt build rebuilds what changed. Run it while the nightly is not running.
    """
    from worklink.orchestration.reprocess import reprocess as run

    try:
        outcome = run(partner, period, build=not no_build, say=lambda m: click.echo(m, err=True))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{partner} {period}: {len(outcome.files)} file(s) ({outcome.run_label})"
               + ("; rebuilt" if outcome.dbt else ""))
    if any(r.status == "error" for r in outcome.files):
        sys.exit(1)


# --------------------------------------------------------------------------- tool passthrough
@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def airflow(args: tuple[str, ...]) -> None:
    """Run the airflow CLI against worklink's setup, e.g. `worklink airflow standalone`.

    With WORKLINK_EXECUTOR=celery it passes the broker (the project's Redis, started if down) and
    the result backend, so `worklink airflow celery worker --queues default,ingest,linkage,dbt`
    adds a worker to the queues `worklink serve` uses."""
    from worklink.orchestration.executor import airflow_env
    from worklink.platform.database import ensure_database

    ensure_database()
    from worklink.platform.private_files import PRIVATE_UMASK

    env = airflow_env(load_settings(), _subprocess_env())
    # umask 077: whatever Airflow writes (logs, generated passwords) is readable by us alone.
    sys.exit(subprocess.call([_venv_bin("airflow"), *args], env=env, umask=PRIVATE_UMASK))


FLOWER_PORT = 5555
FLOWER_USER = "worklink"


def flower_env(settings, env: dict[str, str], port: int) -> dict[str, str]:
    """Airflow's Flower settings: 127.0.0.1 only, basic auth with a password generated once into
    .worklink/secrets/flower_password (given in the environment, never on a command line)."""
    from worklink.orchestration.executor import airflow_env
    from worklink.platform.local_server import generated_password

    password = generated_password(settings.state_dir / "secrets" / "flower_password")
    return {**airflow_env(settings, env), "AIRFLOW__CELERY__FLOWER_HOST": "127.0.0.1",
            "AIRFLOW__CELERY__FLOWER_PORT": str(port),
            "AIRFLOW__CELERY__FLOWER_BASIC_AUTH": f"{FLOWER_USER}:{password}"}


@main.command()
@click.option("--port", type=int, default=FLOWER_PORT, show_default=True, help="Port on 127.0.0.1.")
def flower(port: int) -> None:
    """Celery's web monitor (Flower): the broker's queues, the workers and their tasks.

    \b
    Only with WORKLINK_EXECUTOR=celery, and only where Flower is installed (an optional extra:
    `.worklink/tools/bin/uv sync --extra flower`; the development environment has it). It listens on
    127.0.0.1 only and asks for a password: user `worklink`, the password in
    .worklink/secrets/flower_password (made on first use). From another machine, reach it through
    an SSH tunnel (`ssh -L 5555:127.0.0.1:5555 host`). Stop it with Ctrl-C."""
    import importlib.util

    from worklink.platform.database import ensure_database
    from worklink.platform.private_files import PRIVATE_UMASK

    settings = load_settings()
    if settings.executor != "celery":
        raise click.ClickException("Flower watches the Celery workers: set WORKLINK_EXECUTOR=celery")
    if importlib.util.find_spec("flower") is None:
        raise click.ClickException("Flower is not installed: run `.worklink/tools/bin/uv sync --extra flower`")
    ensure_database()
    env = flower_env(settings, _subprocess_env(), port)
    click.echo(f"Flower: http://127.0.0.1:{port} (user {FLOWER_USER}, password in "
               f"{settings.state_dir / 'secrets' / 'flower_password'})", err=True)
    sys.exit(subprocess.call([_venv_bin("airflow"), "celery", "flower"], env=env, umask=PRIVATE_UMASK))


@main.command()
@click.option("--port", type=int, default=None,
              help="Port of the API server and UI (default: AIRFLOW__API__PORT, else 8080); the workers' "
                   "execution API URL follows it.")
@click.option("--only", "only", multiple=True, type=click.Choice(["scheduler", "dag-processor", "triggerer",
                                                                   "api-server"]),
              help="Run only these processes (repeatable; default: scheduler, dag-processor, api-server).")
@click.option("--with-triggerer", is_flag=True,
              help="Also run the triggerer (only deferrable tasks need it; worklink's DAGs have none).")
@click.option("--max-backoff", type=float, default=30.0, show_default=True,
              help="Longest wait (seconds) before restarting a process that keeps failing.")
def serve(port: int | None, only: tuple[str, ...], with_triggerer: bool, max_backoff: float) -> None:
    """Run Airflow for real: scheduler, DAG processor and API server, restarted when they stop.

    \b
    Each process's output goes to .worklink/airflow/logs/supervisor/<name>.log; this command
    prints when a process starts, stops and is restarted (1 s back-off, doubling up to
    --max-backoff). A database restart therefore stops the processes for a moment, not for
    good. Stop everything with Ctrl-C or SIGTERM. The nightly then runs at 02:00 UTC; start one
    now with `worklink airflow dags trigger worklink_nightly`, follow it with `worklink status`.
    """
    from worklink.orchestration.supervisor import PROCESSES, Supervisor
    from worklink.platform.database import ensure_database
    from worklink.platform.private_files import PRIVATE_UMASK

    if port is not None:
        os.environ["AIRFLOW__API__PORT"] = str(port)
    ensure_database()
    env = _subprocess_env()
    settings = load_settings()
    processes = only or PROCESSES
    if with_triggerer and "triggerer" not in processes:
        processes += ("triggerer",)
    supervisor = Supervisor(_venv_bin("airflow"), env, settings.airflow_home / "logs" / "supervisor",
                            processes=processes, max_backoff=max_backoff, umask=PRIVATE_UMASK,
                            celery_workers=not only)
    supervisor.install_signal_handlers()
    click.echo(f"Airflow UI and API: http://{env['AIRFLOW__API__HOST']}:{env['AIRFLOW__API__PORT']} "
               f"(executor {env['AIRFLOW__CORE__EXECUTOR']}; logs {supervisor.log_dir})", err=True)
    sys.exit(supervisor.run())


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def dbt(args: tuple[str, ...]) -> None:
    """Run dbt in dbt_project/ against worklink's database, e.g. `worklink dbt build`.

    `worklink dbt docs serve` listens on 127.0.0.1:8580 unless --port/--host are given (dbt's own
    default, 8080, is Airflow's)."""
    from worklink.platform.database import ensure_database

    ensure_database()
    sys.exit(subprocess.call([_venv_bin("dbt"), *dbt_arguments(args)], env=_subprocess_env(),
                             cwd=load_settings().dbt_project_dir))


@main.command("lint-sql", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--fix", is_flag=True, help="Rewrite the models in place where SQLFluff can (layout, casing).")
@click.argument("paths", nargs=-1, type=click.UNPROCESSED)
def lint_sql(fix: bool, paths: tuple[str, ...]) -> None:
    """Lint the dbt models with SQLFluff's dbt templater (rules in dbt_project/.sqlfluff).

    PATHS are relative to dbt_project/ (default: models). Each model is compiled by dbt first, so
    refs, vars and macros are linted as they are built; this needs the database (started if embedded).
    Exit code 1 when a rule is broken; the test command runs it before pytest."""
    from worklink.platform.database import ensure_database

    ensure_database()
    command = [_venv_bin("sqlfluff"), "fix" if fix else "lint", *(paths or ("models",)), "--processes", "2"]
    sys.exit(subprocess.call(command, env=_subprocess_env(), cwd=load_settings().dbt_project_dir))


DBT_DOCS_PORT = 8580


def dbt_arguments(args: tuple[str, ...]) -> list[str]:
    """dbt's arguments, with a port and host for `docs serve` that do not clash with Airflow's UI."""
    args = list(args)
    if args[:2] == ["docs", "serve"]:
        if not any(a == "--port" or a.startswith("--port=") for a in args):
            args += ["--port", str(DBT_DOCS_PORT)]
        if not any(a == "--host" or a.startswith("--host=") for a in args):
            args += ["--host", "127.0.0.1"]
    return args


# ------------------------------------------------------------------------------------ status
@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
def status(as_json: bool) -> None:
    """What the last night did: run state, failed tasks, each file's outcome, linkage, dbt, what to do.

    Exit code 1 when the last night failed (or none has run), so a monitor can call it.
    """
    from worklink.orchestration.status import night_status, render
    from worklink.platform.database import ensure_database

    ensure_database()
    result = night_status()
    click.echo(json.dumps(result, indent=2, default=str) if as_json else render(result))
    if not result["ok"] and not (result["night"] and result["night"]["state"] in ("running", "queued")):
        sys.exit(1)


# ----------------------------------------------------------------------------------- nightly
def run_checked(args: list[str], cwd: Path | None = None, quiet: bool = False) -> None:
    started = time.monotonic()
    from worklink.platform.private_files import PRIVATE_UMASK

    proc = subprocess.run(
        args, env=_subprocess_env(), cwd=cwd, text=True, umask=PRIVATE_UMASK,
        stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
    )
    if proc.returncode != 0:
        if quiet and proc.stdout:
            click.echo(proc.stdout[-8000:], err=True)
        raise click.ClickException(f"{' '.join(args[:3])} ... failed with exit code {proc.returncode}")
    click.echo(f"    done in {time.monotonic() - started:.1f}s", err=True)


_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")


def run_streamed(args: list[str], log_path: Path) -> int:
    """Run ``args``, keep everything it prints in ``log_path`` (600), and show task starts and ends."""
    from worklink.platform.private_files import PRIVATE_UMASK, private_dir

    private_dir(log_path.parent)
    started: dict[str, float] = {}
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as log:
        proc = subprocess.Popen(args, env=_subprocess_env(), text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, umask=PRIVATE_UMASK)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if match := _TASK_START.search(line):
                started[match.group(1)] = time.monotonic()
                click.echo(f"    started  {match.group(1)}", err=True)
            elif match := _TASK_END.search(line):
                took = time.monotonic() - started.get(match.group(1), time.monotonic())
                click.echo(f"    finished {match.group(1)} ({took:.0f}s)", err=True)
        return proc.wait()


def prepare_airflow() -> None:
    """Migrate Airflow's metadata DB (the DAG's dbt task parses the dbt project itself)."""
    _echo_step("airflow db migrate (metadata database on the same PostgreSQL server)")
    run_checked([_venv_bin("airflow"), "db", "migrate"], quiet=True)


@main.command()
@click.option("--participants", default=2000, show_default=True, help="Sample size when generating.")
@click.option("--seed", default=20250601, show_default=True)
@click.option("--regenerate", is_flag=True, help="Replace the sample landing data before the run.")
@click.option("--date", "logical_date", default="2026-04-01", show_default=True,
              help="Logical date of the run passed to `airflow dags test`.")
def nightly(participants: int, seed: int, regenerate: bool, logical_date: str) -> None:
    """Run the nightly DAG once through Airflow (`airflow dags test worklink_nightly`).

    With no WORKLINK_LANDING_DIR set it first generates sample feeds into .worklink/sample.
    """
    from worklink.platform.database import ensure_database

    settings = load_settings()
    started = time.monotonic()
    _echo_step("database")
    url = ensure_database(settings)
    click.echo(f"    {'embedded PostgreSQL' if settings.uses_embedded_database else 'WORKLINK_DATABASE_URL'} ready",
               err=True)
    using_sample = not settings.landing_dir_configured
    if using_sample and (regenerate or not settings.landing_dir.exists()):
        from worklink.synth import generate

        _echo_step(f"generating sample feeds ({participants} participants, seed {seed}) -> {settings.sample_dir}")
        if settings.sample_dir.exists():
            shutil.rmtree(settings.sample_dir)
        generate(settings.sample_dir, seed=seed, participants=participants, defect_rate=0.0)
    prepare_airflow()
    _echo_step(f"airflow dags test worklink_nightly {logical_date}")
    log_path = settings.airflow_home / "logs" / "worklink-nightly" / f"{time.strftime('%Y%m%dT%H%M%S')}.log"
    click.echo(f"    full output: {log_path}", err=True)
    code = run_streamed([_venv_bin("airflow"), "dags", "test", "worklink_nightly", logical_date], log_path)
    failed = failed_tasks_of_last_run("worklink_nightly")
    if code != 0 and not failed:
        failed = [f"<airflow dags test exit code {code}>"]
    _summarise(url)
    if failed:
        raise click.ClickException(f"worklink_nightly finished with failed tasks: {', '.join(failed)} "
                                   f"(output of this run: {log_path}; task logs: `worklink status`, Airflow UI)")
    click.echo(f"nightly run finished in {time.monotonic() - started:.0f}s", err=True)


def failed_tasks_of_last_run(dag_id: str) -> list[str]:
    """`airflow dags test` exits 0 even when tasks fail, so read the outcome from the metadata DB."""
    import psycopg

    from worklink.platform.database import airflow_metadata_url, libpq_url

    with psycopg.connect(libpq_url(airflow_metadata_url())) as conn:
        run = conn.execute(
            "select run_id, state from dag_run where dag_id = %s order by id desc limit 1", (dag_id,)
        ).fetchone()
        if run is None:
            return ["<no dag run recorded>"]
        rows = conn.execute(
            "select task_id from task_instance where dag_id = %s and run_id = %s "
            "and state in ('failed', 'upstream_failed') order by task_id",
            (dag_id, run[0]),
        ).fetchall()
    failed = [r[0] for r in rows]
    return failed or ([f"<dag run state {run[1]}>"] if run[1] != "success" else [])


def _summarise(url: str) -> None:
    import psycopg

    from worklink.platform.database import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        if conn.execute("select to_regclass('analytics.referrals_by_partner_month')").fetchone()[0] is None:
            click.echo("\nanalytics.referrals_by_partner_month was not built (see `worklink status`)")
            return
        files = conn.execute(
            "select status, count(*), sum(rows_loaded), sum(rows_quarantined) from ingest.file_manifest "
            "group by status order by status"
        ).fetchall()
        mart = conn.execute(
            "select count(*), coalesce(sum(referrals), 0) from analytics.referrals_by_partner_month"
        ).fetchone()
    click.echo("\nFiles received:")
    for status, n, loaded, quarantined in files:
        click.echo(f"  {status:24} {n:5} files  {loaded or 0:9} rows loaded  {quarantined or 0:7} quarantined")
    click.echo(f"\nanalytics.referrals_by_partner_month: {mart[0]} rows, {mart[1]} referrals")
    click.echo("Try:  .venv/bin/worklink psql -c "
               "'select * from analytics.referrals_by_partner_month order by 1 limit 12'")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the settings table the README holds (generated from Settings).")
@click.option("--write", "readme", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="With --markdown: replace the table between the markers in this file (the README).")
def settings_command(markdown: bool, readme: Path | None) -> None:
    """Every WORKLINK_* setting: its value here (secrets shown as set / unset), or the documentation.

    \b
      worklink settings                               # what this process would use
      worklink settings --markdown                    # the README's table
      worklink settings --markdown --write README.md  # regenerate it after adding a setting
    """
    from worklink.settings import documented_settings, replace_readme_table, settings_markdown

    if readme is not None and not markdown:
        raise click.UsageError("--write needs --markdown")
    if markdown:
        if readme is None:
            click.echo(settings_markdown(), nl=False)
        else:
            readme.write_text(replace_readme_table(readme.read_text()))
            click.echo(f"settings table in {readme} regenerated", err=True)
        return
    settings = load_settings()
    for f in documented_settings():
        value = getattr(settings, f.name)
        if f.metadata["secret"]:
            shown = "set" if value else "unset"
        elif value and f.name.endswith("_url"):
            from sqlalchemy.engine import make_url

            shown = make_url(value).render_as_string(hide_password=True)
        else:
            shown = "unset (default)" if value in (None, (), "") else str(value)
        click.echo(f"{f.name:26} {shown}")


if __name__ == "__main__":  # pragma: no cover
    main()
