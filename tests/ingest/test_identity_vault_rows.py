"""The identity vault holds each distinct set of identifiers once per file, and every loaded raw
row finds its own: a DWP extract repeats a person's identifiers on every month's row."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from worklink.contracts import load_contracts
from worklink.identity import identity_join
from worklink.ingest.partitions import drop_orphaned_halves
from worklink.ingest.service import ingest_paths
from worklink.settings import load_settings

HEADER = ("nino,date_of_birth,surname,postcode,month,uc_claimant,uc_conditionality_regime,esa_claimant,"
          "esa_group,pip_claimant,carers_allowance")
# Each test loads its own people ({n}: its own digits), so no file repeats another's content.
ANN = "AB{n}23456C,1980-01-02,Smith,M22 5RT"
BO = "JT{n}23456A,1970-03-04,Lee,M23 2QQ"
CY = "KL{n}23456B,1990-05-06,Oak,M23 1AA"
ROWS = [
    f"{ANN},2025-01,X,,N,,N,N",  # Ann's first row: bad flag, quarantined; her later rows load
    f"{ANN},2025-02,Y,searching_for_work,N,,N,N",
    f"{BO},2025-01,N,,Y,support_group,N,N",
    f"{ANN},2025-03,Y,searching_for_work,N,,N,N",
    f"{CY},2025-01,X,,N,,N,N",  # Cy's only row: quarantined, so the vault must not keep him
    f"{BO},2025-02,N,,Y,support_group,N,Y",
    "AB{n}23456C,1980-01-02,Smith,M22 6AA,2025-04,Y,searching_for_work,N,,N,N",  # Ann moved: a second set
]


TESTS = iter(range(1, 10))


@pytest.fixture
def extract(session_db, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "landing"
    (root / "dwp" / "benefits").mkdir(parents=True)
    monkeypatch.setenv("WORKLINK_LANDING_DIR", str(root))
    path = root / "dwp" / "benefits" / "DWP_benefits_2025-04.csv"
    path.write_text("\n".join([HEADER, *ROWS]).format(n=next(TESTS)) + "\n")
    return path


def ann_and_bo(path: Path) -> tuple[str, str]:
    """The NINos this test's file gave Ann (row 1) and Bo (row 3)."""
    rows = path.read_text().splitlines()[1:]
    return rows[0].split(",")[0], rows[2].split(",")[0]


def test_vault_holds_each_identifier_set_once_and_every_raw_row_joins_it(extract, db):
    [result] = ingest_paths([extract], settings=load_settings(), contracts=load_contracts())
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (7, 5, 2), result.errors
    ann, bo = ann_and_bo(extract)
    assert {(e.row, e.column) for e in result.errors if e.severity == "quarantine_row"} == {
        (1, "uc_claimant"), (5, "uc_claimant")}

    vault = db.execute("select _source_row_number, nino, postcode from identity.dwp_benefit_months"
                       " where _file_id = %s order by 1", (result.file_id,)).fetchall()
    # Ann's first set is held under row 1 (quarantined, but her rows 2 and 4 share it), Bo's under
    # row 3, Ann's new address under row 7; Cy's only row was quarantined, so his identifiers go.
    assert vault == [(1, ann, "M22 5RT"), (3, bo, "M23 2QQ"), (7, ann, "M22 6AA")]

    joined = db.execute(
        f"""select r._source_row_number, i.nino, i.postcode
              from raw.dwp_benefit_months r left join identity.dwp_benefit_months i on {identity_join()}
             where r._file_id = %s order by 1""", (result.file_id,)).fetchall()
    assert joined == [(2, ann, "M22 5RT"), (3, bo, "M23 2QQ"), (4, ann, "M22 5RT"),
                      (6, bo, "M23 2QQ"), (7, ann, "M22 6AA")]
    tokens = db.execute("select count(distinct nino_token) from raw.dwp_benefit_months where _file_id = %s",
                        (result.file_id,)).fetchone()[0]
    assert tokens == 2


def test_a_table_loaded_before_the_column_existed_still_joins_row_to_row(session_db, db):
    """Rows without ``_identity_row_number`` (older loads: one vault row per raw row) join themselves."""
    db.execute("create temp table r (_file_id bigint, _source_row_number int, _identity_row_number int)")
    db.execute("create temp table i (_file_id bigint, _source_row_number int, nino text)")
    db.execute("insert into r values (1, 1, null), (1, 2, null), (2, 1, 1), (2, 2, 1)")
    db.execute("insert into i values (1, 1, 'A'), (1, 2, 'B'), (2, 1, 'C')")
    pairs = db.execute(f"select r._file_id, r._source_row_number, i.nino from r join i on {identity_join()}"
                       " order by 1, 2").fetchall()
    assert pairs == [(1, 1, "A"), (1, 2, "B"), (2, 1, "C"), (2, 2, "C")]


def test_a_large_file_written_in_two_halves_loads_exactly_the_same(extract, db, monkeypatch):
    """Files from PARALLEL_WRITE_MIN_ROWS rows on are written by two connections; forced here."""
    from worklink.ingest import loader

    monkeypatch.setattr(loader, "PARALLEL_WRITE_MIN_ROWS", 1)
    [result] = ingest_paths([extract], settings=load_settings(), contracts=load_contracts())
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (7, 5, 2), result.errors
    ann, bo = ann_and_bo(extract)
    halves = db.execute(
        """select c.relname, pg_get_expr(c.relpartbound, c.oid) from pg_inherits h
             join pg_class c on c.oid = h.inhrelid where h.inhparent = %s::regclass order by 1""",
        (f"raw.dwp_benefit_months__file_{result.file_id}",)).fetchall()
    assert [name for name, _ in halves] == [f"dwp_benefit_months__file_{result.file_id}_a",
                                            f"dwp_benefit_months__file_{result.file_id}_b"]
    assert "FROM (4) TO (MAXVALUE)" in halves[1][1]
    rows = db.execute(
        f"""select r._source_row_number, r._partner_id, r._period, r._is_current, r.month, i.nino
              from raw.dwp_benefit_months r join identity.dwp_benefit_months i on {identity_join()}
             where r._file_id = %s order by 1""", (result.file_id,)).fetchall()
    assert [(r[0], r[5]) for r in rows] == [(2, ann), (3, bo), (4, ann),
                                            (6, bo), (7, ann)]
    assert {r[1:4] for r in rows} == {("dwp", "2025-04", True)}, "lineage defaults hold in both halves"
    assert db.execute("select count(distinct _loaded_at) from raw.dwp_benefit_months where _file_id = %s",
                      (result.file_id,)).fetchone() == (1,)


def test_a_half_left_by_a_load_that_never_committed_is_dropped_by_the_next_load(extract, db):
    from worklink.ingest.ddl import ensure_feed_tables

    contract = next(c for c in load_contracts() if c.key == "dwp__benefits")
    ensure_feed_tables(db, contract)
    db.execute("create table raw.dwp_benefit_months__file_999999_b (x int)")
    db.commit()
    with db.transaction():  # a load still running holds its file's lock: its half must survive
        db.execute("select pg_advisory_xact_lock(hashtext('worklink-load-file:' || 999998))")
        db.execute("create table raw.dwp_benefit_months__file_999998_b (x int)")
        other = psycopg.connect(db.info.dsn, password=db.info.password)
        try:
            dropped = drop_orphaned_halves(other, "raw", "dwp_benefit_months")
            other.commit()
        finally:
            other.close()
    assert dropped == ["dwp_benefit_months__file_999999_b"]
    assert db.execute("select to_regclass('raw.dwp_benefit_months__file_999998_b') is not null").fetchone()[0]
    ingest_paths([extract], settings=load_settings(), contracts=load_contracts())
    assert not db.execute("select to_regclass('raw.dwp_benefit_months__file_999998_b') is not null").fetchone()[0]
