"""The report applies the same disclosure control as the published tables: its policy comes from the
same dbt variables, and it refuses to display a cell that breaks it."""

from __future__ import annotations

import pytest
from worklink.report.sdc import DisclosureError, Policy


def test_policy_reads_the_dbt_variables():
    assert Policy.from_dbt_project() == Policy(small_count_max=7, rounding_base=5, min_base=10, suppress_zeros=False)


@pytest.mark.parametrize("raw,expected", [
    (0, (0, "0", "zero_shown")),
    (1, (None, "[c]", "suppressed_small_count")),
    (7, (None, "[c]", "suppressed_small_count")),
    (8, (10, "10", "rounded_to_nearest_5")),
    (12, (10, "10", "rounded_to_nearest_5")),
    (13, (15, "15", "rounded_to_nearest_5")),
    (1234, (1235, "1,235", "rounded_to_nearest_5")),
])
def test_counts_are_protected_like_the_dbt_macro(raw, expected):
    assert Policy().protect_count(raw) == expected


@pytest.mark.parametrize("kind,value,suppressed", [
    ("count", 5, False),      # a small count shown
    ("count", 12, False),     # an unrounded count shown
    ("count", None, False),   # a count with no value and no suppression
    ("rate", 0.5, True),      # a suppressed cell still carrying its value
])
def test_cells_breaking_the_policy_are_refused(kind, value, suppressed):
    with pytest.raises(DisclosureError):
        Policy().check_cell(kind, value, suppressed, where="test")


@pytest.mark.parametrize("kind,value,suppressed", [
    ("count", 0, False), ("count", 10, False), ("count", None, True), ("rate", 0.125, False), ("median", 3.5, False),
])
def test_cells_obeying_the_policy_pass(kind, value, suppressed):
    Policy().check_cell(kind, value, suppressed, where="test")


@pytest.mark.e2e
def test_report_refuses_a_tampered_published_table(warehouse):
    from worklink.report.data import load_published

    with warehouse.connect() as conn:
        conn.execute("insert into published.funnel_by_cohort_month (partner_id, cohort_month, measure, measure_kind,"
                     " value, value_display, is_suppressed, sdc_rule_applied)"
                     " values ('tampered', 'all', 'referred', 'count', 3, '3', false, 'none')")
        try:
            with pytest.raises(DisclosureError, match="between 1 and 7"):
                load_published(warehouse.url)
        finally:
            conn.execute("delete from published.funnel_by_cohort_month where partner_id = 'tampered'")
