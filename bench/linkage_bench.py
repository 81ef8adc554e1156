"""Benchmark: participant linkage wall time, peak memory and quality at 20k / 200k / 1M source records.

For each size, a programme year is generated (``worklink.synth``, realistic recording noise:
typos, nicknames, swapped names, moved postcodes, no NHS or NI number on ~40% of VCSE referrals)
and its linkage inputs are ingested through the real ingest path into a fresh database
(``bench/linkage_data.py``; not timed). Then ``worklink.linkage.run_linkage`` runs twice, each in
a fresh Python process so peak RSS is that run's alone:

* **first run**: empty ``linkage`` schema, so the model is trained, every id is new;
* **nightly re-run**: unchanged data, stored model (what the DAG does each night); the run
  must change no participant id.

Time is the whole ``run_linkage`` call (read vault + raw from PostgreSQL, clean, train, Splink
predict on DuckDB, cluster, assign ids, write ``linkage``) plus the imports, measured inside the
child; the process's whole wall time (interpreter start, and for the first run the quality
evaluation, which is not part of linkage) is in the JSON as ``wall_seconds``. Peak RSS is the child's ``ru_maxrss`` (PostgreSQL's own memory is
not included; VmHWM, not ru_maxrss, which a forked child inherits from its parent). Quality is then
computed against the generator's ground truth.

Usage::

    .venv/bin/python bench/linkage_bench.py                       # 20k, 200k and 1M source records
    .venv/bin/python bench/linkage_bench.py --sizes 20000 --workdir /tmp/wl-bench
    .venv/bin/python bench/linkage_bench.py --sizes 1000000 --reuse   # keep an ingested database
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH_KEY = "be" * 32  # fixed pseudonym key for benchmark databases (synthetic data only)


def child(url: str, truth_dir: str | None, retrain: bool) -> None:
    """Run one linkage in this process and print a JSON line (called by the parent)."""
    import resource

    started = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    load0 = os.getloadavg()[0]
    from worklink.linkage.pipeline import run_linkage

    summary = run_linkage(url, retrain=retrain, keep_outcome=truth_dir is not None)
    linkage_seconds = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    # CPU time of this process (user + sys, all its threads: pandas, DuckDB), PostgreSQL's own not included
    cpu_seconds = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    load = [load0, os.getloadavg()[0]]
    # VmHWM: this process's own peak (ru_maxrss would include the parent's, inherited across fork)
    peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                   if line.startswith("VmHWM:"))
    outcome = summary.pop("outcome", None)
    quality = None
    noise = None
    if outcome is not None:
        from worklink.linkage.evaluate import evaluate, load_truth

        records = outcome.records
        vcse = records[~records["source_system"].isin(["icb_workwell", "dwp", "hmrc"])]
        noise = {"vcse_records": int(len(vcse)),
                 "vcse_without_nhs_or_ni_number": float((vcse["nhs_number"].isna() & vcse["nino_stem"].isna()).mean())}
        from worklink.linkage.evaluate import blocking_recall, candidate_pair_counts, linkable_pairs

        truth = load_truth(truth_dir)
        quality = evaluate(records["source_record_key"].to_numpy(), outcome.participant_id, truth, records)
        # after the timed run: which true pairs the blocking rules propose, and how many pairs they make
        _, unlinkable = linkable_pairs(records, truth)
        quality["blocking"] = blocking_recall(records, truth, summary["blocking_rules"], unlinkable)
        quality["blocking"].update(candidate_pair_counts(records, summary["blocking_rules"]))
    print(json.dumps({"linkage_seconds": linkage_seconds, "cpu_seconds": cpu_seconds, "load_average": load,
                      "peak_rss_kb": peak_kb, "summary": summary,
                      "quality": quality, "noise": noise}, default=str))


def run_child(url: str, truth_dir: Path | None, state_dir: Path, retrain: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", url, "--truth", str(truth_dir) if truth_dir else ""]
    if retrain:
        cmd.append("--retrain")
    started = time.perf_counter()
    # the child gets the database URL explicitly; its state folder only holds the model charts
    env = {**os.environ, "WORKLINK_STATE_DIR": str(state_dir)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-4000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def bench_size(records: int, args) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    import psycopg
    from linkage_data import participants_for, prepare
    from sqlalchemy.engine import make_url
    from worklink.platform.database import ensure_database, libpq_url

    admin = libpq_url(args.admin_url or ensure_database())
    participants = participants_for(records)
    db_name = f"wl_link_bench_{records}"
    url = make_url(admin).set(database=db_name).render_as_string(hide_password=False)
    truth = args.workdir / f"sample_{participants}_{args.seed}" / "_truth"
    reuse = False
    if args.reuse and truth.exists():
        try:
            with psycopg.connect(url) as conn:
                reuse = conn.execute("select to_regclass('raw.dwp_benefit_months') is not null").fetchone()[0]
        except psycopg.OperationalError:
            reuse = False
    if not reuse:
        print(f"[{records:,}] generating {participants:,} participants and ingesting linkage feeds ...", flush=True)
        url, truth = prepare(args.workdir, participants, args.seed, admin, db_name,
                             progress=lambda m: print(f"    {m}", flush=True))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists linkage cascade")  # first run: no model, no ids
    print(f"[{records:,}] first run (trains the model) ...", flush=True)
    first = run_child(url, truth, args.workdir / "state")
    print(f"[{records:,}] nightly re-run on unchanged data ...", flush=True)
    again = run_child(url, None, args.workdir / "state")
    return {"target_records": records, "participants_generated": participants, "first": first, "rerun": again}


def _load(run: dict) -> str:
    """Load average (1 min) at the start and end of a run."""
    start, end = run["load_average"]
    return f"{start:.1f}-{end:.1f}"


def report(results: list[dict], command: str) -> None:
    print("\nLinkage benchmark")
    print(f"command: {command}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load average at end {os.getloadavg()[0]:.1f} (the machine is shared)")
    print("times: run_linkage incl. imports (s, wall); cpu s: user + sys CPU time of that process (all its threads; "
          "PostgreSQL's not included); load: 1-minute load average at its start and end; peak MB: VmHWM of that process; P/R/F1: all true pairs; "
          "R/F1 link: pairs that share any information; B3: B-cubed on clusters; queue: clerical-review pairs; "
          "block R: linkable true pairs a blocking rule proposes; cand. pairs: pairs the rules make (Splink's "
          "blocking analysis; estimated from a 10% sample above 300,000 records)")
    head = (f"{'records':>10} {'people':>8} | {'1st run s':>9} {'cpu s':>6} {'load':>9} {'peak MB':>8} | "
            f"{'re-run s':>8} {'cpu s':>6} {'load':>9} {'peak MB':>8} "
            f"{'ids kept':>9} | {'P':>6} {'R':>6} {'F1':>6} | {'R link':>6} {'F1 link':>7} | {'B3 F1':>6} "
            f"| {'queue':>6} | {'block R':>7} {'cand. pairs':>11}")
    print(head)
    print("-" * len(head))
    for r in results:
        f, a = r["first"], r["rerun"]
        q = f["quality"]
        ids = a["summary"]["participant_ids"]
        kept = "all" if ids["new"] == ids["merged"] == ids["retired"] == 0 else f"{ids['new']} new"
        print(f"{f['summary']['source_records']:>10,} {q['people']:>8,} | {f['linkage_seconds']:>9.1f} "
              f"{f['cpu_seconds']:>6.1f} {_load(f):>9} {f['peak_rss_kb'] / 1024:>8.0f} | {a['linkage_seconds']:>8.1f} "
              f"{a['cpu_seconds']:>6.1f} {_load(a):>9} {a['peak_rss_kb'] / 1024:>8.0f} "
              f"{kept:>9} | {q['pairs']['precision']:>6.4f} {q['pairs']['recall']:>6.4f} {q['pairs']['f1']:>6.4f} | "
              f"{q['linkable_pairs']['recall']:>6.4f} {q['linkable_pairs']['f1']:>7.4f} | "
              f"{q['clusters']['b_cubed_f1']:>6.4f} | {f['summary']['review_queue']:>6,} | "
              f"{q['blocking']['linkable_recall']:>7.4f} {q['blocking']['candidate_pairs']:>11,}")
    for r in results:
        f = r["first"]
        s = f["summary"]
        print(f"\n{s['source_records']:,} records: stages of the first run (s) {s['timings_seconds']}; "
              f"re-run {r['rerun']['summary']['timings_seconds']}")
        print(f"  by method {s['records_by_method']}; VCSE referrals without NHS or NI number "
              f"{f['noise']['vcse_without_nhs_or_ni_number']:.1%}; thresholds {s['thresholds']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,200000,1000000", help="source records, comma separated")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wl-linkage-bench"))
    parser.add_argument("--reuse", action="store_true", help="reuse generated + ingested databases")
    parser.add_argument("--admin-url", default=None, help="server URL with rights to create databases")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--truth", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--retrain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("WORKLINK_PSEUDONYM_KEY", BENCH_KEY)
    if args.child:
        child(args.child, args.truth or None, args.retrain)
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = [bench_size(int(s), args) for s in args.sizes.split(",")]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    report(results, "python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
