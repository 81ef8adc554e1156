"""Job updates and payslips, written by hand, through ingest and the real dbt models that match them.

A partner reports job JOB-1 in June, then (without re-sending June) an update ending it, an update
and a payslip naming JOB-9, which it never sent, and an update for a referral the warehouse does
not hold. Every row loads (an unknown job is not a row defect the partner could see at ingest: the
job may arrive later); the warehouse applies what names a known job and holds the rest with its
reason, never dropping a row.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from worklink.contracts import load_contracts
from worklink.ingest.service import ingest_paths
from worklink.settings import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))
from dbt_linkage_fixture import DDL as LINKAGE_DDL  # noqa: E402

PARTNER = "wythenshawe_wellbeing"
WORKLINK = str(Path(sys.executable).with_name("worklink"))
FILES = {
    "referrals/WWC_referrals_2025-06.csv": [
        "referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,ni_number,"
        "referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,economic_status,"
        "service_variant,eligible,ineligible_reason",
        "U-1,Ann,Smith,1980-01-02,F,,M22 5RT,,,,,2025-06-02,gp,carer,mental_health,20,inactive_other,"
        "digital_first,Y,",
    ],
    "starts/WWC_starts_2025-06.csv": [
        "referral_id,first_contact_date,start_date,did_not_start_reason",
        "U-1,2025-06-03,2025-06-05,",
    ],
    "job_starts/WWC_job_starts_2025-06.csv": [
        "referral_id,job_id,job_start_date,hours_per_week,hourly_pay_gbp,self_employed,evidence_type,job_end_date",
        "U-1,JOB-1,2025-06-16,20,12.50,N,payslip,",
    ],
    # three months later; June's job_starts file is not re-sent
    "job_updates/WWC_job_updates_2025-09.csv": [
        "referral_id,job_id,update_type,effective_date,hours_per_week,hourly_pay_gbp",
        "U-1,JOB-1,job_ended,2025-09-12,,",
        "U-1,JOB-9,hours_changed,2025-09-01,30,",  # a job id the partner never sent
        "U-404,JOB-1,job_ended,2025-09-12,,",  # a referral the warehouse does not hold
    ],
    "payslips/WWC_payslips_2025-09.csv": [
        "referral_id,job_id,pay_date,gross_pay_gbp",
        "U-1,JOB-1,2025-08-28,1000.00",
        "U-1,JOB-9,2025-08-28,900.00",
    ],
}
MODELS = "+int_child_rows_held_for_missing_parent +int_employment_spells_unioned"


@pytest.fixture(scope="module")
def warehouse(module_db, tmp_path_factory):
    root = tmp_path_factory.mktemp("landing")
    paths = []
    for rel, lines in FILES.items():
        path = root / PARTNER / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    os.environ["WORKLINK_LANDING_DIR"] = str(root)
    results = ingest_paths(paths, settings=load_settings(), contracts=load_contracts())
    with psycopg.connect(module_db, autocommit=True) as conn:
        # the linkage step's output for this one person (the referral is the only source record)
        conn.execute(LINKAGE_DDL)
        conn.execute("insert into linkage.participant_xref values"
                     " ('wythenshawe_wellbeing', 'wythenshawe_wellbeing:U-1', 'P-U1', 'clerical', 1.0, 'hand')")
    target = tmp_path_factory.mktemp("dbt")
    env = {**os.environ, "DBT_TARGET_PATH": str(target / "target"), "DBT_LOG_PATH": str(target / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # build: the seeds these models read come with them (data tests left to tests/dbt)
    proc = subprocess.run([WORKLINK, "dbt", "build", "--select", *MODELS.split(), "--exclude", "test_type:data"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    return {"results": {r.feed: r for r in results}, "url": module_db}


def test_every_update_and_payslip_row_loads(warehouse):
    for feed in ("job_updates", "payslips"):
        result = warehouse["results"][feed]
        assert result.status == "loaded", (feed, result.status, [i.message for i in result.errors])
        assert result.rows_in == result.rows_loaded == len(FILES[f"{feed}/WWC_{feed}_2025-09.csv"]) - 1


def test_an_update_for_an_unknown_job_is_held_with_its_reason(warehouse):
    with psycopg.connect(warehouse["url"]) as conn:
        updates = conn.execute(
            "select partner_job_key, update_status, hold_reason from intermediate.int_job_updates_matched"
            " order by 1").fetchall()
        payslips = conn.execute(
            "select partner_job_key, payslip_status, hold_reason from intermediate.int_payslips_matched_to_jobs"
            " order by 1").fetchall()
        held = conn.execute(
            "select feed, referral_key, hold_reason from intermediate.int_child_rows_held_for_missing_parent"
            " order by 1, 3").fetchall()
    assert updates == [
        ("wythenshawe_wellbeing:U-1:JOB-1", "applied", None),
        ("wythenshawe_wellbeing:U-1:JOB-9", "held", "unknown_job"),
        ("wythenshawe_wellbeing:U-404:JOB-1", "held", "parent_referral_not_in_warehouse"),
    ]
    assert payslips == [
        ("wythenshawe_wellbeing:U-1:JOB-1", "matched", None),
        ("wythenshawe_wellbeing:U-1:JOB-9", "held", "unknown_job"),
    ]
    # every row that cannot be applied is counted where the marts' held rows are, with its reason
    assert held == [
        ("job_updates", "wythenshawe_wellbeing:U-404", "parent_referral_not_in_warehouse"),
        ("job_updates", "wythenshawe_wellbeing:U-1", "unknown_job"),
        ("payslips", "wythenshawe_wellbeing:U-1", "unknown_job"),
    ]


def test_the_update_ends_the_job_reported_months_earlier(warehouse):
    with psycopg.connect(warehouse["url"]) as conn:
        job = conn.execute(
            "select spell_start_date::text, spell_end_date::text, hours_per_week, job_updates_applied_count"
            " from intermediate.int_employment_spells_unioned where evidence_source = 'partner'").fetchall()
    # June's row had no end; the September update (effective 12 Sep) ends it; the update naming
    # JOB-9 (30 hours) changes nothing
    assert job == [("2025-06-16", "2025-09-12", 20, 1)]
