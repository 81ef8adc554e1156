"""Participant linkage: every source record -> one pseudonymous participant.

Public surface (the rest is internal):

* ``run_linkage(database_url=None, progress=None) -> dict`` - one idempotent run, called by the
  nightly DAG between ingestion and dbt and by ``worklink link``;
* ``worklink.linkage.cli.link_command`` - the ``worklink link`` command group;
* tables in the ``linkage`` schema (``worklink.linkage.store``), read by dbt as a source.

See docs/linkage.md. Heavy imports (Splink, DuckDB) happen inside the run, so importing this
package (e.g. while Airflow parses DAGs) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable


def run_linkage(database_url: str | None = None, progress: Callable[[str], None] | None = None, **options) -> dict:
    """Link every current source record to a stable participant id; see ``pipeline.run_linkage``."""
    from worklink.linkage.pipeline import run_linkage as _run

    return _run(database_url, progress, **options)


__all__ = ["run_linkage"]
