"""The ``linkage`` schema: tables, reads of the previous run's state, and the run's one write.

Everything here is pseudonymous: keys, participant ids, scores and comparison levels, never a
name, date of birth, postcode or NHS/NI number. (The privacy tests scan it.)
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import psycopg

from worklink.platform.copy import copy_frame

LOCK_KEY = "worklink-linkage"

DDL = """
create schema if not exists linkage;

create table if not exists linkage.runs (
    run_id            bigserial primary key,
    started_at        timestamptz not null default now(),
    finished_at       timestamptz,
    status            text not null default 'running',   -- running | succeeded | failed
    model_version     text,
    thresholds        jsonb,
    summary           jsonb,
    error             text
);

create table if not exists linkage.models (
    model_version        text primary key,
    fingerprint          text not null,                  -- hash of the settings.yml `model` block
    created_at           timestamptz not null default now(),
    records_at_training  integer not null,
    training_seconds     double precision,
    model                jsonb not null,                 -- Splink model JSON: settings + m/u, no identifiers
    charts               jsonb
);

create table if not exists linkage.participant_xref (
    source_system      text not null,
    source_record_key  text primary key,
    participant_id     text not null,
    method             text not null check (method in ('deterministic_nhs_number', 'deterministic_ni_number',
                                                        'probabilistic', 'clerical', 'singleton')),
    match_probability  double precision,
    match_weight       double precision,
    model_version      text,
    linked_at          timestamptz not null,             -- when the record got this participant and method
    run_id             bigint not null
);
create index if not exists participant_xref_participant on linkage.participant_xref (participant_id);

create table if not exists linkage.source_record_attributes (
    source_record_key     text primary key,
    source_system         text not null,
    sex                   text,
    age_band_at_referral  text,
    age_band_at_extract   text,
    postcode_district     text,
    borough               text,
    has_nhs_number        boolean not null,
    has_ni_number         boolean not null,
    run_id                bigint not null
);

create table if not exists linkage.participants (
    participant_id     text primary key,
    status             text not null check (status in ('active', 'merged', 'retired')),
    merged_into        text,
    n_source_records   integer not null default 0,
    created_at         timestamptz not null default now(),
    created_run_id     bigint not null,
    updated_at         timestamptz not null default now(),
    creation_order     bigserial
);

create table if not exists linkage.participant_events (
    run_id                bigint not null,
    at                    timestamptz not null default now(),
    participant_id        text not null,
    event                 text not null,   -- created | merged_into | split_from | retired
    other_participant_id  text,
    n_records             integer
);

create table if not exists linkage.match_pairs (   -- probabilistic and clerical links of the last run
    key_l              text not null,
    key_r              text not null,
    method             text not null,
    match_probability  double precision,
    match_weight       double precision,
    model_version      text,
    run_id             bigint not null
);

create table if not exists linkage.review_queue (
    key_l              text not null,
    key_r              text not null,
    match_probability  double precision,
    match_weight       double precision,
    reason             text not null,    -- uncertain_match | conflicting_nhs_number
    comparison_weights jsonb,            -- partial match weight per comparison: why, without the values
    model_version      text,
    first_queued_at    timestamptz not null default now(),
    last_seen_run_id   bigint not null,
    primary key (key_l, key_r)
);

create table if not exists linkage.review_decisions (
    key_l        text not null,
    key_r        text not null,
    decision     text not null check (decision in ('link', 'do_not_link')),
    decided_by   text not null,
    decided_at   timestamptz not null default now(),
    note         text,                   -- never write identifiers here
    primary key (key_l, key_r),
    check (key_l < key_r)
);
"""


def ensure_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('worklink-ddl'))")
        conn.execute(DDL)


def start_run(conn: psycopg.Connection, thresholds: dict) -> int:
    return conn.execute("insert into linkage.runs (thresholds) values (%s) returning run_id",
                        (json.dumps(thresholds),)).fetchone()[0]


def finish_run(conn: psycopg.Connection, run_id: int, status: str, model_version: str | None,
               summary: dict | None, error: str | None = None) -> None:
    conn.execute(
        "update linkage.runs set finished_at = now(), status = %s, model_version = %s, summary = %s, error = %s"
        " where run_id = %s",
        (status, model_version, json.dumps(summary, default=str) if summary is not None else None, error, run_id))


def read_previous_xref(conn: psycopg.Connection) -> pd.DataFrame:
    from worklink.linkage.records import read_frame

    frame = read_frame(conn, "select source_record_key, participant_id, method, linked_at::text as linked_at"
                             " from linkage.participant_xref")
    if frame.empty:
        return pd.DataFrame(columns=["source_record_key", "participant_id", "method", "linked_at"])
    frame["linked_at"] = pd.to_datetime(frame["linked_at"], utc=True, format="ISO8601")
    return frame


def read_participants(conn: psycopg.Connection) -> pd.DataFrame:
    """participant_id, status, n_source_records, creation_order of every id ever issued."""
    from worklink.linkage.records import read_frame

    frame = read_frame(conn, "select participant_id, status, n_source_records, creation_order"
                             " from linkage.participants")
    if frame.empty:
        return pd.DataFrame(columns=["participant_id", "status", "n_source_records", "creation_order"])
    return frame.astype({"n_source_records": "int64", "creation_order": "int64"})


def read_decisions(conn: psycopg.Connection) -> pd.DataFrame:
    rows = conn.execute("select key_l, key_r, decision from linkage.review_decisions").fetchall()
    return pd.DataFrame(rows, columns=["key_l", "key_r", "decision"])


def read_queue_first_seen(conn: psycopg.Connection) -> pd.DataFrame:
    rows = conn.execute("select key_l, key_r, first_queued_at from linkage.review_queue").fetchall()
    return pd.DataFrame(rows, columns=["key_l", "key_r", "first_queued_at"])


def write_run(conn: psycopg.Connection, run_id: int, *, xref: pd.DataFrame, attributes: pd.DataFrame,
              participants: pd.DataFrame, previous_participants: pd.DataFrame, events: pd.DataFrame,
              merged: dict[str, str], retired: list[str], pairs: pd.DataFrame, queue: pd.DataFrame,
              now: datetime, progress=None) -> None:
    """Replace the run's outputs in one transaction: readers see the old state or the new one.

    The per-record tables are rewritten whole (bulk COPY, indexes rebuilt after); the participant
    registry is only touched where something changed, so a quiet night writes little there.
    """
    import time

    say = progress or (lambda _m: None)
    started = time.perf_counter()

    def step(name: str) -> None:
        nonlocal started
        say(f"wrote {name} in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()

    changed = _changed_participants(participants, previous_participants)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s || '-write'))", (LOCK_KEY,))
        conn.execute("truncate linkage.participant_xref, linkage.source_record_attributes, linkage.match_pairs")
        conn.execute("drop index if exists linkage.participant_xref_participant")
        copy_frame(conn, "linkage.participant_xref", xref)
        conn.execute("create index participant_xref_participant on linkage.participant_xref (participant_id)")
        step(f"participant_xref ({len(xref):,} rows)")
        copy_frame(conn, "linkage.source_record_attributes", attributes)
        step(f"source_record_attributes ({len(attributes):,} rows)")
        copy_frame(conn, "linkage.match_pairs", pairs)
        if len(changed):
            conn.execute("create temp table _active (participant_id text primary key, n integer) on commit drop")
            copy_frame(conn, "pg_temp._active", changed.rename(columns={"n_source_records": "n"}))
            conn.execute(
                """insert into linkage.participants (participant_id, status, n_source_records, created_at,
                                                     created_run_id, updated_at)
                   select participant_id, 'active', n, %s, %s, %s from _active
                   on conflict (participant_id) do update
                      set status = 'active', merged_into = null, n_source_records = excluded.n_source_records,
                          updated_at = excluded.updated_at""",
                (now, run_id, now))
        if merged:
            conn.execute(
                """update linkage.participants p set status = 'merged', merged_into = m.target,
                          n_source_records = 0, updated_at = %s
                     from unnest(%s::text[], %s::text[]) as m(old, target) where p.participant_id = m.old""",
                (now, list(merged), list(merged.values())))
        if retired:
            conn.execute(
                "update linkage.participants set status = 'retired', n_source_records = 0, updated_at = %s"
                " where participant_id = any(%s)", (now, retired))
        step(f"participants ({len(changed):,} new or changed)")
        if len(events):
            copy_frame(conn, "linkage.participant_events", events.assign(run_id=run_id, at=now))
        conn.execute("truncate linkage.review_queue")
        copy_frame(conn, "linkage.review_queue", queue)
        step(f"events, review queue ({len(queue):,} pairs)")
    step("commit")


def _changed_participants(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Active participants that are new, were not active, or changed size."""
    if previous.empty:
        return current
    prev = previous.set_index("participant_id")
    status = current["participant_id"].map(prev["status"])
    size = current["participant_id"].map(prev["n_source_records"])
    same = (status == "active") & (size == current["n_source_records"])
    return current[~same.to_numpy()]
