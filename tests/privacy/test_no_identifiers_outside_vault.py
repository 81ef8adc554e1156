"""Scan every schema but ``identity``, column names and values, for direct identifiers.

The identifiers looked for are the ones actually held in the vault (every NHS number, NINo, name,
postcode and date of birth of the identity schema), plus anything shaped like an NHS number (10
digits passing modulus 11) or a full UK postcode, wherever it came from.

Names and dates need care. A code can equal a surname ("black" as an ethnic group, "Black" as a
family name), so single name words are flagged per column: at least 3 distinct values that are
vault names and more than 5% of the column's distinct values (a column of names is nearly all
names); a whole "given family" name from the vault is flagged wherever it appears, even once.
 a date column of an extract (e.g. an employment start) can coincide with someone's
date of birth. In ``raw`` the check is exact, row by row, against the same row's vault entry (same
``_file_id, _source_row_number``); elsewhere a column is flagged when more than 2% of its distinct
dates are dates of birth from the vault, which a column that carries dates of birth far exceeds.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import psycopg
import pytest
from psycopg import sql
from worklink.identifiers import POSTCODE_PATTERN, valid_nhs_number_mask
from worklink.identity import identity_join

IDENTIFIER_WORDS = re.compile(
    r"(^|_)(nhs_number|nhs_no|ni_number|nino|forename|surname|first_name|last_name|full_name|date_of_birth|dob|"
    r"birth_date|postcode|post_code|phone|telephone|mobile|email|address)($|_)")
# tokens, districts, and counts/rates/flags *about* identifiers (referrals_without_nhs_or_ni_number)
ALLOWED_COLUMN = re.compile(r"(_token$|^postcode_district$|^has_|^n_|_rate$|_count$|_share$|_pct$|without_|^with_|"
                            r"_recorded$|_missing$|^missing_)")
POSTCODE = re.compile(POSTCODE_PATTERN)
SKIP_SCHEMAS = ("identity", "pg_catalog", "information_schema", "pg_toast")
TEXT_TYPES = {"text", "character varying", "character", "name", "date", "jsonb", "json", "bigint", "numeric",
              "integer"}


def vault(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Every identifier value held in the identity schema, in comparable (upper, compact) form."""
    out: dict[str, set[str]] = {"nhs": set(), "nino": set(), "name": set(), "postcode": set(), "dob": set(),
                                "full_name": set()}
    columns = conn.execute("""select c.table_name, c.column_name from information_schema.columns c
                               join pg_class t on t.relname = c.table_name
                               join pg_namespace n on n.oid = t.relnamespace and n.nspname = c.table_schema
                              where c.table_schema = 'identity' and t.relkind in ('r', 'p') and not t.relispartition
                                and c.column_name not like '\\_%%'""").fetchall()
    kinds = {"nhs_number": "nhs", "ni_number": "nino", "nino": "nino", "first_name": "name", "last_name": "name",
             "forename": "name", "surname": "name", "postcode": "postcode", "date_of_birth": "dob"}
    for table, column in columns:
        kind = kinds.get(column)
        if kind is None:
            continue
        for (value,) in conn.execute(sql.SQL("select distinct {} from {} where {} is not null").format(
                sql.Identifier(column), sql.Identifier("identity", table), sql.Identifier(column))):
            out[kind].add(_norm(kind, value))
    for first, last in (("first_name", "last_name"), ("forename", "surname")):
        tables = [t for t, c in columns if c == first and (t, last) in set(columns)]
        for table in tables:
            for a, b in conn.execute(sql.SQL("select distinct {}, {} from {} where {} is not null and {} is not null")
                                     .format(sql.Identifier(first), sql.Identifier(last),
                                             sql.Identifier("identity", table), sql.Identifier(first),
                                             sql.Identifier(last))):
                out["full_name"].add(_norm("name", a) + _norm("name", b))
    out["nino"] |= {v[:8] for v in out["nino"] if len(v) >= 8}
    out["name"] = {v for v in out["name"] if len(v) >= 3}
    return out


def _norm(kind: str, value) -> str:
    text = str(value).strip()
    if kind == "name":
        return re.sub(r"[^A-Z]", "", text.upper())
    if kind in ("nhs", "nino"):
        return re.sub(r"[\s\-]", "", text.upper())
    if kind == "postcode":
        compact = re.sub(r"\s", "", text.upper())
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact
    return text[:10]


def identifier_hits(values: list[str], known: dict[str, set[str]], check_dates: bool) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    series = pd.Series(values, dtype=object).astype(str)
    compact = series.str.upper().str.replace(r"[\s\-]", "", regex=True)
    digits = compact.where(compact.str.fullmatch(r"\d{10}"), None)
    nhs = series[(digits.notna() & valid_nhs_number_mask(digits.fillna(""))) | compact.isin(known["nhs"])]
    if len(nhs):
        hits["nhs_number"] = nhs.tolist()
    nino = series[compact.isin(known["nino"])]
    if len(nino):
        hits["ni_number"] = nino.tolist()
    spaced = compact.str.slice(0, -3) + " " + compact.str.slice(-3)
    postcode = series[(compact.str.len() >= 5) & (spaced.isin(known["postcode"]) | spaced.str.fullmatch(
        POSTCODE_PATTERN).fillna(False))]
    if len(postcode):
        hits["postcode"] = postcode.tolist()
    letters = series.str.upper().str.replace(r"[^A-Z]", "", regex=True)
    names = series[(letters.str.len() >= 3) & letters.isin(known["name"])]
    if len(names) >= 3 and len(names) > 0.05 * len(series):
        hits["name"] = names.tolist()
    full = series[letters.isin(known["full_name"])]
    if len(full):
        hits["full_name"] = full.tolist()
    if check_dates:
        dates = series[series.str.slice(0, 10).isin(known["dob"])]
        if len(dates) and len(dates) > 0.02 * len(series):
            hits["date_of_birth"] = dates.tolist()
    return hits


def _json_strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *_json_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return [] if value is None else [str(value)]


def relations(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Tables, partitioned parents, views and materialised views outside the vault (not partitions)."""
    return conn.execute(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
              and n.nspname not in %s and n.nspname not like 'pg\\_%%'
            order by 1, 2""".replace("%s", "(" + ", ".join(f"'{s}'" for s in SKIP_SCHEMAS) + ")")).fetchall()


def columns_of(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute("""select a.attname, format_type(a.atttypid, a.atttypmod)
                             from pg_attribute a join pg_class c on c.oid = a.attrelid
                             join pg_namespace n on n.oid = c.relnamespace
                            where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped""",
                        (schema, table)).fetchall()


@pytest.fixture(scope="module")
def scanned(populated_warehouse):
    with psycopg.connect(populated_warehouse) as conn:
        known = vault(conn)
        rels = relations(conn)
        bad_names, bad_values, scanned_columns = [], [], 0
        for schema, table in rels:
            for column, type_ in columns_of(conn, schema, table):
                if IDENTIFIER_WORDS.search(column.lower()) and not ALLOWED_COLUMN.search(column.lower()) \
                        and type_ != "boolean":
                    bad_names.append(f"{schema}.{table}.{column}")
                base = type_.split("(")[0]
                if base not in TEXT_TYPES and not base.startswith("timestamp"):
                    continue
                scanned_columns += 1
                cast = sql.SQL("{}::text").format(sql.Identifier(column))
                values = [r[0] for r in conn.execute(sql.SQL(
                    "select distinct {} from {} where {} is not null limit 200000").format(
                    cast, sql.Identifier(schema, table), sql.Identifier(column)))]
                if base in ("jsonb", "json"):
                    values = list({s for v in values for s in _json_strings(json.loads(v))})
                if not values:
                    continue
                dates_here = base in ("date", "text", "character varying") and schema != "raw"
                hits = identifier_hits(values, known, check_dates=dates_here)
                for kind, examples in hits.items():
                    bad_values.append(f"{schema}.{table}.{column}: {len(examples)} {kind} values, e.g. {examples[:3]}")
        raw_dob_rows = raw_date_of_birth_rows(conn)
    return {"names": bad_names, "values": bad_values, "relations": rels, "columns": scanned_columns,
            "known": known, "raw_dob_rows": raw_dob_rows}


def raw_date_of_birth_rows(conn: psycopg.Connection) -> list[str]:
    """raw columns whose value equals the same row's date of birth in the vault."""
    found = []
    tables = [r[0] for r in conn.execute(
        """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'identity' and c.relkind = 'p'
              and exists (select 1 from information_schema.columns k where k.table_schema = 'identity'
                          and k.table_name = c.relname and k.column_name = 'date_of_birth')""").fetchall()]
    for table in tables:
        if conn.execute("select to_regclass(%s) is null", (f"raw.{table}",)).fetchone()[0]:
            continue
        for column, _type in columns_of(conn, "raw", table):
            if column.startswith("_"):
                continue
            n = conn.execute(sql.SQL(
                "select count(*) from {} r join {} i on " + identity_join()
                + " where r.{}::text = i.date_of_birth").format(
                sql.Identifier("raw", table), sql.Identifier("identity", table), sql.Identifier(column))).fetchone()[0]
            if n:
                found.append(f"raw.{table}.{column}: {n} rows")
    return found


def test_the_scan_covers_every_layer(scanned):
    schemas = {s for s, _ in scanned["relations"]}
    assert {"raw", "ingest", "linkage"} <= schemas, schemas
    assert {"staging", "analytics"} & schemas, "dbt models were built and scanned"
    assert scanned["columns"] > 100
    known = scanned["known"]
    assert len(known["nhs"]) > 100 and len(known["nino"]) > 100 and len(known["name"]) > 100
    assert len(known["postcode"]) > 100 and len(known["dob"]) > 100 and len(known["full_name"]) > 100


def test_no_identifier_column_names_outside_the_vault(scanned):
    assert scanned["names"] == [], "\n".join(scanned["names"])


def test_no_identifier_values_outside_the_vault(scanned):
    assert scanned["values"] == [], "\n".join(scanned["values"])
    assert scanned["raw_dob_rows"] == [], "\n".join(scanned["raw_dob_rows"])


def test_the_scanner_finds_identifiers_when_they_are_there(scanned):
    """The same checks flag vault values and identifier-shaped strings (so a pass means something)."""
    known = scanned["known"]
    sample = [sorted(known["nhs"])[0], sorted(known["nino"])[0].lower(), sorted(known["postcode"])[0].replace(" ", ""),
              "M14 5TQ", "943 476 5919"]
    hits = identifier_hits(sample, known, check_dates=True)
    assert set(hits) == {"nhs_number", "ni_number", "postcode"}
    names = [n.title() for n in sorted(known["name"])[:40]]
    assert set(identifier_hits(names, known, check_dates=True)) == {"name"}
    assert set(identifier_hits([sorted(known["full_name"])[0], "carer"], known, check_dates=True)) == {"full_name"}
    dobs = sorted(known["dob"])[:50]
    assert "date_of_birth" in identifier_hits(dobs, known, check_dates=True)
    clean = ["WL0123456789", "ancoats_trust:ACT-000123", "M14", "16-24", "2025-06-02", "carer", "f", "Manchester"]
    assert identifier_hits(clean, known, check_dates=True) == {}
