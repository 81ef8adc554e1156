"""The real warehouse database of the session, with data in every layer.

Each module loads a small generated year into a database of its own: every feed through
``worklink ingest``'s code path, then ``run_linkage``, then ``dbt build`` through ``worklink dbt``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from worklink.contracts import load_contracts
from worklink.ingest.service import ingest_paths
from worklink.settings import load_settings


def _count(conn: psycopg.Connection, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def populated_warehouse(module_db, tmp_path_factory) -> str:
    """A database of this module's own with a small generated year in every layer.

    (The session database holds whatever earlier tests loaded, e.g. only some feeds.)"""
    from worklink.synth import generate

    session_db = module_db
    sample = tmp_path_factory.mktemp("privacy_sample")
    generate(sample, seed=31, participants=300, defect_rate=0.0)
    settings = dataclasses.replace(load_settings(), landing_dir=sample / "landing")
    ingest_paths([sample / "landing"], settings=settings, contracts=load_contracts())
    with psycopg.connect(session_db) as conn:
        has_links = _count(conn, "select count(*) from information_schema.tables where table_schema = 'linkage'"
                                 " and table_name = 'participant_xref'") > 0
    if not has_links:
        from worklink.linkage import run_linkage

        run_linkage(session_db)
    with psycopg.connect(session_db) as conn:
        built = _count(conn, "select count(*) from information_schema.tables"
                             " where table_schema in ('staging', 'analytics')") > 0
    if not built:
        worklink = str(Path(sys.executable).with_name("worklink"))
        proc = subprocess.run([worklink, "dbt", "build"], env=dict(os.environ), capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, "\n".join(line for line in proc.stdout.splitlines() if "ERROR" in line or "Error" in line)[-6000:]
    return session_db
