"""The identity vault holds each distinct set of identifiers once per file, and every loaded raw
row finds its own: a DWP extract repeats a person's identifiers on every month's row."""

from __future__ import annotations

from pathlib import Path

import pytest
from worklink.contracts import load_contracts
from worklink.identity import identity_join
from worklink.ingest.service import ingest_paths
from worklink.settings import load_settings

HEADER = ("nino,date_of_birth,surname,postcode,month,uc_claimant,uc_conditionality_regime,esa_claimant,"
          "esa_group,pip_claimant,carers_allowance")
ANN = "AB123456C,1980-01-02,Smith,M22 5RT"
BO = "JT123456A,1970-03-04,Lee,M23 2QQ"
CY = "KL123456B,1990-05-06,Oak,M23 1AA"
ROWS = [
    f"{ANN},2025-01,X,,N,,N,N",  # Ann's first row: bad flag, quarantined; her later rows load
    f"{ANN},2025-02,Y,searching_for_work,N,,N,N",
    f"{BO},2025-01,N,,Y,support_group,N,N",
    f"{ANN},2025-03,Y,searching_for_work,N,,N,N",
    f"{CY},2025-01,X,,N,,N,N",  # Cy's only row: quarantined, so the vault must not keep him
    f"{BO},2025-02,N,,Y,support_group,N,Y",
    "AB123456C,1980-01-02,Smith,M22 6AA,2025-04,Y,searching_for_work,N,,N,N",  # Ann moved: a second set
]


@pytest.fixture
def extract(session_db, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "landing"
    (root / "dwp" / "benefits").mkdir(parents=True)
    monkeypatch.setenv("WORKLINK_LANDING_DIR", str(root))
    path = root / "dwp" / "benefits" / "DWP_benefits_2025-04.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    return path


def test_vault_holds_each_identifier_set_once_and_every_raw_row_joins_it(extract, db):
    [result] = ingest_paths([extract], settings=load_settings(), contracts=load_contracts())
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (7, 5, 2), result.errors
    assert {(e.row, e.column) for e in result.errors if e.severity == "quarantine_row"} == {
        (1, "uc_claimant"), (5, "uc_claimant")}

    vault = db.execute("select _source_row_number, nino, postcode from identity.dwp_benefit_months"
                       " where _file_id = %s order by 1", (result.file_id,)).fetchall()
    # Ann's first set is held under row 1 (quarantined, but her rows 2 and 4 share it), Bo's under
    # row 3, Ann's new address under row 7; Cy's only row was quarantined, so his identifiers go.
    assert vault == [(1, "AB123456C", "M22 5RT"), (3, "JT123456A", "M23 2QQ"), (7, "AB123456C", "M22 6AA")]

    joined = db.execute(
        f"""select r._source_row_number, i.nino, i.postcode
              from raw.dwp_benefit_months r left join identity.dwp_benefit_months i on {identity_join()}
             where r._file_id = %s order by 1""", (result.file_id,)).fetchall()
    assert joined == [(2, "AB123456C", "M22 5RT"), (3, "JT123456A", "M23 2QQ"), (4, "AB123456C", "M22 5RT"),
                      (6, "JT123456A", "M23 2QQ"), (7, "AB123456C", "M22 6AA")]
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
