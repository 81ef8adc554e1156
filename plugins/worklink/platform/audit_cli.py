"""`worklink audit report`: reads of the identity vault and the restricted list, by role and time."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from worklink.settings import load_settings


@click.group("audit")
def audit_command() -> None:
    """Access audit of the `identity` and `restricted` schemas (pgaudit)."""


@audit_command.command("report")
@click.option("--since", required=True, metavar="YYYY-MM-DD[THH:MM]", help="From this time (UTC).")
@click.option("--log", "log_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PostgreSQL server log to read (default: the embedded server's).")
@click.option("--database", default=None, help="Only this database (default: every database in the log).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def audit_report(since: str, log_path: Path | None, database: str | None, as_json: bool) -> None:
    """Who read or wrote the identity vault and the restricted list, and who was refused: counts
    by database role, application (``review:<reviewer>`` for the clerical review) and table, first
    and last time. Statements are never shown.

    \\b
    Example:
      worklink audit report --since 2026-12-01
    """
    from worklink.platform.access_audit import parse, summarise

    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise click.BadParameter("give a date as YYYY-MM-DD or YYYY-MM-DDTHH:MM", param_hint="--since") from None
    if log_path is None:
        log_path = _embedded_server_log()
        if log_path is None:
            raise click.UsageError("give --log: the server's log (see docs/data-protection.md for an external server)")
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        rows = summarise(parse(handle, start, database))
    if as_json:
        click.echo(json.dumps({"since": start.isoformat(), "log": str(log_path),
                               "access": [r.to_dict() for r in rows]}, indent=2))
        return
    if not rows:
        click.echo(f"no access to identity or restricted recorded since {start.isoformat()}")
        return
    click.echo(f"{'kind':8} {'role':22} {'application':24} {'object':40} {'count':>6}  first / last")
    for r in rows:
        click.echo(f"{r.kind:8} {r.role:22} {r.application[:24]:24} {r.object[:40]:40} {r.count:>6}  "
                   f"{r.first:%Y-%m-%d %H:%M} / {r.last:%Y-%m-%d %H:%M}")
    sys.exit(0)


def _embedded_server_log() -> Path | None:
    """The log of the server the warehouse is on, when it is a worklink embedded server (its log sits
    beside its data directory)."""
    import psycopg

    from worklink.platform.database import ensure_database, libpq_url

    with psycopg.connect(libpq_url(ensure_database(load_settings()))) as conn:
        data_directory = conn.execute("show data_directory").fetchone()[0]
    log = Path(data_directory).parent / "postgres.log"
    return log if log.exists() else None
