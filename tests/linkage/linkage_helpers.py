"""Helpers for the linkage tests: ingest a generated year (linkage feeds only) into a database of its own."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from worklink.contracts import load_contracts
from worklink.ingest.service import ingest_paths
from worklink.settings import load_settings

LINKAGE_FEEDS = ("referrals", "benefits", "employment")


def linkage_files(landing: Path, *, until: str | None = None, after: str | None = None) -> list[Path]:
    """Referral files (month-stamped) up to / after a month, plus the single DWP and HMRC extracts."""
    files = []
    for path in sorted(landing.glob("*/*/*")):
        if path.parent.name not in LINKAGE_FEEDS:
            continue
        month = path.stem.rsplit("_", 1)[-1]
        if path.parent.name == "referrals":
            if until and month > until or after and month <= after:
                continue
        elif after:  # the extracts arrive once, on the first night
            continue
        files.append(path)
    return files


def ingest(url: str, landing: Path, files: list[Path]) -> None:
    settings = dataclasses.replace(load_settings(), database_url=url, landing_dir=landing)
    results = ingest_paths(files, settings=settings, contracts=load_contracts())
    bad = [(r.file, r.status, [e.message for e in r.errors][:2]) for r in results
           if r.status not in ("loaded", "loaded_with_quarantine")]
    assert not bad, bad


def fresh_database(admin_url: str, session_db: str, suffix: str) -> str:
    """A new database named after the session's, on the same server."""
    name = f"{make_url(session_db).database}_{suffix}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return make_url(session_db).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{make_url(url).database}" with (force)')
