"""Programme dates come from contracts/_programmes.yml, per programme: the generated seed
`reference.programmes` holds each programme's start, end and outcomes, and the data test
`on_or_after_programme_start` checks each referral and episode against its own programme's start
(the Trailblazer starts 2025-06-01, WorkWell 2024-10-01), not one project-wide date."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml
from dbt_warehouse_helpers import REPO_ROOT
from worklink.contracts import load_programmes

pytestmark = pytest.mark.e2e


def test_no_dbt_variable_repeats_a_programme_date():
    variables = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]
    dates = {str(d) for p in load_programmes().values() for d in (p.start, p.end) if d is not None}
    assert len(dates) >= 2
    assert [name for name, value in variables.items() if value is not None and str(value) in dates] == []
    assert not [name for name in variables if name.startswith("programme_")]


def test_the_programmes_seed_is_the_contracts_file(warehouse):
    with warehouse.connect() as conn:
        rows = conn.execute("select programme, start_date, end_date, outcomes from reference.programmes"
                            " order by programme").fetchall()
    declared = load_programmes()
    assert [r[0] for r in rows] == sorted(declared)
    for programme, start, end, outcomes in rows:
        assert (start, end) == (declared[programme].start, declared[programme].end)
        assert (outcomes or "").split() == declared[programme].outcomes
    # the two programmes start on different days: one var could never hold both
    assert str(declared["gm_etb"].start) == "2025-06-01" and str(declared["workwell_bwd"].start) == "2024-10-01"


def _compiled_test(warehouse, name: str) -> str:
    found = list(Path(warehouse.env["DBT_TARGET_PATH"]).glob(f"compiled/**/{name}.sql"))
    assert len(found) == 1, found
    return found[0].read_text()


def test_a_date_before_its_own_programmes_start_fails_the_data_test(warehouse):
    check = _compiled_test(warehouse, "on_or_after_programme_start_referrals_referral_date")
    with psycopg.connect(warehouse.url) as conn:  # one transaction, rolled back: the marts stay as built
        assert conn.execute(f"select count(*) from ({check}) as failures").fetchone()[0] == 0
        keys = {programme: conn.execute("select min(referral_key) from analytics.referrals where programme = %s",
                                        (programme,)).fetchone()[0] for programme in ("gm_etb", "workwell_bwd")}
        assert None not in keys.values()
        # 2024-10-01: WorkWell's first day, four months before the Trailblazer began
        conn.execute("update analytics.referrals set referral_date = date '2024-10-01' where referral_key = any(%s)",
                     (list(keys.values()),))
        failures = conn.execute(f"select programme, date_value from ({check}) as failures").fetchall()
        assert [(p, str(d)) for p, d in failures] == [("gm_etb", "2024-10-01")]
        # a day before WorkWell began fails for WorkWell too
        conn.execute("update analytics.referrals set referral_date = date '2024-09-30' where referral_key = %s",
                     (keys["workwell_bwd"],))
        assert conn.execute(f"select count(*) from ({check}) as failures").fetchone()[0] == 2
        conn.rollback()
