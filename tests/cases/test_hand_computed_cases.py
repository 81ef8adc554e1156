"""Hand-computed cases (tests/cases/<case>/): outcomes computed by hand, independent of the
generator, checked on marts built by the real ingest, linkage and dbt (see conftest.py).

Each case's expected.yml lists checks; a check reads one table for the case's own people:

  table: analytics.job_outcomes        # schema.table to read
  of: wythenshawe_wellbeing:NLW-A      # rows of the participant that referral was linked to, or
  where: {partner_id: ..., ...}        # rows matching these columns (use for aggregates)
  where_in: {measure: [a, b]}          # ... and a column within a list
  order_by: job_start_date             # when several rows are expected
  rows: [{column: expected, ...}]      # exactly these rows (`[]`: none); only the columns named
                                       # are compared

or compares participants: `same_participant: [partner:id, partner:id]` /
`different_participants: [...]`, or `dbt_build: passes` (the one `dbt build` of every model, data
test and unit test exited 0). Numbers are compared to the cent (0.005).
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest
from conftest import AS_AT_DATE, load_cases

CASES = [case for case in load_cases() if case.spec.get("checks")]


def test_at_least_fifteen_hand_computed_cases():
    assert len(CASES) >= 15, [case.name for case in CASES]


def _participant(conn, referral: str) -> str:
    partner, referral_id = referral.split(":", 1)
    row = conn.execute("select participant_id from analytics.referrals where partner_id = %s"
                       " and partner_referral_id = %s", (partner, referral_id)).fetchall()
    assert len(row) == 1, f"referral {referral}: {len(row)} rows in analytics.referrals"
    return row[0][0]


def _same(expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float, decimal.Decimal)):
        return abs(float(actual) - float(expected)) < 0.005
    if isinstance(actual, (dt.date, dt.datetime)) or isinstance(expected, (dt.date, dt.datetime)):
        return str(expected) == str(actual)
    return str(expected) == str(actual)


def build_failures(build) -> list[str]:
    if build.returncode == 0:
        return []
    failed = [line for line in build.stdout.splitlines() if " FAIL " in line or "ERROR" in line]
    return [f"dbt build exited {build.returncode}:", *failed[-20:]]


def run_check(conn, check: dict, build=None) -> list[str]:
    """Differences between one check's expected rows and the table (empty list = equal)."""
    if "dbt_build" in check:
        assert check["dbt_build"] == "passes", check
        return build_failures(build)
    if "same_participant" in check or "different_participants" in check:
        referrals = check.get("same_participant") or check["different_participants"]
        ids = [_participant(conn, r) for r in referrals]
        want_same = "same_participant" in check
        if want_same and len(set(ids)) != 1:
            return [f"{referrals} are {len(set(ids))} participants, expected one"]
        if not want_same and len(set(ids)) != len(ids):
            return [f"{referrals} share a participant, expected {len(ids)} participants"]
        return []
    table, rows = check["table"], check["rows"]
    columns = sorted({c for row in rows for c in row})
    filters = dict(check.get("where") or {})
    if "of" in check:
        filters["participant_id"] = _participant(conn, check["of"])
    assert filters, f"check on {table} names no rows (of: or where:)"
    where_in = check.get("where_in") or {}
    sql = (f"select {', '.join(columns) or '1'} from {table} where "
           + " and ".join([f"{c}::text = %s" for c in filters] + [f"{c}::text = any(%s)" for c in where_in])
           + (f" order by {check['order_by']}" if check.get("order_by") else ""))
    params = [str(v) for v in filters.values()] + [[str(v) for v in values] for values in where_in.values()]
    got = [dict(zip(columns, r, strict=False)) for r in conn.execute(sql, params).fetchall()]
    where = check.get("of") or filters
    if len(got) != len(rows):
        return [f"{table} for {where}: {len(got)} rows, expected {len(rows)}: {got}"]
    return [f"{table} for {where} row {i} {c}: got {g[c]!r}, expected {w[c]!r}"
            for i, (w, g) in enumerate(zip(rows, got, strict=True)) for c in w if not _same(w[c], g[c])]


def test_the_build_of_every_model_and_test_passes(cases_warehouse):
    assert not build_failures(cases_warehouse.build), "\n".join(build_failures(cases_warehouse.build))


def test_the_case_files_are_clean_but_for_the_defect_planted_on_purpose(cases_warehouse):
    """A typo in a hand-written file (a postcode of no valid shape, a code not in its list) would
    quietly change what a case tests; only the quarantined-parent case plants one."""
    planted = {"WWC_referrals_2025-12.csv"}
    issues = {Path(r.file).name: [e.message for e in r.errors][:3] for r in cases_warehouse.ingest_results
              if r.errors and Path(r.file).name not in planted}
    assert not issues, issues


def test_the_cases_are_measured_on_the_as_at_date_they_were_computed_for(cases_warehouse):
    with cases_warehouse.connect() as conn:
        dates = conn.execute("select as_at_date, hmrc_coverage_end_date"
                             " from intermediate.int_reporting_dates_derived").fetchone()
    assert [str(d) for d in dates] == [AS_AT_DATE, AS_AT_DATE]


@pytest.mark.parametrize("case", [
    pytest.param(case, id=case.name,
                 marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [])
    for case in CASES])
def test_case(cases_warehouse, case):
    with cases_warehouse.connect() as conn:
        problems = [p for check in case.spec["checks"] for p in run_check(conn, check, cases_warehouse.build)]
    assert not problems, f"{case.name} ({case.folder}/expected.yml):\n" + "\n".join(problems)
