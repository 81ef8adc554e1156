"""Access audit on the real server (pgaudit): a permitted read of the identity vault by the loader,
and a clerical reviewer's read, appear in `worklink audit report`; the evaluator's attempt is refused
and reported as refused; no statement text (which could carry an identifier) reaches the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from worklink.ingest.service import ingest_paths
from worklink.platform.roles import EVALUATOR, LOADER, role_password

WORKLINK = str(Path(sys.executable).with_name("worklink"))
HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
          "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
          "economic_status,service_variant,eligible,ineligible_reason")
ROW = "A-1,Ann,Auditson,1970-02-03,F,,M22 5RT,,,9990000018,,2025-07-03,gp,carer,mental_health,20,inactive_other,,Y,"
PROBE = "9990000018"  # the identifier the refused query looks for: it must not be logged


def _connect(url: str, role: str | None = None, application: str = "") -> psycopg.Connection:
    target = make_url(url)
    if role:
        target = target.set(username=role, password=role_password(role))
    conn = psycopg.connect(target.render_as_string(hide_password=False), autocommit=True,
                           application_name=application)
    return conn


@pytest.fixture(scope="module")
def audited(module_db, tmp_path_factory):
    with psycopg.connect(module_db, autocommit=True) as conn:
        loaded = "pgaudit" in conn.execute("show shared_preload_libraries").fetchone()[0]
        data_directory = conn.execute("show data_directory").fetchone()[0]
    if not loaded:
        if os.environ.get("CI") == "true":
            pytest.fail("pgaudit is not loaded by the server CI started (infra/install.sh installs it)")
        pytest.skip("this server was started before pgaudit was configured: `worklink db stop && worklink db start`")
    landing = tmp_path_factory.mktemp("audit_landing")
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    (folder / "WWC_referrals_2025-07.csv").write_text(HEADER + "\n" + ROW + "\n")
    os.environ["WORKLINK_LANDING_DIR"] = str(landing)
    since = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    [result] = ingest_paths([landing])  # makes the vault's table and grants the auditor role
    assert result.status == "loaded"
    with _connect(module_db, LOADER, "linkage") as conn:
        assert conn.execute("select count(*) from identity.vcse_referrals").fetchone()[0] >= 1
    with _connect(module_db, EVALUATOR, "evaluator-notebook") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select * from identity.vcse_referrals where nhs_number = '{PROBE}'")
    with _connect(module_db, None, "review:alice") as conn:  # the owner, as the review command connects
        conn.execute("select first_name from identity.vcse_referrals limit 1").fetchall()
    database = make_url(module_db).database
    proc = subprocess.run([WORKLINK, "audit", "report", "--since", since.isoformat(), "--database", database,
                           "--json"], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    log = Path(data_directory).parent / "postgres.log"
    return json.loads(proc.stdout)["access"], log, database


def test_the_loaders_read_of_the_vault_is_in_the_report(audited):
    access, _, _ = audited
    assert any(a["role"] == LOADER and a["kind"] == "read" and a["object"] == "identity.vcse_referrals"
               and a["application"] == "linkage" for a in access), access


def test_a_reviewers_read_names_the_reviewer(audited):
    access, _, _ = audited
    assert any(a["application"] == "review:alice" and a["kind"] == "read" and a["object"] == "identity.vcse_referrals"
               for a in access), access


def test_the_evaluators_attempt_is_refused_and_reported_without_its_statement(audited):
    access, log, database = audited
    refused = [a for a in access if a["kind"] == "refused"]
    assert [(a["role"], a["object"]) for a in refused] == [(EVALUATOR, "identity")], access
    assert not any(a["role"] == EVALUATOR and a["kind"] == "read" for a in access)
    ours = [line for line in log.read_text(errors="replace").splitlines() if f"db={database} " in line]
    assert ours and not any(PROBE in line for line in ours)
