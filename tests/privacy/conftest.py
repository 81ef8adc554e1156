"""The real warehouse database of the session, with data in every layer.

If an earlier test (the end-to-end nightly run) already loaded ``session_db``, that is what gets
scanned. Run on their own, these tests load a small generated year themselves: every feed through
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


@pytest.fixture(scope="session")
def populated_warehouse(session_db, tmp_path_factory) -> str:
    with psycopg.connect(session_db) as conn:
        has_raw = _count(conn, "select count(*) from pg_tables where schemaname = 'raw'") > 0 and _count(
            conn, "select count(*) from information_schema.tables where table_schema = 'raw'"
                  " and table_name = 'vcse_referrals'") > 0
    if not has_raw:
        from worklink.synth import generate

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
