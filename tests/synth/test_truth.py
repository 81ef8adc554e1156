"""Ground truth is consistent with the landing files (clean run)."""

import json
from collections import Counter

import numpy as np
import pandas as pd
from synth_helpers import landing_files, read_landing
from worklink.synth.schema import DWP_COLUMNS, HMRC_COLUMNS, PARTNERS


def _source_records(out):
    return pd.read_csv(out / "_truth" / "source_records.csv", dtype=str, keep_default_na=False)


def test_every_row_has_exactly_one_source_record(clean_run):
    sr = _source_records(clean_run)
    assert not sr.duplicated(["file", "row_number"]).any()
    assert (sr["defect"] == "").all()
    per_file = sr.groupby("file")["row_number"].apply(lambda s: sorted(map(int, s)))
    files = landing_files(clean_run)
    assert set(per_file.index) <= set(files)
    persons = set(pd.read_csv(clean_run / "_truth" / "persons.csv", dtype=str)["person_id"])
    assert set(sr["person_id"]) <= persons
    for rel in files:
        if rel.startswith(("landing/dwp", "landing/hmrc")):
            n = len(pd.read_csv(clean_run / rel, dtype=str))
        else:
            n = len(read_landing(clean_run, rel))
        assert per_file.get(rel, []) == list(range(1, n + 1)), rel
    summary = json.loads((clean_run / "_truth" / "summary.json").read_text())
    assert summary["rows_per_file"] == {f: len(per_file.get(f, [])) for f in files}


def test_keys_match_file_contents(clean_run):
    sr = _source_records(clean_run).set_index(["file", "row_number"])
    for partner in PARTNERS:
        rel = next(
            f
            for f in landing_files(clean_run)
            if f"/{partner}/referrals/" in f and len(read_landing(clean_run, f))
        )
        df = read_landing(clean_run, rel)
        keys = [sr.loc[(rel, str(i + 1)), "source_record_key"] for i in range(len(df))]
        assert keys == [f"{partner}:{r}" for r in df["referral_id"]]


def test_counts_match_files(clean_run):
    counts = json.loads((clean_run / "_truth" / "counts.json").read_text())
    files = landing_files(clean_run)
    for partner in PARTNERS:
        for month, expected in counts["referrals_by_partner_month"][partner].items():
            rel = PARTNERS[partner].rel_path("referrals", month)
            assert read_landing(clean_run, rel)["referral_id"].nunique() == expected, rel
        starts = pd.concat([read_landing(clean_run, f) for f in files if f"/{partner}/starts/" in f])
        bp = counts["by_partner"][partner]
        assert (starts["start_date"] != "").sum() == bp["starts"]
        assert (starts["start_date"] == "").sum() == bp["did_not_start"]
        assert (starts["first_contact_date"] != "").sum() == bp["first_contacts"]
        jobs = pd.concat([read_landing(clean_run, f) for f in files if f"/{partner}/job_starts/" in f])
        # every recorded job is a row; job starts leave out those under 4 hours and contradicted claims
        assert len(jobs) == bp["job_start_rows"]
        assert bp["job_starts"] == bp["job_start_rows"] - bp["job_starts_under_4_hours"] \
            - bp["contradicted_job_start_claims"]
        assert (jobs["hours_per_week"].astype(float) < 4).sum() == bp["job_starts_under_4_hours"]
        month_counts = Counter(d[:7] for d in jobs["job_start_date"])
        assert all(
            month_counts.get(m, 0) == n for m, n in counts["job_start_rows_by_partner_month"][partner].items()
        )
        leavers = pd.concat([read_landing(clean_run, f) for f in files if f"/{partner}/leavers/" in f])
        assert len(leavers) == bp["leavers"]
        refs = pd.concat([read_landing(clean_run, f) for f in files if f"/{partner}/referrals/" in f])
        assert (refs["eligible"] == "Y").sum() == bp["eligible"]
        assert len(refs) == bp["referrals"]
    for month, expected in counts["nhs_referrals_by_month"].items():
        df = read_landing(clean_run, f"landing/icb_workwell/referrals/ICB_WW_referrals_{month}.csv")
        assert len(df) == expected


def test_rows_land_in_their_period_file(clean_run):
    event = {
        "referrals": "referral_date",
        "activities": "contact_date",
        "wellbeing": "completed_date",
        "leavers": "exit_date",
    }
    for rel in landing_files(clean_run):
        parts = rel.split("/")
        if parts[1] not in PARTNERS or parts[2] not in event:
            continue
        df = read_landing(clean_run, rel)
        period = rel.rsplit("_", 1)[1][:7]
        assert (df[event[parts[2]]].str[:7] == period).all(), rel


def test_admin_extracts_consistent(clean_run):
    persons = pd.read_csv(clean_run / "_truth" / "persons.csv", dtype=str, keep_default_na=False)
    dwp = pd.read_csv(
        clean_run / "landing/dwp/benefits/DWP_benefits_2026-03.csv", dtype=str, keep_default_na=False
    )
    hmrc = pd.read_csv(
        clean_run / "landing/hmrc/employment/HMRC_RTI_2026-03.csv", dtype=str, keep_default_na=False
    )
    assert list(dwp.columns) == DWP_COLUMNS and list(hmrc.columns) == HMRC_COLUMNS
    assert (dwp.groupby("nino")["month"].nunique() == 18).all()
    assert set(dwp["nino"]) <= set(persons["ni_number"]) - {""}
    on_benefit = dwp[["uc_claimant", "esa_claimant", "pip_claimant", "carers_allowance"]].eq("Y").any(axis=1)
    assert on_benefit.groupby(dwp["nino"]).any().all()
    assert ((dwp["uc_claimant"] == "Y") == (dwp["uc_conditionality_regime"] != "")).all()
    assert ((dwp["esa_claimant"] == "Y") == (dwp["esa_group"] != "")).all()
    assert hmrc["payment_date"].between("2024-10-01", "2026-03-31").all()
    assert (hmrc["payment_date"] >= hmrc["employment_start_date"]).all()
    ended = hmrc["employment_end_date"] != ""
    assert (hmrc.loc[ended, "payment_date"] <= hmrc.loc[ended, "employment_end_date"]).all()
    # recorded PAYE job starts of people with a NINo appear in HMRC with the same start date, except
    # the claims the truth marks contradicted (HMRC has no such job)
    counts = json.loads((clean_run / "_truth" / "counts.json").read_text())
    sr = _source_records(clean_run)
    by_person = persons.set_index("person_id")["ni_number"]
    checked = 0
    for rel in [f for f in landing_files(clean_run) if "/job_starts/" in f]:
        df = read_landing(clean_run, rel)
        who = (
            sr[sr["file"] == rel]
            .sort_values("row_number", key=lambda s: s.astype(int))["person_id"]
            .to_numpy()
        )
        for (_, row), pid in zip(df.iterrows(), who, strict=True):
            nino = by_person[pid]
            contradicted = row["referral_id"] in counts["contradicted_job_start_claims_by_partner"][rel.split("/")[1]]
            if row["self_employed"] == "N" and nino and row["job_start_date"] <= "2026-02-28" and not contradicted:
                spells = hmrc[
                    (hmrc["nino"] == nino) & (hmrc["employment_start_date"] == row["job_start_date"])
                ]
                assert len(spells), (rel, pid)
                checked += 1
    assert checked > 0


def test_wellbeing_improves_on_average(clean_run):
    frames = [read_landing(clean_run, f) for f in landing_files(clean_run) if "/wellbeing/" in f]
    wb = pd.concat(frames)
    wb = wb[wb["instrument"].isin(["WEMWBS", "SWEMWBS"])]
    items = wb[[f"item_{i:02d}" for i in range(1, 15)]].replace("", np.nan).astype(float)
    wb = wb.assign(mean_item=items.mean(axis=1))
    means = wb.groupby("timepoint")["mean_item"].mean()
    assert means["exit"] > means["baseline"]
