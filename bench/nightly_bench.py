"""Benchmark: the whole nightly under Airflow's real scheduler, at 1x and 10x GM scale, on the
LocalExecutor and on the CeleryExecutor.

For each scale it generates a programme year (1x = 20,000 participants, about 720,000 rows in
~200 files; 10x = 200,000) and holds the last month of the partners' monthly feeds back. For each
executor it then starts a platform of its own (embedded PostgreSQL and state folder under
``--workdir``, ``worklink serve`` with ``WORKLINK_EXECUTOR`` set; Celery: the project's Redis and
two workers) and measures two nights:

* full: the night the scheduler starts by itself, loading the year but the held-back month;
* incremental: the held-back month lands, a night is triggered (one new month on top of a year).

Printed per night, from Airflow's own task instances: the run's wall time (dag_run start to end),
each stage (every partner's ingest, linkage, dbt build, source freshness), the rows the night read
(file manifest), the warehouse database's size, CPU seconds and peak memory per process kind
(psutil, sampled every half second: scheduler, dag-processor, triggerer, api-server, celery
worker, task supervisors, the task processes by kind, PostgreSQL, Redis). CPU seconds / 2 cores
is a floor under the wall time on this machine: it shows where a missed target can and cannot go.
At the end: the ratio of 10x to 1x full nights beside the ratio of rows.

Usage::

    .venv/bin/python bench/nightly_bench.py --help
    .venv/bin/python bench/nightly_bench.py --scales 1 --executors local,celery --workdir /tmp/nb
    .venv/bin/python bench/nightly_bench.py --scales 10 --executors local --workdir /tmp/nb --json /tmp/nb/10x.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import psycopg

REPO = Path(__file__).resolve().parents[1]
WORKLINK = str(Path(sys.executable).with_name("worklink"))
DAG = "worklink_nightly"
GM_PARTICIPANTS = 20_000
#: whole-extract feeds (one file for the year): never held back
EXTRACT_PARTNERS = ("dwp", "hmrc")
DROPPED = ("WORKLINK_DATABASE_URL", "WORKLINK_AIRFLOW_DATABASE_URL", "WORKLINK_PG_PORT", "AIRFLOW_HOME",
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__OPENLINEAGE__TRANSPORT", "AIRFLOW__CORE__EXECUTOR",
           "WORKLINK_EXECUTOR", "WORKLINK_LANDING_DIR", "WORKLINK_STATE_DIR")
TARGETS = {1: {"full": 90, "incremental": 45}, 10: {"full": 12 * 60}}
PEAK_MEMORY_TARGET_GIB = 12


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [load {loadavg()}] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------- data
def make_year(workdir: Path, scale: int, seed: int, reuse: bool) -> tuple[Path, list[Path]]:
    """The generated year of ``scale`` and the files of its last month held back (relative paths)."""
    sample = workdir / f"x{scale}" / "sample"
    participants = GM_PARTICIPANTS * scale
    made = sample / "bench_year.json"  # what the year was generated with
    wanted = {"participants": participants, "seed": seed}
    if reuse and made.exists() and json.loads(made.read_text()) == wanted:
        say(f"x{scale}: reusing the generated year in {sample}")
    else:
        from worklink.synth import generate

        say(f"x{scale}: generating a year of {participants:,} participants into {sample}")
        started = time.monotonic()
        generate(sample, seed=seed, participants=participants, defect_rate=0.0)
        made.write_text(json.dumps(wanted))
        say(f"x{scale}: generated in {time.monotonic() - started:.0f}s")
    landing = sample / "landing"
    files = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    periods = sorted({m.group(1) for p in files if p.parts[0] not in EXTRACT_PARTNERS
                      and (m := re.search(r"(\d{4}-\d{2})", p.name))})
    last = periods[-1]
    held = [p for p in files if p.parts[0] not in EXTRACT_PARTNERS and last in p.name]
    say(f"x{scale}: {len(files)} files, {sum((landing / p).stat().st_size for p in files) / 1e6:.0f} MB; "
        f"incremental night = {len(held)} files of {last}")
    return landing, held


def land(source: Path, target: Path, files: list[Path]) -> None:
    for rel in files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        if not (target / rel).exists():
            os.link(source / rel, target / rel)


# --------------------------------------------------------------------------------------- sampling
class Sampler(threading.Thread):
    """CPU seconds and peak RSS of every process of the platform, by kind, every ``every`` seconds."""

    def __init__(self, roots, airflow_url: str, every: float = 0.5):
        super().__init__(daemon=True)
        self.roots, self.airflow_url, self.every = roots, airflow_url, every
        self.stop_event = threading.Event()
        self.ti_kind: dict[str, str] = {}
        self.reset()

    def reset(self) -> None:
        self.cpu_first: dict[int, float] = {}
        self.cpu_last: dict[int, tuple[str, float]] = {}
        self.peak_one: dict[str, int] = {}
        self.peak_sum: dict[str, int] = {}
        self.peak_total = 0

    def _task_kind(self, ti_id: str) -> str:
        if ti_id not in self.ti_kind:
            try:
                with psycopg.connect(self.airflow_url, connect_timeout=5) as conn:
                    row = conn.execute("select task_id from task_instance where id::text = %s", (ti_id,)).fetchone()
            except psycopg.Error:
                row = None
            task_id = row[0] if row else "?"
            self.ti_kind[ti_id] = ("task: ingest" if task_id.endswith(".ingest") else
                                   "task: linkage" if task_id == "link_participants" else
                                   "task: dbt" if task_id.startswith("dbt_build.") else "task: other")
        return self.ti_kind[ti_id]

    def _kind(self, proc: psutil.Process, titles: dict[int, str]) -> str:
        pid = proc.pid
        while pid in titles:
            title = titles[pid]
            if m := re.match(r"airflow worker -- ([0-9a-f-]{36})", title):
                return self._task_kind(m.group(1))
            if title.startswith(("airflow supervisor:", "airflow task supervisor:")):
                return "task supervisor"
            for name in ("scheduler", "dag-processor", "triggerer", "celery worker"):
                if f"airflow {name}" in title:
                    return name
            if "api_server" in title or "api-server" in title:
                return "api-server"
            if title.startswith("postgres") or "/bin/postgres" in title:
                return "postgres"
            if "redis-server" in title:
                return "redis"
            try:
                pid = psutil.Process(pid).ppid()
            except psutil.Error:
                break
        return "other"

    def sample(self) -> None:
        procs = []
        for root in self.roots():
            try:
                top = psutil.Process(root)
                procs += [top, *top.children(recursive=True)]
            except psutil.Error:
                continue
        titles, info = {}, []
        for proc in procs:
            try:
                titles[proc.pid] = " ".join(proc.cmdline()) or proc.name()
                cpu = proc.cpu_times()
                info.append((proc, proc.memory_info().rss, cpu.user + cpu.system))
            except psutil.Error:
                continue
        sums: dict[str, int] = {}
        for proc, rss, cpu in info:
            kind = self._kind(proc, titles)
            self.peak_one[kind] = max(self.peak_one.get(kind, 0), rss)
            sums[kind] = sums.get(kind, 0) + rss
            self.cpu_first.setdefault(proc.pid, cpu)
            self.cpu_last[proc.pid] = (kind, cpu)
        for kind, total in sums.items():
            self.peak_sum[kind] = max(self.peak_sum.get(kind, 0), total)
        self.peak_total = max(self.peak_total, sum(sums.values()))

    def cpu_by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, (kind, cpu) in self.cpu_last.items():
            out[kind] = out.get(kind, 0.0) + cpu - self.cpu_first.get(pid, 0.0)
        return out

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.sample()
            except Exception as exc:  # noqa: BLE001 - a sampler must not end the benchmark
                say(f"sampler: {exc}")
            self.stop_event.wait(self.every)


# --------------------------------------------------------------------------------------- platform
class Platform:
    def __init__(self, root: Path, landing: Path, executor: str):
        self.root, self.executor, self.landing = root, executor, landing
        self.state = root / "state"
        self.env = {k: v for k, v in os.environ.items() if k not in DROPPED} | {
            "WORKLINK_STATE_DIR": str(self.state), "WORKLINK_LANDING_DIR": str(landing),
            "WORKLINK_EXECUTOR": executor, "AIRFLOW__API__PORT": str(free_port()),
        }
        self.serve: subprocess.Popen | None = None

    def worklink(self, *args: str, timeout: int = 600) -> str:
        proc = subprocess.run([WORKLINK, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"worklink {' '.join(args)}: {proc.stderr[-2000:]}")
        return proc.stdout.strip()

    def start(self) -> None:
        self.worklink("db", "start")
        self.airflow_url, self.warehouse_url = self.worklink("db", "url", "--airflow"), self.worklink("db", "url")
        self.serve = subprocess.Popen([WORKLINK, "serve"], env=self.env, stdout=(self.root / "serve.log").open("a"),
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def roots(self) -> list[int]:
        pids = [self.serve.pid] if self.serve else []
        for pidfile in (self.state / "pg" / "data" / "postmaster.pid", self.state / "redis" / "redis.pid"):
            try:
                pids.append(int(pidfile.read_text().split()[0]))
            except (OSError, ValueError, IndexError):
                pass
        return pids

    def stop(self) -> None:
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGTERM)
            try:
                self.serve.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.serve.pid, signal.SIGKILL)
                self.serve.wait()
        if self.executor == "celery":
            from worklink.platform.redis_server import redis_server

            redis_server(self.state).stop()
        subprocess.run([WORKLINK, "db", "stop"], env=self.env, capture_output=True, timeout=120)

    def query(self, sql: str, params=(), airflow: bool = True) -> list[tuple]:
        with psycopg.connect(self.airflow_url if airflow else self.warehouse_url, connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def wait(self, what: str, probe, timeout: float, every: float = 5.0):
        deadline, last_note = time.monotonic() + timeout, 0.0
        while time.monotonic() < deadline:
            try:
                value = probe()
            except psycopg.Error:
                value = None
            if value:
                return value
            if time.monotonic() - last_note > 60:
                last_note = time.monotonic()
                say(f"  waiting for {what} ({self.progress()})")
            time.sleep(every)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")

    def progress(self) -> str:
        try:
            rows = self.query("select state, count(*) from task_instance where dag_id = %s group by 1", (DAG,))
        except psycopg.Error:
            return "Airflow not up yet"
        return ", ".join(f"{n} {s}" for s, n in sorted(rows, key=lambda r: str(r[0])))

    def night(self, run_id: str, timeout: float) -> dict:
        state = self.wait(f"run {run_id}", lambda: (r := self.query(
            "select state from dag_run where dag_id = %s and run_id = %s", (DAG, run_id))) and r[0][0]
            in ("success", "failed") and r[0][0], timeout)
        start, end = self.query("select start_date, end_date from dag_run where dag_id = %s and run_id = %s",
                                (DAG, run_id))[0]
        tasks = self.query("select task_id, state, try_number, extract(epoch from start_date - %s),"
                           " extract(epoch from end_date - start_date) from task_instance"
                           " where dag_id = %s and run_id = %s order by start_date nulls last",
                           (start, DAG, run_id))
        rows = self.query("select coalesce(sum(rows_in), 0), count(*) from ingest.file_manifest"
                          " where ingest_run = %s and status <> 'duplicate'", (run_id,), airflow=False)[0]
        size = self.query("select pg_database_size(current_database())", airflow=False)[0][0]
        return {"run_id": run_id, "state": state, "wall_s": (end - start).total_seconds(),
                "tasks": {t: {"state": s, "tries": n, "starts_at_s": float(a or 0), "seconds": float(d or 0)}
                          for t, s, n, a, d in tasks},
                "rows_read": int(rows[0]), "files": int(rows[1]), "database_bytes": int(size)}


def run_executor(workdir: Path, scale: int, executor: str, year: Path, held: list[Path], timeout: float) -> dict:
    root = workdir / f"x{scale}" / executor
    if root.exists():
        subprocess.run([WORKLINK, "db", "stop"], env={**os.environ, "WORKLINK_STATE_DIR": str(root / "state")},
                       capture_output=True)
        shutil.rmtree(root)
    landing = root / "landing"
    everything = sorted(p.relative_to(year) for p in year.rglob("*") if p.is_file())
    land(year, landing, [p for p in everything if p not in set(held)])
    platform = Platform(root, landing, executor)
    root.mkdir(parents=True, exist_ok=True)
    result: dict = {"scale": scale, "executor": executor, "load_start": loadavg()}
    say(f"x{scale} {executor}: starting the platform in {root}")
    platform.start()
    sampler = Sampler(platform.roots, platform.airflow_url)
    sampler.start()
    try:
        run_id = platform.wait("the scheduled night", lambda: next(iter(platform.query(
            "select run_id from dag_run where dag_id = %s and run_type = 'scheduled'", (DAG,))), [None])[0], 600)
        sampler.reset()  # platform start-up is not the night
        say(f"x{scale} {executor}: full night {run_id} running")
        result["full"] = platform.night(run_id, timeout)
        result["full"] |= memory_and_cpu(sampler)
        say(f"x{scale} {executor}: full night {result['full']['state']} in {result['full']['wall_s']:.0f}s")
        land(year, landing, held)
        sampler.reset()
        platform.worklink("airflow", "dags", "trigger", DAG, "--run-id", "incremental")
        say(f"x{scale} {executor}: incremental night running")
        result["incremental"] = platform.night("incremental", timeout)
        result["incremental"] |= memory_and_cpu(sampler)
        say(f"x{scale} {executor}: incremental night {result['incremental']['state']} in "
            f"{result['incremental']['wall_s']:.0f}s")
    finally:
        sampler.stop_event.set()
        sampler.join()
        platform.stop()
        result["load_end"] = loadavg()
    return result


def memory_and_cpu(sampler: Sampler) -> dict:
    return {"peak_rss_one": dict(sampler.peak_one), "peak_rss_sum": dict(sampler.peak_sum),
            "peak_rss_total": sampler.peak_total, "cpu_s": sampler.cpu_by_kind()}


# --------------------------------------------------------------------------------------- report
def stages(night: dict) -> dict[str, float]:
    tasks = night["tasks"]
    out = {t.removesuffix(".ingest") + " ingest": v["seconds"] for t, v in tasks.items() if t.endswith(".ingest")}
    for name, task in (("linkage", "link_participants"), ("dbt", "dbt_build.nightly"),
                       ("freshness", "dbt_build.source_freshness")):
        if task in tasks:
            out[name] = tasks[task]["seconds"]
    return out


def gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def report(results: list[dict]) -> None:
    for r in results:
        for night in ("full", "incremental"):
            n = r.get(night)
            if not n:
                continue
            cpu = n["cpu_s"]
            target = TARGETS.get(r["scale"], {}).get(night)
            met = "" if target is None else f" (target {target}s: {'met' if n['wall_s'] <= target else 'MISSED'})"
            print(f"\n== x{r['scale']} {r['executor']} {night} night: {n['state']}, wall {n['wall_s']:.1f}s{met}; "
                  f"{n['rows_read']:,} rows in {n['files']} files; database {n['database_bytes'] / 1e9:.2f} GB; "
                  f"load {r['load_start']} -> {r['load_end']}")
            print("   stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages(n).items()))
            retried = [t for t, v in n["tasks"].items() if v["tries"] > 1]
            if retried:
                print(f"   retried: {', '.join(retried)}")
            total_cpu = sum(cpu.values())
            print(f"   CPU s: total {total_cpu:.0f} (floor on 2 cores {total_cpu / 2:.0f}s of {n['wall_s']:.0f}s wall): "
                  + ", ".join(f"{k} {v:.0f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])))
            print("   peak RSS GiB (largest process / all of the kind): "
                  + ", ".join(f"{k} {gib(v)}/{gib(n['peak_rss_sum'][k])}"
                              for k, v in sorted(n["peak_rss_one"].items(), key=lambda kv: -kv[1]))
                  + f"; total {gib(n['peak_rss_total'])} (target {PEAK_MEMORY_TARGET_GIB} GiB)")
    by = {(r["scale"], r["executor"]): r for r in results}
    for executor in sorted({r["executor"] for r in results}):
        one, ten = by.get((1, executor)), by.get((10, executor))
        if one and ten and one.get("full") and ten.get("full"):
            time_ratio = ten["full"]["wall_s"] / one["full"]["wall_s"]
            rows_ratio = ten["full"]["rows_read"] / max(1, one["full"]["rows_read"])
            print(f"\n{executor}: 10x/1x full night {time_ratio:.2f} for {rows_ratio:.2f}x the rows "
                  f"({'no worse than linear' if time_ratio <= rows_ratio else 'WORSE than linear'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Each platform runs from its own folder under --workdir; delete it after.")
    parser.add_argument("--scales", default="1,10", help="multiples of GM scale (20,000 participants), e.g. 1,10")
    parser.add_argument("--executors", default="local,celery", help="local, celery or both (comma-separated)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/worklink-nightly-bench"),
                        help="generated years and platforms (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--reuse", action="store_true", help="reuse a year already generated in --workdir")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="longest wait for one night (s)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    executors = [e.strip() for e in args.executors.split(",") if e.strip()]
    if not set(executors) <= {"local", "celery"}:
        parser.error("--executors takes local and/or celery")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    results = []
    for scale in scales:
        year, held = make_year(args.workdir, scale, args.seed, args.reuse)
        for executor in executors:
            results.append(run_executor(args.workdir, scale, executor, year, held, args.timeout))
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
            report(results[-1:])
    print("\n==== all results")
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
