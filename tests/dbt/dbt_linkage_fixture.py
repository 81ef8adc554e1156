"""TEST FIXTURE ONLY: fill linkage.participant_xref and linkage.source_record_attributes from the
generator's ground truth, standing in for the record-linkage step (written by another engineer).

The dbt models read these two tables as sources; building them from truth lets the warehouse tests
run independently of the linkage code's timing, and makes every difference from the truth counts a
warehouse bug rather than a linkage error. Never used outside tests/ and bench/.

Keys follow the agreed contract: VCSE '<partner_id>:<referral_id>', ICB 'icb_workwell:<ww_referral_id>',
DWP/HMRC '<dwp|hmrc>:<nino_token>'. DWP/HMRC records are placed via the truth's row-level keys
(`dwp:<row_number>`), matched to the loaded rows by their source row number.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd
import psycopg

# 'clerical' (a link a person decided) is the nearest of the linkage step's methods to ground truth,
# and is allowed by its check constraint; model_version marks the rows as this fixture's.
FIXTURE_METHOD = "clerical"
FIXTURE_MODEL_VERSION = "truth-fixture-1"

DDL = """
create schema if not exists linkage;
create table if not exists linkage.participant_xref (
    source_system text not null,
    source_record_key text primary key,
    participant_id text not null,
    method text not null,
    match_probability double precision,
    model_version text not null
);
create table if not exists linkage.source_record_attributes (
    source_record_key text primary key,
    source_system text,
    sex text,
    age_band_at_referral text,
    postcode_district text,
    borough text
);
"""


def participant_id_for(person_id: str) -> str:
    """An opaque, stable participant id (the linkage step issues its own; tests never rely on the form)."""
    return "WL" + hashlib.sha256(f"fixture/{person_id}".encode()).hexdigest()[:14].upper()


def age_band(dob: pd.Series, on: pd.Series) -> pd.Series:
    years = ((on - dob).dt.days / 365.25).astype("float")
    bands = pd.cut(years, bins=[0, 16, 25, 35, 50, 65, 200], right=False,
                   labels=["under_16", "16_24", "25_34", "35_49", "50_64", "65_plus"])
    return bands.astype("object").where(years.notna(), None)


def _borough(district: pd.Series) -> pd.Series:
    return district.map(lambda d: None if not isinstance(d, str) else
                        "manchester" if d.startswith("M") else
                        "blackburn_with_darwen" if d.startswith("BB") else "other")


# placeholders for NOT NULL columns the real linkage tables have and the fixture does not fill
_FILLER = {"text": "fixture", "boolean": False, "bigint": 0, "integer": 0, "double precision": 0.0,
           "timestamp with time zone": "2026-04-01T00:00:00+00:00"}


def _copy(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> None:
    """Replace the table's rows (truncate + COPY), like the linkage step does each night.

    The tables may have been created by the real linkage code with more columns; NOT NULL ones the
    fixture does not know get a placeholder so the same fixture works with either table layout.
    """
    schema, name = table.split(".")
    required = conn.execute(
        "select column_name, data_type from information_schema.columns where table_schema = %s"
        " and table_name = %s and is_nullable = 'NO' and column_default is null", (schema, name)).fetchall()
    existing = {r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema, name)).fetchall()}
    frame = frame[[c for c in frame.columns if c in existing]].copy()
    for column, data_type in required:
        if column not in frame.columns:
            frame[column] = _FILLER.get(data_type, "fixture")
    conn.execute(f"truncate {table}")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    columns = ", ".join(frame.columns)
    with conn.cursor().copy(f"copy {table} ({columns}) from stdin with (format csv, null '\\N')") as copy:
        copy.write(buffer.read())


def build_linkage_fixture(database_url: str, truth_dir: Path) -> dict[str, int]:
    """(Re)create the two linkage tables from truth for every record currently loaded in raw.*."""
    truth_dir = Path(truth_dir)
    persons = pd.read_csv(truth_dir / "persons.csv", dtype=str, keep_default_na=False)
    persons["date_of_birth"] = pd.to_datetime(persons["date_of_birth"].replace("", None))
    persons["postcode_district"] = persons["postcode"].str.split(" ").str[0].replace("", None)
    persons = persons.set_index("person_id")
    records = pd.read_csv(truth_dir / "source_records.csv", dtype=str, keep_default_na=False,
                          usecols=["file", "row_number", "source_record_key", "person_id"])
    admin = records[records["source_record_key"].str.match(r"^(dwp|hmrc):\d+$")].copy()
    admin["system"] = admin["source_record_key"].str.split(":").str[0]
    admin["row_number"] = admin["row_number"].astype(int)
    person_of_key = records.drop_duplicates("source_record_key").set_index("source_record_key")["person_id"]

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(DDL)
        referrals = pd.DataFrame(conn.execute(
            "select _partner_id || ':' || referral_id, min(referral_date) from raw.vcse_referrals"
            " where _is_current group by 1 "
            "union all select _partner_id || ':' || ww_referral_id, min(referral_date)"
            " from raw.nhs_workwell_referrals where _is_current group by 1").fetchall(),
            columns=["source_record_key", "referral_date"])
        admin_rows = []
        for system, table in (("dwp", "raw.dwp_benefit_months"), ("hmrc", "raw.hmrc_pay_events")):
            rows = pd.DataFrame(conn.execute(
                f"select nino_token, min(_source_row_number) from {table} where _is_current"
                " group by nino_token").fetchall(), columns=["nino_token", "row_number"])
            truth = admin[admin["system"] == system][["row_number", "person_id"]]
            rows = rows.merge(truth, on="row_number", how="inner")
            rows["source_record_key"] = system + ":" + rows["nino_token"]
            rows["source_system"] = system
            admin_rows.append(rows[["source_system", "source_record_key", "person_id"]])

        referrals["person_id"] = referrals["source_record_key"].map(person_of_key)
        referrals = referrals[referrals["person_id"].notna()].copy()
        referrals["source_system"] = referrals["source_record_key"].str.split(":").str[0]
        xref = pd.concat([referrals[["source_system", "source_record_key", "person_id"]], *admin_rows])
        xref["participant_id"] = xref["person_id"].map(participant_id_for)
        xref["method"] = FIXTURE_METHOD
        xref["match_probability"] = 1.0
        xref["model_version"] = FIXTURE_MODEL_VERSION
        _copy(conn, "linkage.participant_xref", xref[[
            "source_system", "source_record_key", "participant_id", "method", "match_probability",
            "model_version"]])

        person = persons.loc[referrals["person_id"]]
        attributes = pd.DataFrame({
            "source_record_key": referrals["source_record_key"].to_numpy(),
            "sex": person["sex"].str.lower().replace("", None).to_numpy(),
            "age_band_at_referral": age_band(person["date_of_birth"].reset_index(drop=True),
                                             pd.to_datetime(referrals["referral_date"]).reset_index(drop=True)
                                             ).to_numpy(),
            "postcode_district": person["postcode_district"].to_numpy(),
            "borough": _borough(person["postcode_district"]).to_numpy(),
            "source_system": referrals["source_system"].to_numpy(),
        })
        _copy(conn, "linkage.source_record_attributes", attributes)
        conn.execute("analyze linkage.participant_xref; analyze linkage.source_record_attributes")
    return {"xref_rows": len(xref), "attribute_rows": len(attributes),
            "participants": int(xref["participant_id"].nunique())}


if __name__ == "__main__":  # manual use: python tests/dbt/dbt_linkage_fixture.py URL TRUTH_DIR
    import sys

    print(build_linkage_fixture(sys.argv[1], Path(sys.argv[2])))
