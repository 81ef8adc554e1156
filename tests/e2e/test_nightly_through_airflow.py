"""End to end: generated feeds -> `worklink nightly` (Airflow runs the DAG) -> marts == ground truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from worklink.contracts import load_contracts

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


def mart_vs_truth(mart_rows: list[tuple[str, str, int]], truth: dict[str, dict[str, int]],
                  partners: set[str]) -> list[str]:
    """Differences between the mart and the truth, per partner and month (empty list = equal)."""
    got = {(p, m): n for p, m, n in mart_rows}
    want = {(p, m): n for p, months in truth.items() if p in partners for m, n in months.items() if n}
    return [f"{key}: mart {got.get(key)} != truth {want.get(key)}"
            for key in sorted(set(got) | set(want)) if got.get(key) != want.get(key)]


def test_comparison_catches_a_dropped_or_doubled_row():
    truth = {"a": {"2025-06": 3, "2025-07": 2}, "b": {"2025-06": 1}}
    exact = [("a", "2025-06", 3), ("a", "2025-07", 2)]
    assert mart_vs_truth(exact, truth, {"a"}) == []
    assert mart_vs_truth([("a", "2025-06", 2), ("a", "2025-07", 2)], truth, {"a"})  # dropped
    assert mart_vs_truth([("a", "2025-06", 4), ("a", "2025-07", 2)], truth, {"a"})  # doubled
    assert mart_vs_truth(exact[:1], truth, {"a"})  # a month missing


@pytest.fixture(scope="module")
def nightly_run(module_db, tmp_path_factory):
    from worklink.synth import generate

    sample = tmp_path_factory.mktemp("sample")
    generate(sample, seed=7, participants=400, defect_rate=0.0)
    env = {**os.environ, "WORKLINK_LANDING_DIR": str(sample / "landing")}
    proc = subprocess.run([str(Path(sys.executable).with_name("worklink")), "nightly"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return sample, proc


def test_referrals_mart_equals_ground_truth(nightly_run, db):
    sample, _ = nightly_run
    truth = json.loads((sample / "_truth" / "counts.json").read_text())["referrals_by_partner_month"]
    partners = {c.partner.id for c in load_contracts() if c.target_table == "vcse_referrals"}
    rows = db.execute(
        "select partner_id, referral_month, referrals from analytics.referrals_by_partner_month"
    ).fetchall()
    assert rows, "mart is empty"
    assert mart_vs_truth(rows, truth, partners) == []


def test_every_landed_row_is_loaded_exactly_once(nightly_run, db):
    rows = db.execute(
        "select count(*), count(*) filter (where status in ('loaded','loaded_with_quarantine')),"
        " coalesce(sum(rows_quarantined), 0) from ingest.file_manifest"
    ).fetchone()
    assert rows[0] > 0 and rows[1] == rows[0]
    assert rows[2] == 0, "clean sample data must not quarantine anything"
    for table in sorted({c.target_table for c in load_contracts()}):
        keys = [c.key for c in load_contracts() if c.target_table == table]
        loaded = db.execute("select coalesce(sum(rows_loaded), 0) from ingest.file_manifest"
                            " where contract_key = any(%s)", (keys,)).fetchone()[0]
        in_raw = db.execute(f"select count(*) from raw.{table}").fetchone()[0]
        assert in_raw == loaded, table
    dupes = db.execute(
        "select count(*) from (select _partner_id, referral_id from raw.vcse_referrals"
        " group by 1, 2 having count(*) > 1) d"
    ).fetchone()[0]
    assert dupes == 0


def test_dag_run_recorded_in_airflow_metadata_on_postgres(nightly_run):
    import psycopg

    with psycopg.connect(os.environ["WORKLINK_AIRFLOW_DATABASE_URL"]) as conn:
        state = conn.execute(
            "select state from dag_run where dag_id = 'worklink_nightly' order by id desc limit 1"
        ).fetchone()
    assert state == ("success",)
    with psycopg.connect(os.environ["WORKLINK_AIRFLOW_DATABASE_URL"]) as conn:
        tasks = dict(conn.execute(
            "select task_id, state from task_instance where dag_id = 'worklink_nightly' "
            "and run_id = (select run_id from dag_run where dag_id = 'worklink_nightly' order by id desc limit 1)"
        ).fetchall())
    assert tasks["dbt_build.nightly"] == "success"
    assert tasks["dbt_build.source_freshness"] == "success"
