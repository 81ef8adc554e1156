"""Benchmark: `dbt build` wall time for a programme year at scale, full and incremental.

    .venv/bin/python bench/dbt_bench.py                      # 20,000 participants, ~1,000,000 DWP rows
    .venv/bin/python bench/dbt_bench.py --participants 2000 --dwp-rows 100000   # quick run

Steps (only the dbt builds are the measured figures; the rest is set-up and is reported too):
  1. generate a programme year with 20,000 participants; the DWP extract is brought to ~1,000,000 rows
     by sizing the non-participant comparison population (`comparison_ratio`), calibrated on a first
     generation;
  2. load it into a fresh database `worklink_dbt_bench` with `worklink ingest`, holding back the
     latest month of every VCSE partner and ICB file: that month is the "new data" (about 1% of all
     rows, which is what a nightly load adds);
  3. fill the linkage tables from the generator's truth (tests/dbt/dbt_linkage_fixture.py, a stand-in
     for the linkage step);
  4. FULL: `worklink dbt build --full-refresh` (every model, seed, data test and unit test);
  5. ingest the held-back month, refresh the linkage fixture;
  6. INCREMENTAL: `dbt source freshness`, then
     `worklink dbt build --select source_status:fresher+ source:linkage+ --exclude test_type:unit
      --state <full run's target>`: only what depends on sources that received rows since the last
     run (and on the linkage, which is rebuilt every night) is rebuilt and tested. The DWP and HMRC
     extracts did not change, so their heavy, linkage-independent models
     (int_dwp_benefit_months_classified, int_hmrc_*) and the tests on the million-row staging views
     are skipped. Unit tests test code, not data: they run in CI and in full builds (dbt's advice).
Prints a JSON summary (also written to <workdir>/dbt_bench.json) with times, row counts and load.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "dbt"))

from dbt_linkage_fixture import build_linkage_fixture  # noqa: E402

WORKLINK = str(Path(sys.executable).with_name("worklink"))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(args: list[str], env: dict[str, str], what: str) -> float:
    started = time.monotonic()
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-3000:])
        raise SystemExit(f"{what} failed ({proc.returncode})")
    print(f"  {what}: {elapsed:.1f}s (load {loadavg()})", file=sys.stderr)
    return elapsed


def count_dwp_rows(out: Path) -> int:
    path = next((out / "landing" / "dwp" / "benefits").glob("*.csv"))
    with path.open("rb") as handle:
        return sum(1 for _ in handle) - 1


def generate_sample(out: Path, seed: int, participants: int, dwp_rows: int) -> dict:
    """Generate, sizing the comparison population so the DWP extract has about `dwp_rows` rows."""
    from worklink.synth import generate
    from worklink.synth.params import DEFAULT_RATES

    ratio = DEFAULT_RATES.comparison_ratio
    for attempt in range(4):
        rates = dataclasses.replace(DEFAULT_RATES, comparison_ratio=ratio)
        generate(out, seed=seed, participants=participants, defect_rate=0.0, rates=rates)
        rows = count_dwp_rows(out)
        print(f"  generated: comparison_ratio={ratio:.3f} -> {rows:,} DWP rows", file=sys.stderr)
        if abs(rows - dwp_rows) <= 0.03 * dwp_rows or attempt == 3:
            return {"comparison_ratio": round(ratio, 3), "dwp_rows": rows}
        # rows grow roughly linearly with the number of people in the extract (18 months each)
        rows_per_person = rows / (participants * (1 + ratio))
        ratio = max(0.0, dwp_rows / rows_per_person / participants - 1)
    raise AssertionError("unreachable")


def hold_back_latest_month(landing: Path, held: Path) -> int:
    """Move the latest month's VCSE and ICB files aside (the 'new data' of the incremental run)."""
    moved = 0
    for path in sorted(landing.rglob("*")):
        if path.is_file() and "_2026-03." in path.name and path.parts[-3] not in ("dwp", "hmrc"):
            target = held / path.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)
            moved += 1
    return moved


def row_counts(url: str) -> dict[str, int]:
    tables = ["vcse_referrals", "vcse_starts", "vcse_activities", "vcse_wellbeing", "vcse_job_starts",
              "vcse_leavers", "nhs_workwell_referrals", "dwp_benefit_months", "hmrc_pay_events"]
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in tables}


def model_timings(target: Path, top: int = 12) -> list[tuple[str, float]]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    timed = sorted(((r["unique_id"].split(".", 2)[-1], r["execution_time"]) for r in results), key=lambda x: -x[1])
    return [(name, round(seconds, 2)) for name, seconds in timed[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--dwp-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wl-dbt-bench"))
    parser.add_argument("--database", default="worklink_dbt_bench")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the generated sample and loaded database from a previous run (re-measure dbt only)")
    args = parser.parse_args()

    from worklink.platform.database import ensure_database, libpq_url

    workdir: Path = args.workdir
    sample, held = workdir / "sample", workdir / "held_back"
    admin = libpq_url(ensure_database())
    url = make_url(admin).set(database=args.database).render_as_string(hide_password=False)
    env = {**os.environ, "WORKLINK_DATABASE_URL": url, "WORKLINK_STATE_DIR": str(workdir / "state"),
           "WORKLINK_LANDING_DIR": str(sample / "landing"), "DBT_LOG_PATH": str(workdir / "dbt_logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    report: dict = {"participants": args.participants, "cpus": os.cpu_count(), "load_at_start": loadavg()}
    print(f"dbt benchmark: {args.participants:,} participants, ~{args.dwp_rows:,} DWP rows", file=sys.stderr)

    if not args.reuse:
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        started = time.monotonic()
        report["generated"] = generate_sample(sample, args.seed, args.participants, args.dwp_rows)
        report["seconds_generate"] = round(time.monotonic() - started, 1)
        report["held_back_files"] = hold_back_latest_month(sample / "landing", held)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{args.database}" with (force)')
            conn.execute(f'create database "{args.database}"')
        report["seconds_ingest_initial"] = round(run([WORKLINK, "ingest", str(sample / "landing")], env,
                                                     "ingest (all but the latest month)"), 1)
    started = time.monotonic()
    build_linkage_fixture(url, sample / "_truth")
    report["seconds_linkage_fixture"] = round(time.monotonic() - started, 1)
    report["rows_before"] = row_counts(url)

    full_target = workdir / "target_full"
    full_env = {**env, "DBT_TARGET_PATH": str(full_target)}
    run([WORKLINK, "dbt", "source", "freshness"], full_env, "dbt source freshness (before full)")
    report["load_before_full"] = loadavg()
    report["seconds_dbt_build_full"] = round(run([WORKLINK, "dbt", "build", "--full-refresh"], full_env,
                                                 "FULL dbt build"), 1)
    report["slowest_nodes_full"] = model_timings(full_target)

    # the new month arrives
    if held.exists():
        for path in sorted(held.rglob("*")):
            if path.is_file():
                target = sample / "landing" / path.relative_to(held)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), target)
        report["seconds_ingest_new_month"] = round(run([WORKLINK, "ingest", str(sample / "landing")], env,
                                                       "ingest (latest month)"), 1)
        build_linkage_fixture(url, sample / "_truth")
    report["rows_after"] = row_counts(url)
    before, after = sum(report["rows_before"].values()), sum(report["rows_after"].values())
    report["new_rows"] = after - before
    report["new_rows_share"] = round((after - before) / after, 4)

    # the nightly keeps its target folder (partial parse); --state is the previous run's artifacts
    previous_state = workdir / "state_after_full"
    if previous_state.exists():
        shutil.rmtree(previous_state)
    shutil.copytree(full_target, previous_state)
    incremental_target = full_target
    run([WORKLINK, "dbt", "source", "freshness"], full_env, "dbt source freshness (before incremental)")
    report["load_before_incremental"] = loadavg()
    report["seconds_dbt_build_incremental"] = round(run(
        [WORKLINK, "dbt", "build", "--select", "source_status:fresher+", "source:linkage+",
         "--exclude", "test_type:unit", "--state", str(previous_state)],
        full_env, "INCREMENTAL dbt build"), 1)
    report["slowest_nodes_incremental"] = model_timings(incremental_target)
    report["incremental_share_of_full"] = round(report["seconds_dbt_build_incremental"]
                                                / report["seconds_dbt_build_full"], 3)
    report["targets"] = {"full_seconds_max": 120, "incremental_share_max": 0.25}
    report["meets_targets"] = (report["seconds_dbt_build_full"] <= 120
                               and report["incremental_share_of_full"] <= 0.25)
    (workdir / "dbt_bench.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
