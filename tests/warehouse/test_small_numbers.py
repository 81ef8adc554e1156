"""No published cell holds a count from 1 to 7, checked on the real database for EVERY table in the
`published` schema (a new published table without disclosure-control columns fails the test),
and the published values are exactly what the policy makes of the unsuppressed analytics values.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

SMALL, BASE, MIN_BASE = 7, 5, 10  # dbt_project.yml defaults (sdc_small_count_max, sdc_rounding_base, sdc_min_base)


def published_tables(conn) -> dict[str, list[str]]:
    rows = conn.execute("select table_name, column_name from information_schema.columns"
                        " where table_schema = 'published' order by table_name, ordinal_position").fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def small_count_cells(conn, table: str, columns: list[str]) -> list[tuple]:
    """Cells of `table` that publish a count from 1 to 7 (or an unrounded count)."""
    if {"measure_kind", "value", "is_suppressed"} <= set(columns):  # long ("tidy") tables
        return conn.execute(
            f"select measure, value from published.{table} where measure_kind = 'count'"
            f" and value is not null and (value between 1 and {SMALL} or mod(value, {BASE}) <> 0)").fetchall()
    counted = [c[: -len("_sdc_rule")] for c in columns if c.endswith("_sdc_rule")]  # wide tables
    assert counted, f"published.{table} has no disclosure-control columns"
    bad = []
    for column in counted:
        bad += conn.execute(
            f"select '{column}', {column} from published.{table} where {column}_sdc_rule not in"
            f" ('not_about_individuals') and {column} is not null"
            f" and ({column} between 1 and {SMALL} or mod({column}, {BASE}) <> 0)").fetchall()
    return bad


def test_no_published_cell_holds_a_count_from_1_to_7(warehouse):
    with warehouse.connect() as conn:
        tables = published_tables(conn)
        assert len(tables) >= 10
        for table, columns in tables.items():
            assert small_count_cells(conn, table, columns) == [], table


def test_the_check_itself_sees_a_small_count(warehouse):
    """The checker is not vacuous: a scratch table with a 3 in it is caught."""
    with warehouse.connect() as conn:
        conn.execute("create temporary table t (measure text, measure_kind text, value numeric, is_suppressed bool)")
        conn.execute("insert into t values ('x', 'count', 3, false), ('y', 'count', 10, false)")
        rows = conn.execute(f"select measure from t where measure_kind = 'count' and value between 1 and {SMALL}"
                            ).fetchall()
    assert rows == [("x",)]


def test_small_analytics_counts_are_suppressed_and_others_rounded(warehouse):
    """Cross-check published.funnel_by_cohort_month against the unsuppressed analytics mart."""
    with warehouse.connect() as conn:
        pairs = conn.execute(
            "with analytics_cells as ("
            "  select partner_id, to_char(cohort_month, 'YYYY-MM') as cohort_month, m.measure, m.value"
            "  from analytics.funnel_by_cohort_month f cross join lateral (values"
            "    ('referred', f.referred), ('started', f.started), ('job_start', f.job_start),"
            "    ('sustained_short', f.sustained_short), ('left_programme', f.left_programme)) m(measure, value))"
            " select a.value, p.value, p.is_suppressed, p.sdc_rule_applied"
            " from analytics_cells a join published.funnel_by_cohort_month p using (partner_id, cohort_month, measure)"
        ).fetchall()
    assert pairs
    rules = {rule for *_, rule in pairs}
    assert "suppressed_small_count" in rules and "rounded_to_nearest_5" in rules  # both rules exercised
    for raw, published, suppressed, rule in pairs:
        if 1 <= raw <= SMALL:
            assert suppressed and published is None and rule == "suppressed_small_count"
        elif suppressed:
            assert rule == "suppressed_secondary"
        else:
            assert published == round(raw / BASE) * BASE


def test_rates_need_a_base_of_ten(warehouse):
    with warehouse.connect() as conn:
        shown_on_small_base = conn.execute(
            "select p.cohort_month, p.partner_id from published.funnel_by_cohort_month p"
            " join analytics.funnel_by_cohort_month a"
            "   on a.partner_id = p.partner_id and to_char(a.cohort_month, 'YYYY-MM') = p.cohort_month"
            " where p.measure = 'job_start_rate' and not p.is_suppressed"
            f"   and (a.job_start < {MIN_BASE} or a.started < {MIN_BASE})").fetchall()
    assert shown_on_small_base == []


def test_no_margin_group_has_a_lone_suppressed_cell(warehouse):
    """Secondary suppression: a partner-month cell suppressed alone could be recovered from the totals."""
    with warehouse.connect() as conn:
        lone = conn.execute(
            "select 'by month', cohort_month, measure from published.funnel_by_cohort_month"
            " where measure_kind = 'count' group by cohort_month, measure"
            " having count(*) filter (where is_suppressed) = 1"
            " union all "
            "select 'by partner', partner_id, measure from published.funnel_by_cohort_month"
            " where measure_kind = 'count' group by partner_id, measure"
            " having count(*) filter (where is_suppressed) = 1").fetchall()
        secondary = conn.execute("select count(*) from published.funnel_by_cohort_month"
                                 " where sdc_rule_applied = 'suppressed_secondary'").fetchone()[0]
    assert lone == []
    assert secondary > 0  # the sample needs secondary suppression, so the rule is exercised
