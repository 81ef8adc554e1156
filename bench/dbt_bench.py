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
  4. FULL: `dbt build --full-refresh` (every model, seed, data test and unit test), after an
     untimed `dbt parse` that brings the partial-parse cache up to date;
  5. ingest the held-back month, refresh the linkage fixture;
  6. INCREMENTAL: the nightly as production runs it, one process
     (`python -m worklink.orchestration.nightly_dbt`) against the state the full build left: the
     sources' latest loads in one query, then `dbt build` of what depends on a source loaded since
     (the partners' files and the ingest manifest, hence the as-at date), on the linkage, or on
     changed code (`--state`). The DWP and HMRC extracts did not change, so their heavy,
     linkage-independent models (int_dwp_benefit_months_classified, int_hmrc_*) and the tests on
     the million-row staging views are skipped; staging views whose code did not change are not
     re-created (their tests still run on the new rows); int_pay_events_attributed_to_periods is
     incremental by HMRC person. Unit tests test code, not data: they run in CI and in full builds
     (dbt's advice). `dbt source freshness` is not part of the build (the DAG runs it afterwards).
The full build is timed as the `dbt build --full-refresh` process with the environment `worklink dbt`
sets (see dbt_env); the incremental figure is the whole nightly process (Python start included).
Neither includes the `worklink dbt` wrapper's own Python start, which the nightly never pays.
`--repeat N` measures steps 4-6 N times, restoring the database before each, and reports medians:
this shared 2-core machine's speed drifts by a third between minutes (each run prints a CPU index,
the time of a fixed Python loop, before and after).
Prints a JSON summary (also written to <workdir>/dbt_bench.json) with times, row counts and load;
both runs' run_results.json are kept in the workdir for per-node timings.
`--reuse` measures the dbt builds again on the same sample: after step 3 the database is saved as the
template `<database>__base`, which a --reuse run restores (drop it when done).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
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
DBT = str(Path(sys.executable).with_name("dbt"))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def dbt_env(env: dict[str, str]) -> dict[str, str]:
    """The environment `worklink dbt` gives dbt (profile variables for this database), computed once.

    The builds are timed as `dbt ...` itself, not through the `worklink dbt` wrapper, whose own
    Python start (2-3 s here) the nightly DAG's dbt task does not pay either.
    """
    code = "import json; from worklink.platform.database import runtime_env; print(json.dumps(runtime_env()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    path = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return {**env, **json.loads(out), "PATH": path}


def run(args: list[str], env: dict[str, str], what: str) -> float:
    started = time.monotonic()
    cwd = REPO / "dbt_project" if args[0] == DBT else None
    proc = subprocess.run(args, env=env, capture_output=True, text=True, cwd=cwd)
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
                        help="re-measure dbt only: keep the generated sample and restore the database from the "
                             "template <database>__base a previous run saved (before the new month)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure full + nightly this many times (the database restored before each); "
                             "medians are reported")
    args = parser.parse_args()

    from worklink.platform.database import ensure_database, libpq_url

    workdir: Path = args.workdir
    sample, held = workdir / "sample", workdir / "held_back"
    admin = libpq_url(ensure_database())
    url = make_url(admin).set(database=args.database).render_as_string(hide_password=False)
    base = f"{args.database}__base"
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
        # a copy of the database before the new month, so that --reuse can measure dbt again
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{base}" with (force)')
            conn.execute(f'create database "{base}" template "{args.database}"')
    else:
        restore_before_new_month(admin, args.database, sample, held)
        report["reused"] = str(workdir)
    runs = []
    for attempt in range(args.repeat):
        if attempt:
            restore_before_new_month(admin, args.database, sample, held)
        runs.append(measure_once(url, env, workdir, sample, held))
        print(f"run {attempt + 1}/{args.repeat}: full {runs[-1]['seconds_dbt_build_full']} s, nightly "
              f"{runs[-1]['seconds_dbt_nightly_incremental']} s, share {runs[-1]['incremental_share_of_full']}",
              file=sys.stderr)
    report["runs"] = runs
    report.update({key: runs[-1][key] for key in ("rows_before", "rows_after", "new_rows", "new_rows_share",
                                                  "nightly_nodes", "slowest_nodes_full", "slowest_nodes_incremental")})
    full = statistics.median(r["seconds_dbt_build_full"] for r in runs)
    nightly = statistics.median(r["seconds_dbt_nightly_incremental"] for r in runs)
    shares = [r["incremental_share_of_full"] for r in runs]
    share = statistics.median(shares)
    report["median_seconds_dbt_build_full"] = round(full, 1)
    report["median_seconds_dbt_nightly_incremental"] = round(nightly, 1)
    report["median_incremental_share_of_full"] = round(share, 3)
    report["targets"] = {"full_seconds_max": 120, "incremental_share_max": 0.25}
    report["meets_targets"] = full <= 120 and share <= 0.25
    (workdir / "dbt_bench.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(f"\n{len(runs)} run(s): full {', '.join(str(r['seconds_dbt_build_full']) for r in runs)} s; nightly "
          f"{', '.join(str(r['seconds_dbt_nightly_incremental']) for r in runs)} s; share "
          f"{', '.join(str(x) for x in shares)} (median {report['median_incremental_share_of_full']}, target 0.25)")


def restore_before_new_month(admin: str, database: str, sample: Path, held: Path) -> None:
    """Back to the state before the new month: its files out of landing, the database from the template."""
    for path in sorted(held.rglob("*")):
        if path.is_file():
            (sample / "landing" / path.relative_to(held)).unlink(missing_ok=True)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{database}" with (force)')
        conn.execute(f'create database "{database}" template "{database}__base"')
        # the copy's pages written out now, not by the checkpointer during the timed builds
        conn.execute("checkpoint")


def cpu_index() -> float:
    """Seconds for a fixed pure-Python loop: this shared machine's speed drifts by a third between
    minutes, which explains more of the spread between runs than the code does."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return round(time.perf_counter() - started, 3)


def measure_once(url: str, env: dict[str, str], workdir: Path, sample: Path, held: Path) -> dict:
    """FULL build, the new month arrives, INCREMENTAL nightly; the database starts before the new month."""
    from worklink.ingest import prepare_warehouse
    from worklink.orchestration.nightly_dbt import save_state, source_loads

    prepare_warehouse(url)  # a database saved by an older version gains the contracts' new columns
    run_report: dict = {"rows_before": row_counts(url), "cpu_index_before": cpu_index()}
    full_target = workdir / "target_full"
    full_env = {**dbt_env(env), "DBT_TARGET_PATH": str(full_target)}
    # untimed: brings the partial-parse cache up to date, as every night after the first finds it
    run([DBT, "parse"], full_env, "dbt parse (untimed)")
    run_report["load_before_full"] = loadavg()
    run_report["seconds_dbt_build_full"] = round(run([DBT, "build", "--full-refresh"], full_env, "FULL dbt build"), 1)
    run_report["slowest_nodes_full"] = model_timings(full_target)
    shutil.copy2(full_target / "run_results.json", workdir / "run_results_full.json")

    # the state a nightly saves after a successful build: this manifest and the sources' latest loads
    nightly = workdir / "nightly"
    if nightly.exists():
        shutil.rmtree(nightly)
    shutil.copytree(full_target, nightly / "target")  # its partial-parse cache too
    sources = json.loads((full_target / "manifest.json").read_text())["sources"].values()
    save_state(nightly, full_target / "manifest.json", source_loads(sources, url))

    # the new month arrives
    for path in sorted(held.rglob("*")):
        if path.is_file():
            target = sample / "landing" / path.relative_to(held)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    run_report["seconds_ingest_new_month"] = round(run([WORKLINK, "ingest", str(sample / "landing")], env,
                                                       "ingest (latest month)"), 1)
    build_linkage_fixture(url, sample / "_truth")
    run_report["rows_after"] = row_counts(url)
    before, after = sum(run_report["rows_before"].values()), sum(run_report["rows_after"].values())
    run_report["new_rows"] = after - before
    run_report["new_rows_share"] = round((after - before) / after, 4)

    # INCREMENTAL: the nightly as it runs in production, one process (worklink.orchestration.nightly_dbt)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("checkpoint")
    run_report["load_before_incremental"] = loadavg()
    run_report["seconds_dbt_nightly_incremental"] = round(run(
        [sys.executable, "-m", "worklink.orchestration.nightly_dbt", "--work-dir", str(nightly),
         "--project-dir", str(REPO / "dbt_project"), "--json", str(nightly / "result.json")],
        full_env, "INCREMENTAL nightly (dbt build of what the new files touch, one process)"), 1)
    result = json.loads((nightly / "result.json").read_text())
    assert result["mode"] == "incremental", result
    run_report["nightly_breakdown_seconds"] = result["seconds"]
    run_report["nightly_nodes"] = result["nodes"]
    run_report["slowest_nodes_incremental"] = model_timings(nightly / "target")
    shutil.copy2(nightly / "target" / "run_results.json", workdir / "run_results_incremental.json")
    run_report["load_after_incremental"] = loadavg()
    run_report["cpu_index_after"] = cpu_index()
    run_report["incremental_share_of_full"] = round(run_report["seconds_dbt_nightly_incremental"]
                                                    / run_report["seconds_dbt_build_full"], 3)
    return run_report


if __name__ == "__main__":
    main()
