"""Pseudonym key rotation: re-tokenise raw from the identity vault under a new key.

What rotation does
------------------
Every token (``nhs_number_token``, ``ni_number_token`` / ``nino_token``, ``name_dob_token``) is an
HMAC of the identifier under the master key, so a new key gives every identifier a new, unrelated
token. Rotation therefore:

1. computes the new token of every distinct identifier held in ``identity`` (the only place the
   identifiers are), exactly as ingestion does (``worklink.identity.columns.pseudonym_columns``);
2. rewrites the token columns of every ``raw`` table in one transaction, each row through the
   identity row that holds its identifiers (``worklink.identity.identity_join``; superseded rows
   too, so history stays joinable);
3. rewrites the DWP/HMRC source record keys in ``linkage`` (``dwp:<nino_token>``) old -> new, so
   participant ids, clerical decisions and the review queue carry over. Participant ids never
   depend on tokens, so they do not change;
4. makes the new key the current one (dev key file, or tells the operator to update the secret).

Tokens released before the rotation (an extract handed to someone, a dbt snapshot) can no longer
be joined to anything produced afterwards: that is the point, as with NHS England's one pseudonym
per release. Nothing can turn a token back into an identifier, with either key.

Run it with the nightly DAG paused: a file ingested while rotating would carry tokens under the
old key (linkage refuses to run on mixed tokens: ``records.check_token_key``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from worklink.identity import identity_join, pseudonyms
from worklink.identity.columns import (
    FIRST_NAME_COLUMNS,
    LAST_NAME_COLUMNS,
    landing_targets,
    pseudonym_columns,
    token_column_names,
)
from worklink.platform.copy import copy_frame
from worklink.platform.private_files import write_private_text
from worklink.settings import load_settings

HISTORY_DDL = """
create table if not exists identity.pseudonym_key_history (
    key_id             text not null,          -- public fingerprint (pseudonyms.key_id), never the key
    activated_at       timestamptz not null default now(),
    replaced_key_id    text,
    rows_retokenised   bigint,
    linkage_keys_moved bigint
)
"""


@dataclass
class RotationResult:
    old_key_id: str
    new_key_id: str
    rows_retokenised: int
    linkage_keys_moved: int
    key_file: Path | None


@contextmanager
def _key(master: bytes):
    """Compute tokens under ``master`` inside the block (pseudonyms reads the env variable first)."""
    previous = load_settings().pseudonym_key
    os.environ["WORKLINK_PSEUDONYM_KEY"] = master.hex()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("WORKLINK_PSEUDONYM_KEY", None)
        else:
            os.environ["WORKLINK_PSEUDONYM_KEY"] = previous


def _exists(conn: psycopg.Connection, qualified: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (qualified,)).fetchone()[0]


def _copy(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> None:
    copy_frame(conn, table, frame)


def rotate_key(database_url: str, new_master: bytes | None = None,
               progress: Callable[[str], None] | None = None) -> RotationResult:
    """Re-tokenise raw and linkage under ``new_master`` (random if None) and make it current."""
    settings = load_settings()
    old_master = pseudonyms._master_key()
    new_master = new_master or bytes.fromhex(secrets.token_hex(32))
    if new_master == old_master:
        raise ValueError("the new key is the key in use")
    key_file = None if settings.pseudonym_key else settings.state_dir / "secrets" / "pseudonym.key"
    pending = key_file.with_name("pseudonym.key.next") if key_file else None
    if pending is not None:
        if pending.exists():
            raise RuntimeError(f"{pending} exists: an earlier rotation did not finish. Check which key raw's "
                               "tokens use before removing it.")
        write_private_text(pending, new_master.hex())
    old_id = pseudonyms.key_id()
    with _key(new_master):
        new_id = pseudonyms.key_id()
    try:
        rows, moved = retokenise(database_url, new_master, old_master, progress, history=(old_id, new_id))
    except BaseException:
        if pending is not None:
            pending.unlink(missing_ok=True)
        raise
    if key_file is not None and pending is not None:
        pending.replace(key_file)  # atomic: the new key is current only once the database agrees
    pseudonyms._subkey.cache_clear()
    return RotationResult(old_id, new_id, rows, moved, key_file)


def retokenise(database_url: str, new_master: bytes, old_master: bytes,
               progress: Callable[[str], None] | None = None,
               history: tuple[str, str] | None = None) -> tuple[int, int]:
    """Recompute every raw token column from the vault under ``new_master``, in one transaction.

    ``old_master`` is the key the linkage keys (``dwp:<token>``) were made with; they are moved to
    the new tokens. Returns (raw rows rewritten, linkage keys moved).
    """
    from worklink.contracts import load_contracts

    say = progress or (lambda _m: None)
    contracts = [c for c in load_contracts() if token_column_names(c)]
    rows = moved = 0
    with psycopg.connect(database_url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('worklink-ddl'))")
        conn.execute("select pg_advisory_xact_lock(hashtext('worklink-linkage'))")
        conn.execute(HISTORY_DDL)
        nino_map: list[pd.DataFrame] = []
        for table in sorted({c.target_table for c in contracts}):
            contract = next(c for c in contracts if c.target_table == table)
            identifiers = dict(landing_targets(contract)).get("identity", [])
            token_cols = token_column_names(contract)
            if not (_exists(conn, f"raw.{table}") and _exists(conn, f"identity.{table}")):
                continue
            conn.execute(sql.SQL("lock table {}, {} in exclusive mode").format(
                sql.Identifier("raw", table), sql.Identifier("identity", table)))
            needed = [c for c in identifiers if c in _token_inputs(contract)]
            distinct = pd.DataFrame(
                conn.execute(sql.SQL("select distinct {} from {}").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in needed),
                    sql.Identifier("identity", table))).fetchall(),
                columns=needed, dtype=object).astype("string")
            with _key(old_master):
                old_tokens = pseudonym_columns(distinct, contract)
            with _key(new_master):
                new_tokens = pseudonym_columns(distinct, contract)
            for token_col in token_cols:
                # one update per token column, joined on that token's own inputs with plain equality
                # (hash join); rows whose inputs are missing have no token and stay NULL
                inputs = _inputs_of(contract, token_col)
                mapping = pd.concat([distinct[inputs], new_tokens[[token_col]].rename(columns={token_col: "_new"})],
                                    axis=1).dropna().drop_duplicates(inputs)
                conn.execute(sql.SQL("create temp table _tok ({}, _new text) on commit drop").format(
                    sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in inputs)))
                _copy(conn, "pg_temp._tok", mapping.astype(object))
                conn.execute("analyze _tok")
                match = sql.SQL(" and ").join(sql.SQL("t.{c} = i.{c}").format(c=sql.Identifier(c)) for c in inputs)
                cur = conn.execute(sql.SQL(
                    "update {raw} r set {col} = t._new from {ident} i join _tok t on {match}"
                    " where " + identity_join()).format(
                    raw=sql.Identifier("raw", table), col=sql.Identifier(token_col),
                    ident=sql.Identifier("identity", table), match=match))
                rows += cur.rowcount
                say(f"re-tokenised raw.{table}.{token_col} ({cur.rowcount:,} rows)")
                conn.execute("drop table _tok")
            if "nino_token" in token_cols and table in ("dwp_benefit_months", "hmrc_pay_events"):
                system = "dwp" if table == "dwp_benefit_months" else "hmrc"
                pairs = pd.DataFrame({"old": system + ":" + old_tokens["nino_token"],
                                      "new": system + ":" + new_tokens["nino_token"]}).dropna().drop_duplicates()
                nino_map.append(pairs)
        if nino_map and _exists(conn, "linkage.participant_xref"):
            moved = _move_linkage_keys(conn, pd.concat(nino_map, ignore_index=True).drop_duplicates("old"))
            say(f"moved {moved:,} DWP/HMRC keys in schema linkage")
        if history is not None:
            old_id, new_id = history
            conn.execute("update identity.pseudonym_key_history set replaced_key_id = %s where key_id = %s"
                         " and replaced_key_id is null", (new_id, old_id))
            conn.execute("insert into identity.pseudonym_key_history (key_id, rows_retokenised,"
                         " linkage_keys_moved) values (%s, %s, %s)", (new_id, rows, moved))
        conn.commit()
    return rows, moved


def _inputs_of(contract, token_col: str) -> list[str]:
    """The identity columns one token column is computed from (as in identity.columns.pseudonym_columns)."""
    if token_col == "name_dob_token":
        names = set(contract.column_names)
        first = next(c for c in FIRST_NAME_COLUMNS if c in names)
        last = next(c for c in LAST_NAME_COLUMNS if c in names)
        return [first, last, "date_of_birth"]
    return [token_col.removesuffix("_token")]


def _token_inputs(contract) -> set[str]:
    cols = {c.name for c in contract.columns if {"nhs_number", "ni_number"} & set(c.rules)}
    names = set(contract.column_names)
    first = next((c for c in FIRST_NAME_COLUMNS if c in names), None)
    last = next((c for c in LAST_NAME_COLUMNS if c in names), None)
    if first and last and "date_of_birth" in names:
        cols |= {first, last, "date_of_birth"}
    return cols


LINKAGE_KEY_TABLES = ("participant_xref", "source_record_attributes")
LINKAGE_PAIR_TABLES = ("match_pairs", "review_queue", "review_decisions")


def _move_linkage_keys(conn: psycopg.Connection, mapping: pd.DataFrame) -> int:
    conn.execute("create temp table _keys (old text primary key, new text not null) on commit drop")
    _copy(conn, "pg_temp._keys", mapping[["old", "new"]])
    moved = 0
    for table in LINKAGE_KEY_TABLES:
        cur = conn.execute(sql.SQL("update {} x set source_record_key = k.new from _keys k"
                                   " where x.source_record_key = k.old").format(sql.Identifier("linkage", table)))
        moved += cur.rowcount if table == "participant_xref" else 0
    for table in LINKAGE_PAIR_TABLES:
        conn.execute(sql.SQL(
            """update {} x
                  set key_l = least(coalesce((select new from _keys where old = x.key_l), x.key_l),
                                    coalesce((select new from _keys where old = x.key_r), x.key_r)),
                      key_r = greatest(coalesce((select new from _keys where old = x.key_l), x.key_l),
                                       coalesce((select new from _keys where old = x.key_r), x.key_r))
                where x.key_l in (select old from _keys) or x.key_r in (select old from _keys)""").format(
            sql.Identifier("linkage", table)))
    return moved
