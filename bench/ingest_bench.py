"""Benchmark: validated, loaded rows per second for a ~1M-row DWP extract vs bare COPY.

Both are measured in the same run, against the same PostgreSQL, on the same file:

* baseline: ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` of the file's bytes into a plain
  table of text columns (no checks, no lineage, no identity split);
* worklink: ``worklink.ingest.loader.ingest_file`` — hash + archive, read, normalise, GX
  suite + own rules, pseudonym tokens, split of identifiers into ``identity``, COPY into
  per-file partitions, quarantine, manifest and data-quality history, one transaction.

Each is run ``--repeat`` times on a fresh database; the median is reported. Imports (GX
takes ~5 s to import) are warmed before timing. Usage::

    .venv/bin/python bench/ingest_bench.py                 # generates ~1.08M DWP rows (60,000 participants)
    .venv/bin/python bench/ingest_bench.py --participants 6000 --repeat 1   # quick run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from worklink.platform.database import ensure_database, libpq_url


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def bare_copy(url: str, path: Path) -> float:
    header = path.open(encoding="utf-8").readline().strip().split(",")
    with psycopg.connect(url) as conn:
        conn.execute("create table bare_copy ({})".format(", ".join(f'"{c}" text' for c in header)))
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("copy bare_copy from stdin with (format csv, header true)") as copy:
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def worklink_ingest(url: str, path: Path, state: Path) -> tuple[float, object]:
    from worklink.contracts import load_contracts
    from worklink.ingest.loader import ingest_file, prepare_warehouse
    from worklink.settings import load_settings

    contract = next(c for c in load_contracts() if c.key == "dwp__benefits")
    prepare_warehouse(url)
    started = time.perf_counter()
    result = ingest_file(path, contract, url, state / "archive", load_settings().expectations_dir)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=60000, help="generator scale (60,000 -> ~1.08M DWP rows)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="reuse generated data here")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="worklink-bench-"))
    state = workdir / "state"  # the archive copies go here, not into the project's .worklink/
    extract = workdir / "landing" / "dwp" / "benefits" / "DWP_benefits_2026-03.csv"
    if not extract.exists():
        from worklink.synth import generate

        print(f"generating sample ({args.participants} participants) into {workdir} ...", flush=True)
        generate(workdir, seed=args.seed, participants=args.participants, defect_rate=0.0)
    rows = sum(1 for _ in extract.open("rb")) - 1
    size_mb = extract.stat().st_size / 1e6
    admin = libpq_url(ensure_database())

    # Warm-up: imports and the GX context, on a tiny database, so timing is of the work itself.
    from worklink.ingest.checks import _gx_batch_definition

    _gx_batch_definition()

    baseline, full = [], []
    for i in range(args.repeat):
        url = fresh_database(admin, "worklink_bench")
        baseline.append(bare_copy(url, extract))
        url = fresh_database(admin, "worklink_bench")
        seconds, result = worklink_ingest(url, extract, state)
        assert result.status == "loaded" and result.rows_loaded == rows, result
        full.append(seconds)
        print(f"  run {i + 1}: bare COPY {baseline[-1]:.2f}s, worklink ingest {seconds:.2f}s", flush=True)
    fresh_database(admin, "worklink_bench")

    b, f = statistics.median(baseline), statistics.median(full)
    print()
    print(f"file: {extract.name}, {rows:,} rows, {size_mb:.1f} MB; median of {args.repeat} run(s)")
    print(f"bare COPY (baseline):           {b:6.2f} s   {rows / b:>10,.0f} rows/s")
    print(f"worklink validated load:        {f:6.2f} s   {rows / f:>10,.0f} rows/s")
    print(f"ratio (worklink / bare COPY):   {b / f:6.2f}   (target >= 0.50)")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
