"""The generator's WorkWell journeys: the service's feeds say what _truth/workwell_journeys.csv says,
and the truth covers every path the warehouse must handle (in work retained or not, a change of
employer within and beyond the allowance, return to work after sickness absence, job starts of people
out of work)."""

from __future__ import annotations

import json

import pandas as pd
from synth_helpers import read_landing
from worklink.synth.params import DEFAULT_RATES, WW_MONTHS


def _truth(run) -> pd.DataFrame:
    return pd.read_csv(run / "_truth" / "workwell_journeys.csv", dtype=str, keep_default_na=False)


def _feed(run, feed: str) -> pd.DataFrame:
    return pd.concat([read_landing(run, f"landing/icb_workwell/{feed}/ICB_WW_{feed}_{m}.csv") for m in WW_MONTHS],
                     ignore_index=True)


def test_feeds_match_the_truth(clean_run):
    truth = _truth(clean_run).set_index("ww_referral_id")
    starts = _feed(clean_run, "starts")
    assessed = starts[starts["assessment_date"] != ""].set_index("ww_referral_id")
    assert assessed["assessment_date"].to_dict() == truth.loc[truth["assessment_date"] != "", "assessment_date"].to_dict()
    plans = assessed[assessed["support_plan_date"] != ""]["support_plan_date"]
    assert plans.to_dict() == truth.loc[truth["support_plan_date"] != "", "support_plan_date"].to_dict()
    assert (assessed["work_status_at_assessment"] == truth.loc[assessed.index, "work_status_at_referral"]).all()
    dns = starts[starts["assessment_date"] == ""]
    assert set(dns["ww_referral_id"]) == set(truth.index[truth["did_not_start"] == "Y"])
    assert (dns["did_not_start_reason"] != "").all()
    exits = _feed(clean_run, "exits").set_index("ww_referral_id")
    assert exits["exit_date"].to_dict() == truth.loc[truth["exit_date"] != "", "exit_date"].to_dict()
    fit = _feed(clean_run, "fit_notes")
    back = fit[fit["fit_note_status"] == "returned_to_work"].set_index("ww_referral_id")["change_date"]
    assert back.to_dict() == truth.loc[truth["return_to_work_date"] != "", "return_to_work_date"].to_dict()
    contacts = _feed(clean_run, "contacts")
    assert set(contacts["ww_referral_id"]) <= set(assessed.index)
    # every row of a monthly file belongs to that month (the support plan's month for a start row)
    for month in WW_MONTHS:
        rows = read_landing(clean_run, f"landing/icb_workwell/exits/ICB_WW_exits_{month}.csv")
        assert rows["exit_date"].str.startswith(month).all()


def test_truth_covers_every_workwell_path(clean_run):
    truth = _truth(clean_run)
    in_work = truth["work_status_at_referral"] == "in_work"
    assert set(truth.loc[~in_work, "retained_short"]) == {""}, "retention applies to people in work only"
    assert set(truth.loc[in_work, "retained_short"]) >= {"Y", "N", ""}
    assert set(truth.loc[in_work, "retained_long"]) >= {"Y", "N"}
    assert (truth.loc[~in_work, "first_job_start_date"] != "").sum() >= 3
    assert (truth.loc[in_work, "first_job_start_date"] == "").all()
    # return to work after sickness absence: only people off sick at referral, on or after their start
    back = truth[truth["return_to_work_date"] != ""]
    assert len(back) >= 3 and (back["off_sick_at_referral"] == "Y").all()
    assert (back["return_to_work_date"] >= back["assessment_date"]).all()
    # a change of employer, with the new job inside and beyond the retention allowance
    gaps = pd.to_numeric(truth.loc[in_work, "employer_change_gap_days"], errors="coerce").dropna()
    allowance = DEFAULT_RATES.ww_retention_gap_days
    assert (gaps <= allowance).any() and (gaps > allowance).any(), gaps.tolist()


def test_counts_sum_the_journeys(clean_run):
    truth = _truth(clean_run)
    counts = json.loads((clean_run / "_truth" / "counts.json").read_text())["workwell"]
    assert counts["referrals"] == len(truth)
    assert counts["starts"] == (truth["assessment_date"] != "").sum()
    assert counts["starts_in_work"] + counts["starts_out_of_work"] == counts["starts"]
    assert counts["retained_short"] == (truth["retained_short"] == "Y").sum()
    assert counts["retained_short"] <= counts["retained_short_due"] <= counts["starts_in_work"]
    assert counts["retained_long_due"] <= counts["retained_short_due"]
