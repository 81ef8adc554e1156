"""Clerical review: the queue of uncertain pairs, and decisions that outlive every re-run.

A decision is stored against the two *source record keys* (not participant ids, which a decision
can change), ordered so each pair has one row. Every run reads all decisions first:

* ``link``: the two records are joined whatever the model says (and may override the "different
  NHS numbers" rule: a person checked it);
* ``do_not_link``: the two records never share a participant - not directly, and not through a
  chain of other links (the clustering treats it as a constraint on whole participants).

Decisions on records that later disappear (a superseded file) stay in the table and apply again if
the records come back. The queue itself never holds identifiers; ``lookup_identifiers`` reads them
from the vault for display to an authorised reviewer only.
"""

from __future__ import annotations

import getpass

import pandas as pd
import psycopg

from worklink.linkage import store
from worklink.settings import load_settings

DECISIONS = ("link", "do_not_link")


def ordered(key_a: str, key_b: str) -> tuple[str, str]:
    if key_a == key_b:
        raise ValueError("a record cannot be reviewed against itself")
    return (key_a, key_b) if key_a < key_b else (key_b, key_a)


def reviewer() -> str:
    return load_settings().reviewer or getpass.getuser()


def record_decision(conn: psycopg.Connection, key_a: str, key_b: str, decision: str,
                    decided_by: str | None = None, note: str | None = None) -> tuple[str, str]:
    """Store (or replace) the decision for a pair and take the pair off the queue."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    store.ensure_schema(conn)
    key_l, key_r = ordered(key_a, key_b)
    known = conn.execute(
        "select count(*) from linkage.participant_xref where source_record_key = any(%s)",
        ([key_l, key_r],)).fetchone()[0]
    if known < 2:
        raise LookupError(f"unknown source record key(s): {key_l!r}, {key_r!r} (see `worklink link review --list`)")
    with conn.transaction():
        conn.execute(
            """insert into linkage.review_decisions (key_l, key_r, decision, decided_by, note)
               values (%s, %s, %s, %s, %s)
               on conflict (key_l, key_r) do update
                  set decision = excluded.decision, decided_by = excluded.decided_by,
                      decided_at = now(), note = excluded.note""",
            (key_l, key_r, decision, decided_by or reviewer(), note))
        conn.execute("delete from linkage.review_queue where key_l = %s and key_r = %s", (key_l, key_r))
    return key_l, key_r


def withdraw_decision(conn: psycopg.Connection, key_a: str, key_b: str) -> bool:
    key_l, key_r = ordered(key_a, key_b)
    cur = conn.execute("delete from linkage.review_decisions where key_l = %s and key_r = %s", (key_l, key_r))
    return cur.rowcount > 0


def queue(conn: psycopg.Connection, limit: int = 50) -> pd.DataFrame:
    store.ensure_schema(conn)
    rows = conn.execute(
        """select q.key_l, q.key_r, q.match_probability, q.match_weight, q.reason, q.comparison_weights,
                  xl.participant_id as participant_l, xr.participant_id as participant_r, q.first_queued_at
             from linkage.review_queue q
             left join linkage.participant_xref xl on xl.source_record_key = q.key_l
             left join linkage.participant_xref xr on xr.source_record_key = q.key_r
            order by q.match_probability desc nulls last, q.key_l, q.key_r
            limit %s""", (limit,)).fetchall()
    return pd.DataFrame(rows, columns=["key_l", "key_r", "match_probability", "match_weight", "reason",
                                       "comparison_weights", "participant_l", "participant_r", "first_queued_at"])


def decisions(conn: psycopg.Connection) -> pd.DataFrame:
    store.ensure_schema(conn)
    rows = conn.execute("select key_l, key_r, decision, decided_by, decided_at, note from linkage.review_decisions"
                        " order by decided_at").fetchall()
    return pd.DataFrame(rows, columns=["key_l", "key_r", "decision", "decided_by", "decided_at", "note"])


def lookup_identifiers(conn: psycopg.Connection, keys: list[str]) -> pd.DataFrame:
    """The vault's cleaned identifiers for a few source records (for an authorised reviewer's screen).

    Reads the identity schema: only the loader role (or the owner) can run it.
    """
    from worklink.linkage.records import clean_records, extract_source_records

    wanted = set(keys)
    raw = extract_source_records(conn, keys=wanted)
    cleaned = clean_records(raw)
    return cleaned[cleaned["source_record_key"].isin(wanted)].drop(columns=["unique_id"])
