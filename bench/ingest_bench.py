"""Benchmark: validated, loaded rows per second for a ~1M-row DWP extract vs bare COPY.

Both are measured in the same run, against the same PostgreSQL, on the same file:

* baseline: ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` of the file's bytes into a plain
  table of text columns (no checks, no lineage, no identity split);
* worklink: ``worklink.ingest.loader.ingest_file`` — hash + archive, read, normalise, GX
  suite + own rules, pseudonym tokens, split of identifiers into ``identity``, COPY into
  per-file partitions (raw by two connections at once for a file this size), quarantine,
  manifest and data-quality history, one transaction.

Each is run ``--repeat`` times on a fresh database; the median is reported. Imports (GX
takes ~5 s to import) are warmed before timing. Besides wall time it prints the CPU seconds
each path costs this process and the PostgreSQL backends serving the benchmark database (a
local server only): on a 2-core machine (CPU of both) / 2 is a floor under the wall time, which shows
where the ratio can and cannot go. Usage::

    .venv/bin/python bench/ingest_bench.py                 # generates ~1.08M DWP rows (60,000 participants)
    .venv/bin/python bench/ingest_bench.py --participants 6000 --repeat 1   # quick run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from worklink.platform.database import ensure_database, libpq_url


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


BENCH_DB = "worklink_bench"


def _process_cpu(pid: int | str) -> float | None:
    """User + system CPU seconds of a live process, or None once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each live PostgreSQL backend connected to ``database`` (found by
    the process title PostgreSQL sets: 'postgres: <user> <database> <host> ...')."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
        except OSError:
            continue
        if len(title) >= 3 and title[0] == "postgres:" and title[2] == database:
            cpu = _process_cpu(proc.name)
            if cpu is not None:
                found[int(proc.name)] = cpu
    return found


def measured(work, database: str = BENCH_DB):
    """Run ``work()``; return (its result, wall s, this process's CPU s, server CPU s or None).

    Server CPU is that of the backends serving ``database`` (other sessions on the same server
    are not counted), sampled every 20 ms while the work runs; None if no backend is visible
    (a remote server).
    """
    seen: dict[int, tuple[float, float]] = {}  # pid -> (CPU at first sight, latest CPU)
    stop = threading.Event()

    def sample() -> None:
        rounds = 0
        while not stop.wait(0.02):
            rounds += 1
            if rounds % 10 == 0:  # look for new backends every 0.2 s, read known ones every 20 ms
                for pid, cpu in _backend_cpu(database).items():
                    seen[pid] = (seen.get(pid, (0.0, cpu))[0], cpu)  # new backend: started during the work
            for pid, (first, _) in list(seen.items()):
                cpu = _process_cpu(pid)
                if cpu is not None:
                    seen[pid] = (first, cpu)

    sample_once = _backend_cpu(database)
    for pid, cpu in sample_once.items():
        seen[pid] = (cpu, cpu)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    own_before = time.process_time()
    started = time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    own = time.process_time() - own_before
    stop.set()
    sampler.join()
    server = sum(latest - first for first, latest in seen.values()) if seen else None
    return result, wall, own, server


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def bare_copy(url: str, path: Path) -> tuple[float, float, float | None]:
    header = path.open(encoding="utf-8").readline().strip().split(",")
    with psycopg.connect(url) as conn:
        conn.execute("create table bare_copy ({})".format(", ".join(f'"{c}" text' for c in header)))
        conn.commit()

        def copy() -> None:
            with conn.cursor().copy("copy bare_copy from stdin with (format csv, header true)") as copy:
                with path.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
            conn.commit()

        _, wall, own, server = measured(copy)
        return wall, own, server


def worklink_ingest(url: str, path: Path, state: Path) -> tuple[float, float, float | None, object]:
    from worklink.contracts import load_contracts
    from worklink.ingest import ingest_file, prepare_warehouse
    from worklink.settings import load_settings

    contract = next(c for c in load_contracts() if c.key == "dwp__benefits")
    prepare_warehouse(url)
    expectations = load_settings().expectations_dir
    result, wall, own, server = measured(
        lambda: ingest_file(path, contract, url, state / "archive", expectations))
    return wall, own, server, result


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
        url = fresh_database(admin, BENCH_DB)
        baseline.append(bare_copy(url, extract))
        url = fresh_database(admin, BENCH_DB)
        *figures, result = worklink_ingest(url, extract, state)
        assert result.status == "loaded" and result.rows_loaded == rows, result
        full.append(tuple(figures))
        print(f"  run {i + 1}: bare COPY {baseline[-1][0]:.2f}s, worklink ingest {full[-1][0]:.2f}s"
              f"  (load average {loadavg()})", flush=True)
    fresh_database(admin, BENCH_DB)

    def median(runs, k):
        values = [r[k] for r in runs if r[k] is not None]
        return statistics.median(values) if values else None

    def cpu(value):
        return f"{value:5.2f} s" if value is not None else "  n/a "

    b, f = median(baseline, 0), median(full, 0)
    print()
    print(f"file: {extract.name}, {rows:,} rows, {size_mb:.1f} MB; median of {args.repeat} run(s)")
    print(f"{'':32s}{'wall':>8s}   {'rows/s':>10s}   {'CPU here':>8s}   {'CPU server':>10s}")
    print(f"bare COPY (baseline):           {b:6.2f} s   {rows / b:>10,.0f}   {cpu(median(baseline, 1))}   "
          f"{cpu(median(baseline, 2))}")
    print(f"worklink validated load:        {f:6.2f} s   {rows / f:>10,.0f}   {cpu(median(full, 1))}   "
          f"{cpu(median(full, 2))}")
    print(f"ratio (worklink / bare COPY):   {b / f:6.2f}   (target >= 0.50)")
    own, server = median(full, 1), median(full, 2)
    if server is not None:
        floor = (own + server) / (os.cpu_count() or 1)
        print(f"CPU floor for the validated load on {os.cpu_count()} cores: {floor:.2f} s "
              f"(best possible ratio {b / floor:.2f} at this baseline)")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
