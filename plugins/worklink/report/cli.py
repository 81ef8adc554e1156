"""`worklink report --out FILE.html`: the evaluation report from the published marts."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="report")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the self-contained HTML report.")
@click.option("--role", default="worklink_public", show_default=True,
              help="Database role to read as (SET ROLE); the public role can read only `published`. "
                   "Pass '' to read as the connecting user.")
def report_command(out: Path, role: str) -> None:
    """Build the evaluation report (HTML, opens offline) from the published, disclosure-controlled marts.

    \b
    Run `worklink dbt build` first. Example:
      worklink report --out .worklink/reports/evaluation.html
    """
    from worklink.platform.database import ensure_database, libpq_url
    from worklink.report.build import build_report

    url = libpq_url(ensure_database())
    path = build_report(out, url, role=role or None)
    click.echo(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
