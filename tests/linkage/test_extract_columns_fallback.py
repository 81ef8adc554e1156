"""An identity extract table made before the DWP/HMRC contracts gained names and postcode (no new
delivery since) is still read: the missing identifiers come back as nulls, never an error."""

from __future__ import annotations

from worklink.linkage.records import EXTRACT_SQL, _extract_query, read_frame


def test_extract_without_name_and_postcode_columns_reads_them_as_null(db):
    table = "legacy_dwp_extract_for_fallback_test"
    db.execute("create schema if not exists identity")
    db.execute(f"drop table if exists identity.{table}")
    db.execute(f"create table identity.{table} (nino text, date_of_birth text, surname text,"
               " _period text, _is_current boolean)")
    db.execute(f"insert into identity.{table} values"
               " ('AB123456C', '1980-02-01', 'SMITH', '2026-01', true),"
               " ('AB123456C', '1980-02-01', 'SMITH', '2026-02', true),"
               " ('AB123456C', '1980-02-01', 'SMYTH', '2026-03', true),"  # keying error: outvoted
               " ('CE654321A', '1975-07-09', 'JONES', '2026-03', false)")  # superseded file
    template = EXTRACT_SQL["dwp_benefit_months"][1].replace("identity.dwp_benefit_months", f"identity.{table}")
    try:
        frame = read_frame(db, _extract_query(db, table, template))
    finally:
        db.execute(f"drop table identity.{table}")
    assert frame.to_dict("records") == [{
        "nino": "AB123456C", "dob": "1980-02-01", "first_name": None, "surname": "SMITH",
        "postcode": None, "extract_period": "2026-02",
    }]
