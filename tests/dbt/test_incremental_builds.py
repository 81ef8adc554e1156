"""The nightly incremental build gives exactly what a full refresh gives, table by table.

One small programme year in a database of its own: everything but the latest month of the VCSE and
ICB files is loaded and built in full; then the held-back month arrives, the linkage moves one HMRC
record to another participant and unlinks another, and the nightly build runs as production runs it
(worklink.orchestration.nightly_dbt: `dbt build` of what depends on the sources loaded since the
previous run, on the linkage or on changed code, `--state <previous run>`). Every table the
project builds is then copied aside, the whole project is rebuilt with --full-refresh, and each
table must hold the same rows (as a multiset) as its copy. This checks the incremental models
(delete and re-insert by person) and the nightly selection at once: a model the selector failed to
rebuild would show stale rows.

A second case rebuilds the HMRC models after a change to the raw extract (an HMRC delivery) and
checks that the incremental pay-event model notices and rebuilds every row.

The sample carries realistic defects (the generator's --defect-rate 0.05): rows are quarantined at
ingest, among them referrals whose starts, activities, leavers or wellbeing rows still arrive. Both
nights must pass (no failing data test, nothing skipped), and those orphaned child rows must be held
out of the marts and counted (int_child_rows_held_for_missing_parent).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_linkage_fixture import build_linkage_fixture  # noqa: E402

WORKLINK = str(Path(sys.executable).with_name("worklink"))
MODEL_SCHEMAS = ("intermediate", "analytics", "published", "restricted")
PARTICIPANTS = 300
SEED = 11
DEFECT_RATE = 0.05


def latest_month(landing: Path) -> str:
    months = {path.stem.rsplit("_", 1)[-1] for path in landing.rglob("*_20??-??.*")
              if path.parts[-3] not in ("dwp", "hmrc")}
    return max(months)


def hold_back(landing: Path, held: Path, month: str) -> int:
    moved = 0
    for path in sorted(landing.rglob(f"*_{month}.*")):
        if path.parts[-3] not in ("dwp", "hmrc"):
            target = held / path.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)
            moved += 1
    return moved


def model_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_schema = any(%s) order by 1, 2",
        [list(MODEL_SCHEMAS)],
    ).fetchall()


def copy_aside(conn: psycopg.Connection, tables: list[tuple[str, str]]) -> None:
    conn.execute("drop schema if exists incremental_copy cascade; create schema incremental_copy")
    for schema, table in tables:
        conn.execute(f'create table incremental_copy."{schema}__{table}" as select * from "{schema}"."{table}"')


def differences(conn: psycopg.Connection, schema: str, table: str) -> tuple[set[str], int, int]:
    """Columns only on one side, and rows only in the incremental copy / only in the full refresh."""
    def columns(sch: str, tab: str) -> list[str]:
        return [r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position", [sch, tab]).fetchall()]
    full, copied = columns(schema, table), columns("incremental_copy", f"{schema}__{table}")
    cols = ", ".join(f'"{c}"' for c in full)
    full_rel, copy_rel = f'"{schema}"."{table}"', f'incremental_copy."{schema}__{table}"'
    if set(full) != set(copied):
        return set(full) ^ set(copied), -1, -1
    only_incremental = conn.execute(
        f"select count(*) from (select {cols} from {copy_rel} except all select {cols} from {full_rel}) d").fetchone()[0]
    only_full = conn.execute(
        f"select count(*) from (select {cols} from {full_rel} except all select {cols} from {copy_rel}) d").fetchone()[0]
    return set(), only_incremental, only_full


@pytest.fixture(scope="module")
def nightly(module_db, tmp_path_factory):
    from worklink.synth import generate

    workdir = tmp_path_factory.mktemp("incremental")
    sample, held = workdir / "sample", workdir / "held_back"
    generate(sample, seed=SEED, participants=PARTICIPANTS, defect_rate=DEFECT_RATE)
    month = latest_month(sample / "landing")
    assert hold_back(sample / "landing", held, month) > 0
    env = {**os.environ, "WORKLINK_DATABASE_URL": module_db, "WORKLINK_LANDING_DIR": str(sample / "landing"),
           "DBT_TARGET_PATH": str(workdir / "target"), "DBT_LOG_PATH": str(workdir / "dbt_logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}

    def worklink(*args: str) -> None:
        proc = subprocess.run([WORKLINK, *args], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"worklink {' '.join(args)}:\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"

    def nightly_dbt(*args: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "worklink.orchestration.nightly_dbt", "--work-dir",
                               str(workdir / "nightly"), *args], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"nightly_dbt {args}:\n{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"
        return json.loads(proc.stdout.strip().splitlines()[-1])

    worklink("ingest", str(sample / "landing"))
    build_linkage_fixture(module_db, sample / "_truth")
    assert nightly_dbt()["mode"] == "full"  # first night: no previous state, everything is built

    # the new month arrives; the linkage re-runs and changes its mind about two HMRC records
    for path in sorted(held.rglob("*")):
        if path.is_file():
            target = sample / "landing" / path.relative_to(held)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    worklink("ingest", str(sample / "landing"))
    build_linkage_fixture(module_db, sample / "_truth")
    with psycopg.connect(module_db, autocommit=True) as conn:
        linked = conn.execute(
            "select source_record_key, participant_id from linkage.participant_xref "
            "where source_system = 'hmrc' and participant_id in "
            "  (select participant_id from intermediate.int_pay_events_attributed_to_periods) "
            "order by source_record_key limit 2").fetchall()
        assert len(linked) == 2, "the sample has too few participants with HMRC pay"
        (moved, _), (unlinked, _) = linked
        other = conn.execute(
            "select participant_id from linkage.participant_xref where source_system <> 'hmrc' "
            "and participant_id <> %s order by participant_id limit 1", [linked[0][1]]).fetchone()[0]
        conn.execute("update linkage.participant_xref set participant_id = %s where source_record_key = %s",
                     [other, moved])
        conn.execute("delete from linkage.participant_xref where source_record_key = %s", [unlinked])
    second = nightly_dbt()
    assert second["mode"] == "incremental" and second["success"]
    with psycopg.connect(module_db, autocommit=True) as conn:
        tables = model_tables(conn)
        copy_aside(conn, tables)
    worklink("dbt", "run", "--full-refresh")
    built = {r["unique_id"] for r in json.loads((workdir / "nightly" / "target" / "run_results.json").read_text())["results"]}
    return {"url": module_db, "tables": tables, "worklink": worklink, "moved": moved, "unlinked": unlinked,
            "built_by_second_night": built}


def test_nightly_build_equals_full_refresh_table_by_table(nightly):
    assert len(nightly["tables"]) >= 40
    with psycopg.connect(nightly["url"], autocommit=True) as conn:
        found = {(schema, table): differences(conn, schema, table) for schema, table in nightly["tables"]}
    wrong = {f"{s}.{t}": d for (s, t), d in found.items() if d != (set(), 0, 0)}
    assert not wrong, f"incremental build differs from a full refresh (columns, rows only in incremental, only in full): {wrong}"


def test_the_case_exercised_the_incremental_path(nightly):
    """The pay-event model really was incremental, and the re-linked records really moved."""
    with psycopg.connect(nightly["url"], autocommit=True) as conn:
        kind = conn.execute(
            "select obj_description('intermediate.int_pay_events_attributed_to_periods'::regclass, 'pg_class')"
        ).fetchone()[0]
        assert kind and kind.startswith("built from intermediate.int_hmrc_pay_events_attributed oid ")
        assert conn.execute(
            "select count(*) from incremental_copy.intermediate__int_pay_events_attributed_to_periods "
            "where source_record_key = %s", [nightly["unlinked"]]).fetchone()[0] == 0
        assert conn.execute(
            "select count(*) from incremental_copy.intermediate__int_pay_events_attributed_to_periods "
            "where source_record_key = %s", [nightly["moved"]]).fetchone()[0] > 0


def test_the_second_night_left_out_what_the_new_files_do_not_touch(nightly):
    """No DWP or HMRC delivery that night: their linkage-independent models were not rebuilt, nor
    the staging views, while the partners' feeds were rebuilt and tested down to the published layer."""
    built = nightly["built_by_second_night"]
    for left_out in ("int_dwp_benefit_months_classified", "int_hmrc_pay_events_attributed",
                     "int_hmrc_employments_summarised", "stg_vcse__referrals", "stg_dwp__benefit_months"):
        assert f"model.worklink.{left_out}" not in built
    for rebuilt in ("int_reporting_dates_derived", "referrals", "int_pay_events_attributed_to_periods",
                    "published_funnel_by_cohort_month"):
        assert f"model.worklink.{rebuilt}" in built
    assert any(uid.startswith("test.worklink.unique_stg_vcse__referrals_referral_key") for uid in built), \
        "a view left out still has its data tests run on the new rows"
    assert not any(uid.startswith("unit_test.") for uid in built)


def test_an_hmrc_delivery_rebuilds_every_pay_event(nightly):
    """The upstream HMRC table rebuilt with changed pay: the incremental model re-reads all of it."""
    model = "int_pay_events_attributed_to_periods"
    with psycopg.connect(nightly["url"], autocommit=True) as conn:
        changed = conn.execute("update raw.hmrc_pay_events set gross_pay_gbp = (gross_pay_gbp::numeric + 1)::text "
                               "where _source_row_number % 3 = 0").rowcount
        assert changed > 0
    nightly["worklink"]("dbt", "run", "--select", f"int_hmrc_pay_events_attributed+1,+{model}")
    with psycopg.connect(nightly["url"], autocommit=True) as conn:
        copy_aside(conn, [("intermediate", model)])
    nightly["worklink"]("dbt", "run", "--full-refresh", "--select", model)
    with psycopg.connect(nightly["url"], autocommit=True) as conn:
        assert differences(conn, "intermediate", model) == (set(), 0, 0)


def test_quarantined_parents_hold_their_children_out_of_the_marts(nightly):
    """With defects, referral rows are quarantined while their child rows load: the build still passed
    (the fixture asserts both nights), every held child row is counted, and none reaches a mart."""
    with psycopg.connect(nightly["url"], autocommit=True) as conn:
        quarantined = conn.execute("select count(*) from identity.quarantined_rows").fetchone()[0]
        held = conn.execute("select count(*) from intermediate.int_child_rows_held_for_missing_parent").fetchone()[0]
        counted = conn.execute(
            "select coalesce(sum(rows_held), 0) from analytics.rows_held_for_missing_parent_by_partner_month"
        ).fetchone()[0]
        assert quarantined > 0 and held > 0, (quarantined, held)
        assert counted == held
        for mart in ("activities", "wellbeing_change", "payment_by_results_claims"):
            orphans = conn.execute(
                f"select count(*) from analytics.{mart} m where not exists "
                "(select 1 from analytics.referrals r where r.referral_key = m.referral_key)").fetchone()[0]
            assert orphans == 0, mart
