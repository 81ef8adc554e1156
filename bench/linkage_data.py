"""Benchmark data for linkage: generate a programme year and ingest what linkage reads.

Linkage reads the VCSE and ICB referrals and the DWP/HMRC extracts, so only those files are
ingested (starts, activities, wellbeing, job starts and leavers do not change linkage and would
only lengthen the set-up). Ingestion is the real ``worklink ingest`` path (checks, tokens,
identity split), run into a fresh database named after the size.

Source records per participant are about 2.7 (referrals + ICB referrals + one DWP and one HMRC
record per person with a NINo); ``participants_for(records)`` inverts that.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

RECORDS_PER_PARTICIPANT = 2.67  # measured: seed 5, 2,000 participants -> 5,354 source records
LINKAGE_FEEDS = ("referrals", "benefits", "employment")


def participants_for(records: int) -> int:
    return max(50, round(records / RECORDS_PER_PARTICIPANT))


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def linkage_files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.glob("*/*/*") if p.parent.name in LINKAGE_FEEDS and p.is_file())


def prepare(workdir: Path, participants: int, seed: int, admin_url: str, db_name: str,
            progress=print) -> tuple[str, Path]:
    """Generate (unless already there) and ingest into a fresh database; returns (url, truth dir)."""
    from worklink.contracts import load_contracts
    from worklink.ingest.service import ingest_paths
    from worklink.settings import load_settings
    from worklink.synth import generate

    sample = workdir / f"sample_{participants}_{seed}"
    marker = sample / "_truth" / "summary.json"
    if not marker.exists() or json.loads(marker.read_text())["arguments"]["participants"] != participants:
        started = time.perf_counter()
        generate(sample, seed=seed, participants=participants, defect_rate=0.0)
        progress(f"generated {participants:,} participants (seed {seed}) in {time.perf_counter() - started:.0f}s")
    url = fresh_database(admin_url, db_name)
    settings = dataclasses.replace(load_settings(), database_url=url, landing_dir=sample / "landing",
                                   state_dir=workdir / "state")
    started = time.perf_counter()
    results = ingest_paths(linkage_files(sample / "landing"), settings=settings, contracts=load_contracts())
    bad = [r for r in results if r.status not in ("loaded", "loaded_with_quarantine")]
    if bad:
        raise RuntimeError(f"ingest failed for {[(r.file, r.status) for r in bad][:5]}")
    rows = sum(r.rows_loaded for r in results)
    progress(f"ingested {len(results)} files, {rows:,} rows in {time.perf_counter() - started:.0f}s")
    return url, sample / "_truth"
