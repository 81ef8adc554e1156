"""Retention and erasure on the real database and the real (sealed) archive folder.

One generated programme year is loaded, linked and built (``populated_warehouse``). Then, in file
order (the second test builds on the first):

1. one person is erased by a partner's record id: none of their NHS numbers, NI numbers or
   surname-with-date-of-birth is left in any table or any decrypted archived file, and the marts
   rebuild without them (participants down by exactly one, referrals by exactly their referrals);
2. retention is applied as of a date after every period: no NHS or NI number of the expired records
   is left in the database, the archive, the reports or the logs, and every mart is unchanged.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from worklink.settings import load_settings

WORKLINK = str(Path(sys.executable).with_name("worklink"))
IDENTITY_FEED_TABLES = ("vcse_referrals", "nhs_workwell_referrals", "dwp_benefit_months", "hmrc_pay_events")


def _worklink(*args: str, env: dict | None = None) -> str:
    proc = subprocess.run([WORKLINK, *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout


def _rebuild(url: str) -> None:
    from worklink.linkage import run_linkage

    run_linkage(url)
    _worklink("dbt", "build")


def _tables(conn: psycopg.Connection, schemas: tuple[str, ...]) -> list[str]:
    return [f"{s}.{t}" for s, t in conn.execute(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any(%s) and c.relkind in ('r', 'p', 'm', 'v') and not c.relispartition
            order by 1, 2""", (list(schemas),)).fetchall()]


def _all_schemas(conn: psycopg.Connection) -> tuple[str, ...]:
    return tuple(r[0] for r in conn.execute(
        "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema'"))


def _rows_text(conn: psycopg.Connection, table: str):
    with conn.cursor().copy(f"copy (select t::text from {table} t) to stdout") as copy:  # noqa: S608
        for row in copy.rows():
            yield row[0]


def _needle_pattern(values: set[str]) -> re.Pattern:
    """Any of ``values`` as a whole token (not inside a longer run of letters/digits, e.g. a hex token)."""
    assert values
    return re.compile(r"(?<![0-9A-Za-z])(" + "|".join(sorted(map(re.escape, values))) + r")(?![0-9A-Za-z])",
                      re.IGNORECASE)


def _archived_rows(path: Path) -> list[str]:
    """The rows of a kept file, decrypted, one text line per row (spreadsheet cells joined by commas)."""
    from worklink.platform.sealed_files import read_sealed

    data = read_sealed(path)
    if data.startswith(b"PK"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        except Exception:  # noqa: BLE001 - a damaged workbook: scan its bytes as they are
            return data.decode("latin-1").splitlines()
        return [",".join("" if v is None else (v.date().isoformat() if isinstance(v, datetime) else str(v))
                         for v in row) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    return data.decode("utf-8", errors="replace").splitlines() + data.decode("cp1252", errors="replace").splitlines()


def _db_hits(conn: psycopg.Connection, pattern: re.Pattern, schemas: tuple[str, ...]) -> list[str]:
    hits = []
    for table in _tables(conn, schemas):
        hits += [table for text in _rows_text(conn, table) if pattern.search(text)][:1]
    return hits


def _mart_fingerprints(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    out = {}
    for table in _tables(conn, ("analytics", "published")):
        out[table] = conn.execute(
            f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"  # noqa: S608
        ).fetchone()
    return out


def _archive_paths(conn: psycopg.Connection) -> list[Path]:
    """This database's archived files (the session's archive folder also holds other modules')."""
    return [Path(r[0]) for r in conn.execute("select archive_path from ingest.file_manifest"
                                             " where archive_path is not null order by file_id")]


# a hand-written delivery whose two rows are held back (referral before the programme began):
# quarantined rows, with an NHS number, in the identity schema
QUARANTINED_NHS = "9990000026"
HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
          "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
          "economic_status,service_variant,eligible,ineligible_reason")
ROWS = [f"Q-{n},Quinn,Heldback,1980-0{n}-11,F,,M22 5RT,,,{QUARANTINED_NHS},,2025-05-0{n},gp,carer,mental_health,20,"
        "inactive_other,,Y," for n in (1, 2)]
REBUILT = {"done": False}  # the marts were rebuilt after the fixture's extra delivery


@pytest.fixture(scope="module")
def warehouse(populated_warehouse, tmp_path_factory) -> str:
    from worklink.ingest.service import ingest_paths

    landing = tmp_path_factory.mktemp("quarantine_landing")
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    (folder / "WWC_referrals_2025-05.csv").write_text(HEADER + "\n" + "\n".join(ROWS) + "\n")
    [result] = ingest_paths([landing], settings=dataclasses.replace(load_settings(), landing_dir=landing))
    assert result.rows_quarantined == 2, result
    return populated_warehouse


def _queue_a_pair(conn: psycopg.Connection) -> tuple[str, str]:
    """A review pair between two VCSE referrals of the last participants (never the erased person)."""
    keys = [r[0] for r in conn.execute(
        """select source_record_key from linkage.participant_xref where source_system not in ('dwp', 'hmrc', 'icb_workwell')
            order by participant_id desc, source_record_key limit 2""")]
    key_l, key_r = sorted(keys)
    conn.execute("insert into linkage.review_queue (key_l, key_r, match_probability, match_weight, reason,"
                 " last_seen_run_id) values (%s, %s, 0.6, 0.5, 'uncertain_match', 1)", (key_l, key_r))
    return key_l, key_r


def test_showing_identifiers_to_a_reviewer_writes_an_audit_record_naming_them(warehouse):
    with psycopg.connect(warehouse, autocommit=True) as conn:
        _queue_a_pair(conn)
    out = _worklink("link", "review", "--list", "--show-identifiers", env={"WORKLINK_REVIEWER": "alice"})
    assert "dob" in out
    _worklink("link", "review", "--list")  # without identifiers: no record
    with psycopg.connect(warehouse, autocommit=True) as conn:
        rows = conn.execute("select actor, store, counts from ingest.data_protection_log"
                            " where action = 'identifiers_shown'").fetchall()
        assert rows == [("review:alice", "identity_vault", {"source_records": 2, "pairs": 1})]
        conn.execute("truncate linkage.review_queue")


def _person(conn: psycopg.Connection) -> dict:
    """A participant with one VCSE referral, at least one WorkWell referral and a DWP record."""
    pid = conn.execute(
        """select participant_id from linkage.participant_xref group by 1
            having count(*) filter (where source_system = 'icb_workwell') >= 1
               and count(*) filter (where source_system = 'dwp') = 1
               and count(*) filter (where source_system not in ('icb_workwell', 'dwp', 'hmrc')) = 1
            order by 1 limit 1""").fetchone()[0]
    keys = [r[0] for r in conn.execute("select source_record_key from linkage.participant_xref"
                                       " where participant_id = %s order by 1", (pid,)).fetchall()]
    referral_key = next(k for k in keys if k.split(":")[0] not in ("icb_workwell", "dwp", "hmrc"))
    partner, record_id = referral_key.split(":", 1)
    ids = conn.execute(
        """select i.nhs_number, i.ni_number, i.last_name, i.date_of_birth from raw.vcse_referrals r
             join identity.vcse_referrals i on i._file_id = r._file_id
              and i._source_row_number = coalesce(r._identity_row_number, r._source_row_number)
            where r._partner_id = %s and r.referral_id = %s limit 1""", (partner, record_id)).fetchone()
    return {"pid": pid, "keys": keys, "partner": partner, "record_id": record_id, "nhs": ids[0], "nino": ids[1],
            "surname": ids[2], "dob": ids[3]}


def test_erasing_one_person_leaves_nothing_identifying_and_the_marts_lose_exactly_them(warehouse):
    from worklink.platform.erasure import find_person

    with psycopg.connect(warehouse, autocommit=True) as conn:
        person = _person(conn)
        found = find_person(conn, partner=person["partner"], record_id=person["record_id"])
        assert found.participant_id == person["pid"] and sorted(found.keys) == person["keys"]
        needles = set(found.nhs_numbers) | set(found.ninos)
        assert needles, "the chosen person should have an NHS or NI number in the vault"
        participants_before = conn.execute("select count(*) from analytics.participants").fetchone()[0]
        referrals_before = conn.execute("select count(*) from analytics.referrals").fetchone()[0]
        theirs = conn.execute("select count(*) from analytics.referrals where participant_id = %s",
                              (person["pid"],)).fetchone()[0]
        # their referrals: the one VCSE referral + each WorkWell referral key (DWP/HMRC are not referrals)
        assert theirs == sum(1 for k in person["keys"] if k.split(":")[0] not in ("dwp", "hmrc"))
        archived = _archive_paths(conn)
        pattern = _needle_pattern(needles)
        in_archive = [p for p in archived if any(pattern.search(r) for r in _archived_rows(p))]
        assert in_archive, "the scan must see the person in the archive before erasure (negative control)"

    out = _worklink("erase", "--partner", person["partner"], "--record-id", person["record_id"], "--yes",
                    "--request-ref", "TEST-ERASE-1")
    assert "erased:" in out and not any(needle in out for needle in needles)

    with psycopg.connect(warehouse, autocommit=True) as conn:
        assert _db_hits(conn, pattern, _all_schemas(conn)) == []
        # surname and date of birth together in one row (in any format a file may use)
        # (participant ids are random per database, so the chosen person differs between runs and
        # may have no date of birth or no NHS number: only the values they have are looked for)
        dobs = {person["dob"]} if person["dob"] else set()
        if person["dob"]:
            y, m, d = person["dob"].split("-")
            dobs |= {f"{d}/{m}/{y}"}
        both = [t for t in _tables(conn, _all_schemas(conn)) for text in _rows_text(conn, t)
                if person["surname"] and person["surname"].lower() in text.lower() and any(x in text for x in dobs)]
        assert both == []
        for path in archived:
            for row in _archived_rows(path):
                assert not pattern.search(row), path.name
                assert not (person["surname"] and person["surname"].lower() in row.lower()
                            and any(x in row for x in dobs)), path.name
        log = conn.execute("select counts, detail from ingest.data_protection_log where action = 'erasure'").fetchall()
        assert len(log) == 1 and log[0][0]["archived_files"] >= len(in_archive) > 0
        assert not any(needle in str(log) for needle in needles)
        assert conn.execute("select status from linkage.participants where participant_id = %s",
                            (person["pid"],)).fetchone()[0] == "retired"
    _worklink("archive", "verify")  # every re-written file matches its new hash in the manifest

    _rebuild(warehouse)
    REBUILT["done"] = True
    with psycopg.connect(warehouse, autocommit=True) as conn:
        assert conn.execute("select count(*) from analytics.participants").fetchone()[0] == participants_before - 1
        assert conn.execute("select count(*) from analytics.referrals").fetchone()[0] == referrals_before - theirs
        assert conn.execute("select count(*) from analytics.participants where participant_id = %s",
                            (person["pid"],)).fetchone()[0] == 0
        assert conn.execute("select count(*) from linkage.participant_xref where source_record_key = any(%s)",
                            (person["keys"],)).fetchone()[0] == 0


def test_retention_removes_every_expired_identifier_and_keeps_the_marts(warehouse, tmp_path):
    if not REBUILT["done"]:  # run alone: the baseline must include the fixture's extra delivery
        _rebuild(warehouse)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        needles: set[str] = {QUARANTINED_NHS}
        for table, columns in (("vcse_referrals", ("nhs_number", "ni_number")),
                               ("nhs_workwell_referrals", ("nhs_number",)),
                               ("dwp_benefit_months", ("nino",)), ("hmrc_pay_events", ("nino",))):
            for column in columns:
                needles |= {r[0] for r in conn.execute(
                    f"select distinct {column} from identity.{table} where {column} ~ '^[0-9A-Z]{{9,10}}$'")}  # noqa: S608
        assert len(needles) > 100
        pattern = _needle_pattern(needles)
        assert conn.execute("select count(*) from identity.quarantined_rows").fetchone()[0] >= 2
        marts_before = _mart_fingerprints(conn)
        _queue_a_pair(conn)  # both records lose their identifiers: the pair cannot be reviewed any more
        archived = _archive_paths(conn)
        assert archived and all(p.exists() for p in archived)

    # the platform's own file stores, in a state folder of their own (the session's is shared)
    state = tmp_path / "state"
    old_report = state / "reports" / "partner-alerts" / "ancoats_trust-2025-07.html"
    old_log = state / "airflow" / "logs" / "dag_id=worklink_nightly" / "attempt=1.log"
    for path in (old_report, old_log):
        path.parent.mkdir(parents=True)
        path.write_text(f"row 3 {sorted(needles)[0]}\n")
        os.utime(path, (datetime(2026, 1, 1).timestamp(),) * 2)
    env = {"WORKLINK_STATE_DIR": str(state)}

    # programme end 2026-03-31 + 24 months = 2028-03-31: the day before, no feed has expired ...
    import json

    before = json.loads(_worklink("retention", "plan", "--as-of", "2028-03-30", "--json", env=env))["items"]
    assert not [i for i in before if i["store"] in ("identity_vault", "archive")]
    # ... on the day, every feed has (the contracts keep the default)
    plan_text = _worklink("retention", "plan", "--as-of", "2028-03-31", env=env)
    assert "identity_vault" in plan_text and "archive" in plan_text and not pattern.search(plan_text)

    _worklink("retention", "apply", "--as-of", "2030-01-01", "--yes", env=env)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for table in IDENTITY_FEED_TABLES:
            assert conn.execute(f"select count(*) from identity.{table}").fetchone()[0] == 0, table  # noqa: S608
        assert conn.execute("select count(*) from identity.quarantined_rows").fetchone()[0] == 0
        assert conn.execute("select count(*) from ingest.file_manifest where archive_path is not null"
                            ).fetchone()[0] == 0
        stores = {r[0]: r[1] for r in conn.execute(
            "select store, counts from ingest.data_protection_log where action = 'retention'")}
        assert set(stores) == {"identity_vault", "quarantine", "review_queue", "archive", "partner_reports",
                               "airflow_logs"}
        assert stores["archive"]["files"] > 0 and stores["partner_reports"]["files"] == 1
        assert stores["review_queue"] == {"pairs": 1} and stores["airflow_logs"] == {"files": 1}
        assert stores["identity_vault"]["records_kept_pseudonymous"] > 100
    assert [p for p in archived if p.exists()] == []
    assert not old_report.exists() and not old_log.exists()

    _rebuild(warehouse)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        assert _db_hits(conn, pattern, _all_schemas(conn)) == []
        assert _mart_fingerprints(conn) == marts_before
    settings = load_settings()
    for root in (settings.airflow_home / "logs", settings.reports_dir):
        for path in (p for p in root.rglob("*") if p.is_file()) if root.is_dir() else ():
            assert not pattern.search(path.read_text(errors="replace")), path
