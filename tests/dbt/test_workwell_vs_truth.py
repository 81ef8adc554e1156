"""WorkWell end to end: a generated programme year -> ingest -> linkage (truth fixture) -> dbt build ->
WorkWell's journeys and outcomes in the marts equal the generator's ground truth (_truth/counts.json
"workwell", from _truth/workwell_journeys.csv).

Journey counts (referrals, starts, support plans, did-not-start, leavers, return to work, the
in-work / out-of-work split, retention windows that are over) must be exactly equal. Retention uses
the people's true PAYE jobs (with a NINo, so HMRC shows them) and must be equal too. Job starts of
people out of work at referral come from HMRC alone (WorkWell has no job feed), whose hours are
earnings-equivalent, so the mart may fall a little short of the truth, never above it.
Before WorkWell had its own journey, every WorkWell referral was a never-started one-day episode:
no WorkWell participant had a start or an outcome (test_workwell_participants_have_starts_and_outcomes).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

EXACT = ["referrals", "starts", "support_plans", "did_not_start", "leavers", "returned_to_work", "starts_in_work",
         "starts_out_of_work", "retained_short_due", "retained_long_due", "retained_short",
         "retained_long"]


def workwell_vs_truth(mart: dict[str, int], truth: dict[str, int]) -> list[str]:
    """Differences between the warehouse's WorkWell counts and the truth (empty list = agreement)."""
    problems = [f"{key}: mart {mart.get(key)} != truth {truth[key]}" for key in EXACT if mart.get(key) != truth[key]]
    got, want = mart.get("job_starts_out_of_work", 0), truth["job_starts_out_of_work"]
    if not 0.8 * want <= got <= want:
        problems.append(f"job_starts_out_of_work: mart {got} outside 80-100% of truth {want}")
    return problems


def test_comparison_catches_a_wrong_count():
    truth = {key: 10 for key in EXACT} | {"job_starts_out_of_work": 10}
    assert workwell_vs_truth(dict(truth), truth) == []
    assert workwell_vs_truth(dict(truth, job_starts_out_of_work=8), truth) == []
    assert workwell_vs_truth(dict(truth, job_starts_out_of_work=7), truth)
    assert workwell_vs_truth(dict(truth, job_starts_out_of_work=11), truth)
    assert workwell_vs_truth(dict(truth, retained_short=9), truth)


def workwell_counts(warehouse) -> dict[str, int]:
    with warehouse.connect() as conn:
        row = conn.execute(
            "select count(*), count(*) filter (where is_started), count(*) filter (where has_support_plan),"
            " count(*) filter (where is_did_not_start), count(*) filter (where is_leaver),"
            " count(return_to_work_date),"
            " count(*) filter (where is_started and workwell_work_status_at_referral = 'in_work'),"
            " count(*) filter (where is_started and workwell_work_status_at_referral = 'out_of_work')"
            " from analytics.referrals where source_feed = 'icb'").fetchone()
        retention = conn.execute(
            "select count(*) filter (where is_retained_short_due), count(*) filter (where is_retained_long_due),"
            " count(*) filter (where is_retained_short), count(*) filter (where is_retained_long)"
            " from intermediate.int_workwell_retention_evaluated").fetchone()
        job_starts = conn.execute(
            "select count(*) from analytics.episodes where programme = 'workwell_bwd'"
            " and workwell_work_status_at_referral = 'out_of_work' and has_job_start").fetchone()[0]
    keys = ["referrals", "starts", "support_plans", "did_not_start", "leavers", "returned_to_work", "starts_in_work",
            "starts_out_of_work"]
    counts = dict(zip(keys, row, strict=True))
    counts.update(zip(["retained_short_due", "retained_long_due", "retained_short", "retained_long"],
                      retention, strict=True))
    counts["job_starts_out_of_work"] = job_starts
    return counts


def test_workwell_equals_ground_truth(warehouse):
    truth = warehouse.truth["workwell"]
    assert truth["starts_in_work"] >= 50 and truth["retained_short"] >= 10 and truth["job_starts_out_of_work"] >= 10
    assert workwell_vs_truth(workwell_counts(warehouse), truth) == []


def test_workwell_participants_have_starts_and_outcomes(warehouse):
    """WorkWell-only participants are started, get job starts (out of work) and are retained (in work)."""
    with warehouse.connect() as conn:
        started, job_start, retained_13, retained_26, returned = conn.execute(
            "select count(*) filter (where is_started), count(*) filter (where has_job_start),"
            " count(*) filter (where has_retained_short), count(*) filter (where has_retained_long),"
            " count(first_return_to_work_date)"
            " from analytics.participants where programmes = 'workwell_bwd'").fetchone()
    truth = warehouse.truth["workwell"]
    assert started > 0.5 * truth["starts"]
    assert job_start > 0 and retained_13 > 0 and retained_26 > 0 and returned > 0
    assert retained_13 <= truth["retained_short"]


def test_published_tables_cover_workwell(warehouse):
    """The WorkWell funnel and the WorkWell grant's starts reach the published, disclosure-controlled tables."""
    with warehouse.connect() as conn:
        shown = dict(conn.execute(
            "select measure, value from published.workwell_funnel_by_cohort_month"
            " where work_status_at_referral = 'all' and cohort_month = 'all'").fetchall())
        cost_starts = conn.execute(
            "select value from published.cost_per_outcome where partner_id = 'icb_workwell' and measure = 'starts'"
        ).fetchone()[0]
        over = conn.execute(
            "select count(*) from published.workwell_funnel_by_cohort_month"
            " where measure_kind = 'rate' and (value < 0 or value > 1)").fetchone()[0]
    truth = warehouse.truth["workwell"]
    # published counts are rounded to the nearest 5
    assert abs(shown["started"] - truth["starts"]) <= 2.5
    assert shown["support_plan"] > 0 and shown["retained_short"] > 0 and shown["job_start"] > 0
    assert cost_starts and cost_starts > 0
    assert over == 0


def test_retention_comparison_fails_when_the_rule_is_broken(warehouse):
    """Rebuild retention with a wrong rule: the comparison notices, then passes again once restored."""
    truth = warehouse.truth["workwell"]
    try:
        # 26 weeks counted as 20: more people retained at "26 weeks" than the truth
        warehouse.dbt("run", "--select", "int_workwell_retention_evaluated",
                      "--vars", json.dumps({"workwell_retention_long_weeks": 20}), target="broken_rule")
        problems = workwell_vs_truth(workwell_counts(warehouse), truth)
        assert any(problem.startswith("retained_long") for problem in problems), problems
    finally:
        warehouse.dbt("run", "--select", "int_workwell_retention_evaluated")
    assert workwell_vs_truth(workwell_counts(warehouse), truth) == []


def test_workwell_did_not_start_reasons_are_reported(warehouse):
    """The did-not-start mart covers the WorkWell service too: its reason counts add up to the truth."""
    with warehouse.connect() as conn:
        reported = conn.execute("select coalesce(sum(did_not_start), 0) from analytics.did_not_start_reasons_by_cohort_month"
                                " where partner_id = 'icb_workwell'").fetchone()[0]
    assert reported == warehouse.truth["workwell"]["did_not_start"] > 0
