"""Kill the load process part-way through a large file, re-run it: exact counts, nothing lost or doubled."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from worklink.identity import identity_join
from worklink.ingest.loader import PARALLEL_WRITE_MIN_ROWS

WORKLINK = str(Path(sys.executable).with_name("worklink"))


@pytest.fixture(scope="module")
def big_extract(tmp_path_factory):
    from worklink.synth import generate

    out = tmp_path_factory.mktemp("big")
    generate(out, seed=31, participants=15000, defect_rate=0.0)
    path = out / "landing" / "dwp" / "benefits" / "DWP_benefits_2026-03.csv"
    truth = pd.read_csv(out / "_truth" / "source_records.csv", usecols=["file"], dtype=str)
    rows = int((truth["file"] == "landing/dwp/benefits/DWP_benefits_2026-03.csv").sum())
    assert rows >= PARALLEL_WRITE_MIN_ROWS, "large enough to be written by two connections"
    return out, path, rows


def _ingest(env, path) -> subprocess.Popen:
    return subprocess.Popen([WORKLINK, "ingest", str(path)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_killed_load_leaves_nothing_and_rerun_loads_exactly_once(module_db, db, big_extract):
    out, path, rows = big_extract
    env = {**os.environ, "WORKLINK_LANDING_DIR": str(out / "landing")}

    proc = _ingest(env, path)
    deadline = time.monotonic() + 120
    copying = False
    while time.monotonic() < deadline and proc.poll() is None:
        copying = db.execute(
            "select count(*) from pg_stat_progress_copy p join pg_stat_activity a using (pid)"
            " where a.datname = current_database() and p.tuples_processed > 0"
        ).fetchone()[0] > 0
        if copying:
            break
        time.sleep(0.02)
    assert copying, "the load finished before it could be interrupted: " + (proc.communicate()[0] or "")[-2000:]
    proc.kill()  # SIGKILL: no clean-up code runs in the loader
    proc.wait()

    # The server notices the dead client and rolls back; wait until its backend is gone.
    for _ in range(200):
        busy = db.execute("select count(*) from pg_stat_progress_copy p join pg_stat_activity a using (pid)"
                          " where a.datname = current_database()").fetchone()[0]
        if not busy:
            break
        time.sleep(0.05)
    manifest = db.execute("select count(*) from ingest.file_manifest where file_name = %s", (path.name,)).fetchone()
    assert manifest == (0,), "a killed load must leave no manifest row"
    leftovers = db.execute("select to_regclass('raw.dwp_benefit_months') is not null").fetchone()[0]
    if leftovers:
        assert db.execute("select count(*) from raw.dwp_benefit_months").fetchone()[0] == 0

    rerun = subprocess.run([WORKLINK, "ingest", "--json", str(path)], env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert db.execute("select status, rows_in, rows_loaded from ingest.file_manifest where file_name = %s",
                      (path.name,)).fetchall() == [("loaded", rows, rows)]
    assert db.execute("select count(*) from raw.dwp_benefit_months").fetchone()[0] == rows
    # the vault holds each person's identifiers once per file, and every raw row finds its own
    assert db.execute(f"select count(*) from raw.dwp_benefit_months r join identity.dwp_benefit_months i"
                      f" on {identity_join()}").fetchone()[0] == rows
    assert db.execute("select count(*) from identity.dwp_benefit_months").fetchone()[0] == db.execute(
        "select count(distinct nino_token) from raw.dwp_benefit_months").fetchone()[0]
    distinct = db.execute("select count(distinct (_file_id, _source_row_number)) from raw.dwp_benefit_months"
                          ).fetchone()[0]
    assert distinct == rows
    halves_left_over = db.execute(
        "select count(*) from pg_class where relname ~ '__file_[0-9]+_b$' and relkind = 'r' and not relispartition"
    ).fetchone()[0]
    assert halves_left_over == 0

    again = subprocess.run([WORKLINK, "ingest", str(path)], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "duplicate" in again.stdout
    assert db.execute("select count(*) from raw.dwp_benefit_months").fetchone()[0] == rows
