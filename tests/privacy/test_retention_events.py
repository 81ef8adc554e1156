"""When a received file expires, per counting event, on the real database (hand-written deliveries).

Two monthly referral files of one partner, each with one referral of the same participant:
file 1 received 2025-08-05, file 2 received 2026-01-10. With a 6-month period:

* counted from file receipt: file 1 expires 2025-08-05 + 6 months = 2026-02-05, file 2 on 2026-07-10;
* counted from the participant's last activity (the latest receipt of a file holding any of their
  records, 2026-01-10 for both): both expire on 2026-07-10;
* counted from programme end (gm_etb: 2026-03-31): both on 2026-09-30.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import date

import psycopg
import pytest
from worklink.contracts import Retention, load_contracts
from worklink.platform.retention import expired_files, load_retention_config, run_nightly
from worklink.settings import load_settings

HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
          "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
          "economic_status,service_variant,eligible,ineligible_reason")


def _row(ref: str, month: str) -> str:
    return (f"{ref},Eve,Example,1975-04-09,F,,M22 5RT,,,9990000018,,{month}-03,gp,carer,mental_health,20,"
            "inactive_other,,Y,")


@pytest.fixture(scope="module")
def two_files(module_db, tmp_path_factory) -> tuple[int, int]:
    from worklink.ingest.service import ingest_paths
    from worklink.linkage import store

    landing = tmp_path_factory.mktemp("events_landing")
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    for ref, month in (("E-1", "2025-07"), ("E-2", "2025-08")):
        (folder / f"WWC_referrals_{month}.csv").write_text(HEADER + "\n" + _row(ref, month) + "\n")
    results = ingest_paths([landing], settings=dataclasses.replace(load_settings(), landing_dir=landing))
    assert [r.status for r in results] == ["loaded", "loaded"]
    first, second = sorted(r.file_id for r in results)
    with psycopg.connect(os.environ["WORKLINK_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("update ingest.file_manifest set received_at = %s where file_id = %s", ("2025-08-05 09:00Z", first))
        conn.execute("update ingest.file_manifest set received_at = %s where file_id = %s", ("2026-01-10 09:00Z", second))
        store.ensure_schema(conn)
        for key in ("wythenshawe_wellbeing:E-1", "wythenshawe_wellbeing:E-2"):
            conn.execute("insert into linkage.participant_xref (source_system, source_record_key, participant_id,"
                         " method, linked_at, run_id) values ('wythenshawe_wellbeing', %s, 'WLEVENTS0001',"
                         " 'deterministic_nhs_number', now(), 1)", (key,))
    return first, second


def _expired(counted_from: str, as_of: date) -> list[int]:
    contracts = [c.model_copy(update={"retention": Retention(counted_from=counted_from, keep_for_months=6)})
                 if (c.partner.id, c.feed) == ("wythenshawe_wellbeing", "referrals") else c for c in load_contracts()]
    with psycopg.connect(os.environ["WORKLINK_DATABASE_URL"], autocommit=True) as conn:
        return sorted(f.file_id for f in expired_files(conn, as_of, load_retention_config(), contracts))


def test_counted_from_file_receipt(two_files):
    first, second = two_files
    assert _expired("file_receipt", date(2026, 2, 4)) == []
    assert _expired("file_receipt", date(2026, 2, 5)) == [first]
    assert _expired("file_receipt", date(2026, 7, 10)) == [first, second]


def test_counted_from_the_participants_last_activity(two_files):
    first, second = two_files
    assert _expired("last_activity", date(2026, 2, 5)) == []  # the person was active again in January
    assert _expired("last_activity", date(2026, 7, 9)) == []
    assert _expired("last_activity", date(2026, 7, 10)) == [first, second]


def test_counted_from_programme_end(two_files):
    assert _expired("programme_end", date(2026, 9, 29)) == []
    assert _expired("programme_end", date(2026, 9, 30)) == list(two_files)


def test_the_nightly_task_does_nothing_unless_the_operator_enabled_it(two_files, monkeypatch):
    monkeypatch.delenv("WORKLINK_RETENTION_NIGHTLY", raising=False)
    assert run_nightly(date(2030, 1, 1)) is None
    with psycopg.connect(os.environ["WORKLINK_DATABASE_URL"], autocommit=True) as conn:
        assert conn.execute("select count(*) from identity.vcse_referrals").fetchone()[0] == 2
