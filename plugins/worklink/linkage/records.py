"""Source records: what linkage links, read from the identity vault and raw, then cleaned.

A *source record* is one thing a partner knows about a person:

| source_system          | one record per                       | source_record_key                 |
|------------------------|--------------------------------------|-----------------------------------|
| each VCSE partner id   | referral (``raw.vcse_referrals``)    | ``<partner_id>:<referral_id>``    |
| ``icb_workwell``       | WorkWell referral                    | ``icb_workwell:<ww_referral_id>`` |
| ``dwp``                | person in the benefits extract       | ``dwp:<nino_token>``              |
| ``hmrc``               | person in the RTI employment extract | ``hmrc:<nino_token>``             |

Only current rows count (``_is_current``: a superseded resubmission does not). A key seen twice
(a duplicated row, or a referral re-sent in a later file) is one record: the latest load wins.
VCSE starts, activities, wellbeing, job starts and leavers carry only ``referral_id`` and belong
to their referral's record, so they are not linked separately.

The DWP/HMRC key is the keyed NINo token that raw already carries; it is recomputed here from
the vault's NINo, and checked against raw so a changed pseudonym key cannot silently split keys.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from worklink.identity import identity_join, vault
from worklink.identity.pseudonyms import tokens

RECORD_COLUMNS = [
    "source_system", "source_record_key", "record_date", "extract_period", "sex",
    "first_name", "surname", "dob", "postcode", "nhs_number", "nino", "address_line", "house_number",
]


class LinkageInputError(RuntimeError):
    """The warehouse is not in a state linkage can trust (e.g. pseudonym key changed)."""


REFERRAL_SQL = {
    "vcse_referrals": """
        select distinct on (r._partner_id, r.referral_id)
               r._partner_id as source_system,
               r._partner_id || ':' || r.referral_id as source_record_key,
               r.referral_date as record_date, null::text as extract_period, r.sex,
               i.first_name, i.last_name as surname, i.date_of_birth as dob, i.postcode,
               i.nhs_number, i.ni_number as nino, {address_line} as address_line,
               {house_number} as house_number
          from raw.vcse_referrals r
          join identity.vcse_referrals i
            on """ + identity_join() + """
         where r._is_current and r.referral_id is not null
         order by r._partner_id, r.referral_id, r._file_id desc, r._source_row_number desc
    """,
    "nhs_workwell_referrals": """
        select distinct on (r.ww_referral_id)
               'icb_workwell' as source_system,
               'icb_workwell:' || r.ww_referral_id as source_record_key,
               r.referral_date as record_date, null::text as extract_period, r.sex,
               i.forename as first_name, i.surname, i.date_of_birth as dob, i.postcode,
               i.nhs_number, null::text as nino, {address_line} as address_line,
               {house_number} as house_number
          from raw.nhs_workwell_referrals r
          join identity.nhs_workwell_referrals i
            on """ + identity_join() + """
         where r._is_current and r.ww_referral_id is not null
         order by r.ww_referral_id, r._file_id desc, r._source_row_number desc
    """,
}

# One record per NINo: the most frequent (date of birth, names, postcode) among the person's current
# rows (RTI rows carry the name and postcode each employer's payroll holds; DWP the address it holds).
# {first_name}, {surname}, {postcode}: the vault column, or null where an older delivery's table has none.
_EXTRACT_TEMPLATE = """
        select distinct on (nino) nino, dob, first_name, surname, postcode, extract_period from (
            select nino, date_of_birth as dob, {first_name} as first_name, {surname} as surname,
                   {postcode} as postcode, max(_period) as extract_period, count(*) as n
              from identity.<table>
             where _is_current and nino is not null
             group by 1, 2, 3, 4, 5) g
         order by nino, n desc, dob, first_name, surname, postcode
    """
EXTRACT_SQL = {table: (system, _EXTRACT_TEMPLATE.replace("<table>", table))
               for table, system in (("dwp_benefit_months", "dwp"), ("hmrc_pay_events", "hmrc"))}
EXTRACT_IDENTIFIERS = {"first_name": "forename", "surname": "surname", "postcode": "postcode"}
# optional referral identifiers: the vault column (``i.``), or null where a table has none (older contracts)
REFERRAL_OPTIONAL = {"address_line": "address_line", "house_number": "house_number"}


def _identity_columns(conn: psycopg.Connection, table: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = 'identity' and table_name = %s",
        (table,)).fetchall()}


def _extract_query(conn: psycopg.Connection, table: str, template: str) -> str:
    present = _identity_columns(conn, table)
    return template.format(**{k: (v if v in present else "null::text") for k, v in EXTRACT_IDENTIFIERS.items()})


def _referral_query(conn: psycopg.Connection, table: str, template: str) -> str:
    present = _identity_columns(conn, table)
    return template.format(**{k: (f"i.{v}" if v in present else "null::text") for k, v in REFERRAL_OPTIONAL.items()})


def read_frame(conn: psycopg.Connection, query: str) -> pd.DataFrame:
    """Run a query and return every column as text (None for NULL), via COPY + Arrow (fast at 1M rows)."""
    buffer = io.BytesIO()
    with conn.cursor().copy(f"copy ({query}) to stdout with (format csv, header true)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    header = buffer.readline().decode().strip()
    names = header.split(",") if header else []
    buffer.seek(0)
    if not names:
        return pd.DataFrame()
    table = pacsv.read_csv(
        buffer,
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    frame = table.to_pandas()
    return frame.astype(object).where(frame.notna(), None)


def _exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def check_token_key(conn: psycopg.Connection, table: str) -> None:
    """Raw's NINo tokens must be what the current key gives, or DWP/HMRC keys would not join raw."""
    # A few rows from the start of the vault, each looked up in raw by its key (no whole-table join).
    rows = conn.execute(
        f"""select i.nino, r.nino_token
              from (select _file_id, _source_row_number, nino from identity.{table}
                     where _is_current and nino is not null limit 20) i
              cross join lateral (select nino_token from raw.{table} r
                                   where {identity_join()}
                                   limit 1) r"""  # noqa: S608 - fixed table names
    ).fetchall()
    if not rows:
        return
    recomputed = tokens("ni_number", pd.Series([r[0] for r in rows]))
    if list(recomputed) != [r[1] for r in rows]:
        raise LinkageInputError(
            f"raw.{table}.nino_token was made with a different pseudonym key than the one configured now. "
            "Re-tokenise with `worklink identity rotate-key` (or restore WORKLINK_PSEUDONYM_KEY) first."
        )


def _key_filter(conn: psycopg.Connection, expression: str, keys: set[str] | None) -> str:
    if keys is None:
        return ""
    return f" and {expression} = any({sql.Literal(sorted(keys)).as_string(conn)}::text[])"


def extract_source_records(conn: psycopg.Connection, progress: Callable[[str], None] | None = None,
                           keys: set[str] | None = None) -> pd.DataFrame:
    """Every current source record with its (not yet cleaned) identifiers; one row per key.

    ``keys`` restricts the read to those source records (the review screen's lookup).
    """
    say = progress or (lambda _m: None)
    parts: list[pd.DataFrame] = []
    for table, query in REFERRAL_SQL.items():
        if _exists(conn, "raw", table) and _exists(conn, "identity", table):
            key_sql = ("r._partner_id || ':' || r.referral_id" if table == "vcse_referrals"
                       else "'icb_workwell:' || r.ww_referral_id")
            query = _referral_query(conn, table, query)
            query = query.replace(" order by ", _key_filter(conn, key_sql, keys) + " order by ", 1)
            frame = read_frame(conn, query)
            say(f"read {len(frame):,} records from {table}")
            parts.append(frame)
    for table, (system, template) in EXTRACT_SQL.items():
        if not (_exists(conn, "raw", table) and _exists(conn, "identity", table)):
            continue
        query = _extract_query(conn, table, template)
        if keys is not None:
            wanted = {k.split(":", 1)[1] for k in keys if k.startswith(system + ":")}
            if not wanted:
                continue
            ninos = conn.execute(
                f"select distinct i.nino from raw.{table} r join identity.{table} i"  # noqa: S608 - fixed names
                f" on {identity_join()}"
                " where r._is_current and r.nino_token = any(%s)", (sorted(wanted),)).fetchall()
            query = query.replace("where _is_current and nino is not null",
                                  "where _is_current and nino is not null"
                                  + _key_filter(conn, "nino", {n[0] for n in ninos}), 1)
        else:
            check_token_key(conn, table)
        frame = read_frame(conn, query)
        if frame.empty:
            continue
        frame["source_system"] = system
        frame["source_record_key"] = system + ":" + tokens("ni_number", frame["nino"])
        frame["record_date"] = None
        frame["sex"] = None
        frame["nhs_number"] = None
        frame["address_line"] = None
        frame["house_number"] = None
        say(f"read {len(frame):,} people from {table}")
        parts.append(frame)
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RECORD_COLUMNS})
    records = pd.concat([p[RECORD_COLUMNS] for p in parts], ignore_index=True)
    return records.drop_duplicates("source_record_key", keep="first").reset_index(drop=True)


_ADDRESS_WORDS = {"ROAD": "RD", "STREET": "ST", "AVENUE": "AVE", "LANE": "LN", "DRIVE": "DR", "CLOSE": "CL",
                  "COURT": "CT", "PLACE": "PL", "GARDENS": "GDNS", "CRESCENT": "CRES", "TERRACE": "TER",
                  "GROVE": "GR", "SQUARE": "SQ", "TERR": "TER", "TCE": "TER", "FLAT": "FLAT", "APARTMENT": "FLAT", "APT": "FLAT"}


def clean_address_line(values: pd.Series) -> pd.Series:
    """Upper case, letters, digits and single spaces; common street words abbreviated one way
    ("Acacia Avenue" = "ACACIA AVE"); None when nothing is left."""
    text = (values.astype("string").str.upper().str.replace(r"[^A-Z0-9 ]+", " ", regex=True)
            .str.replace(r"\s+", " ", regex=True).str.strip())
    words = text.str.split(" ")
    cleaned = words.map(lambda ws: " ".join(_ADDRESS_WORDS.get(w, w) for w in ws) if isinstance(ws, list) else None)
    return cleaned.where(cleaned.astype("string").str.len() > 0, None).astype(object)


def clean_house_number(values: pd.Series) -> pd.Series:
    """House number or name as upper-case letters and digits ("12a" -> "12A"); None when empty."""
    text = values.astype("string").str.upper().str.replace(r"[^A-Z0-9]+", "", regex=True)
    return text.where(text.str.len() > 0, None).astype(object)


def leading_house_number(values: pd.Series) -> pd.Series:
    """The number an address line starts with ("12A ACACIA AVE" -> "12A"), else None."""
    return values.astype("string").str.extract(r"^(\d+[A-Z]?)\b", expand=False).astype(object)


def street_of_line(values: pd.Series) -> pd.Series:
    """A cleaned address line without the house number it starts with; None when nothing else is left."""
    text = values.astype("string").str.replace(r"^\d+[A-Z]?\s+", "", regex=True).str.strip()
    return text.where(text.str.len() > 0, None).astype(object)


def soundex(values: pd.Series) -> pd.Series:
    """American Soundex code of each cleaned name (``jellyfish``; "ROBERT" and "RUPERT" -> "R163")."""
    import jellyfish

    return values.map(lambda v: jellyfish.soundex(v) if isinstance(v, str) and v else None).astype(object)


def _by_unique(series: pd.Series, clean: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a column cleaner once per distinct value (names and dates repeat a lot)."""
    codes, uniques = pd.factorize(pd.Series(series, copy=False).astype(object), use_na_sentinel=True)
    cleaned = clean(pd.Series(uniques, dtype=object)).to_numpy(dtype=object, na_value=None)
    out = np.full(len(codes), None, dtype=object)
    present = codes >= 0
    out[present] = cleaned[codes[present]]
    return pd.Series(out, index=series.index, dtype=object)


def clean_records(raw: pd.DataFrame) -> pd.DataFrame:
    """The matching form of each record (see ``worklink.identity.vault``); adds ``unique_id``.

    Rows are ordered by key so ``unique_id`` (and everything derived from it) does not depend on
    the order the database returned them in.
    """
    raw = raw.sort_values("source_record_key", kind="stable").reset_index(drop=True)
    out = pd.DataFrame({
        "unique_id": np.arange(len(raw), dtype=np.int64),
        "source_system": raw["source_system"].astype(object),
        "source_record_key": raw["source_record_key"].astype(object),
        "record_date": _by_unique(raw["record_date"], lambda v: vault.clean_date_of_birth(
            v, earliest="2000-01-01", latest=date(2100, 1, 1))),
        "extract_period": raw["extract_period"].astype(object),
    })
    out["sex"] = _by_unique(raw["sex"], vault.clean_sex)
    out["first_name"] = _by_unique(raw["first_name"], vault.clean_name)
    out["surname"] = _by_unique(raw["surname"], vault.clean_name)
    out["first_name_canonical"] = _by_unique(out["first_name"], vault.canonical_given_name)
    # blocking keys only (in memory, never written): initials and American Soundex codes, so a
    # typo that keeps the sound of a name (HILTON / HILOTN, CAMPBELL / CAMPBLEL) still meets
    out["surname_initial"] = _by_unique(out["surname"], lambda v: v.str.slice(0, 1))
    out["first_initial"] = _by_unique(out["first_name"], lambda v: v.str.slice(0, 1))
    out["first_soundex"] = _by_unique(out["first_name_canonical"], soundex)
    out["surname_soundex"] = _by_unique(out["surname"], soundex)
    # the given name's sound as written, not its canonical form: a given name that landed in the family
    # name box is not canonicalised there (BETH/COPWICK vs COPWICK/BET: B300 both ways, where the
    # canonical ELIZABETH gives E421)
    out["given_soundex"] = _by_unique(out["first_name"], soundex)
    both = (out["first_name"].notna() & out["surname"].notna()).to_numpy()
    full = np.full(len(out), None, dtype=object)
    full[both] = out["first_name"].to_numpy()[both] + " " + out["surname"].to_numpy()[both]
    out["full_name"] = pd.Series(full, dtype=object)
    out["dob"] = _by_unique(raw["dob"], vault.clean_date_of_birth)
    out["postcode"] = _by_unique(raw["postcode"], vault.clean_postcode)
    # blocking keys only (in memory, never written): birth year and postcode district
    out["birth_year"] = _by_unique(out["dob"], lambda v: v.str.slice(0, 4))
    out["postcode_district"] = _by_unique(out["postcode"], vault.postcode_district)
    out["postcode_sector"] = _by_unique(out["postcode"], lambda v: v.str.slice(0, -2))  # "M14 5TQ" -> "M14 5"
    out["nhs_number"] = _by_unique(raw["nhs_number"], vault.clean_nhs_number)
    out["nino_stem"] = _by_unique(raw["nino"], vault.nino_stem)
    # the street line without its house number ("12a Acacia Avenue" -> "ACACIA AVE", house "12A"), so a
    # form with a house-number box and one without compare alike
    line = _by_unique(raw["address_line"], clean_address_line)
    from_line = _by_unique(line, leading_house_number)
    out["address_line"] = _by_unique(line, street_of_line)
    out["house_number"] = _by_unique(raw["house_number"], clean_house_number)
    out["house_number"] = out["house_number"].where(out["house_number"].notna(), from_line)
    out["extract_period"] = out["extract_period"].where(out["extract_period"].notna(), None)
    return out
