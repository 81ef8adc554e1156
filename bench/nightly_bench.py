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
For each night it then shows where the time went: the phases of the run (the ingests, each
serial stage, the scheduler's waits between them), the stage that misses a target, and the floors
the CPU seconds set (all processes over 2 cores; the critical path: the ingests' CPU over 2 cores
plus each serial stage's CPU on one core). At the end: the ratio of each larger scale to 1x, wall
time and CPU, beside the ratio of rows. Scales may be fractional or any multiple (``--scales
1,3``): a machine that cannot run 10x in the time at hand runs the largest that it can.

The platform is driven as the end-to-end tests drive theirs (``worklink.orchestration.night_driver``).

Usage::

    .venv/bin/python bench/nightly_bench.py --help
    .venv/bin/python bench/nightly_bench.py --scales 1 --executors local,celery --workdir /tmp/nb
    .venv/bin/python bench/nightly_bench.py --scales 10 --executors local --workdir /tmp/nb --json /tmp/nb/10x.json
    .venv/bin/python bench/nightly_bench.py --scales 3 --executors local --nights full --workdir /tmp/nb --reuse
    .venv/bin/python bench/nightly_bench.py --report-only --json /tmp/nb/10x.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
from worklink.orchestration.night_driver import FOREIGN_ENV, WORKLINK, NightDriver, free_port

GM_PARTICIPANTS = 20_000
#: whole-extract feeds (one file for the year): never held back
EXTRACT_PARTNERS = ("dwp", "hmrc")
DROPPED = (*FOREIGN_ENV, "WORKLINK_LANDING_DIR", "WORKLINK_STATE_DIR")
TARGETS = {1: {"full": 90, "incremental": 45}, 10: {"full": 12 * 60}}
NIGHTS = ("full", "incremental")
#: the floors are computed for the machine the targets are set for (2 cores)
CORES = 2
PEAK_MEMORY_TARGET_GIB = 12


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [load {loadavg()}] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --------------------------------------------------------------------------------------- data
def make_year(workdir: Path, scale: float, seed: int, reuse: bool) -> tuple[Path, list[Path]]:
    """The generated year of ``scale`` and the files of its last month held back (relative paths)."""
    sample = workdir / scale_name(scale) / "sample"
    participants = round(GM_PARTICIPANTS * scale)
    made = sample / "bench_year.json"  # what the year was generated with
    wanted = {"participants": participants, "seed": seed}
    if reuse and made.exists() and json.loads(made.read_text()) == wanted:
        say(f"{scale_name(scale)}: reusing the generated year in {sample}")
    else:
        from worklink.synth import generate

        say(f"{scale_name(scale)}: generating a year of {participants:,} participants into {sample}")
        started = time.monotonic()
        generate(sample, seed=seed, participants=participants, defect_rate=0.0)
        made.write_text(json.dumps(wanted))
        say(f"{scale_name(scale)}: generated in {time.monotonic() - started:.0f}s")
    landing = sample / "landing"
    files = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    periods = sorted({m.group(1) for p in files if p.parts[0] not in EXTRACT_PARTNERS
                      and (m := re.search(r"(\d{4}-\d{2})", p.name))})
    last = periods[-1]
    held = [p for p in files if p.parts[0] not in EXTRACT_PARTNERS and last in p.name]
    say(f"{scale_name(scale)}: {len(files)} files, {sum((landing / p).stat().st_size for p in files) / 1e6:.0f} MB; "
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
            # a LocalExecutor worker supervises its task process (heartbeats, logs, the execution API)
            if title.startswith(("airflow supervisor:", "airflow task supervisor:", "airflow worker -- LocalExecutor")):
                return "task supervisor"
            if title.startswith("airflow serve-logs"):
                return "serve-logs"
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
class Platform(NightDriver):
    """One executor's platform under ``root``: its own embedded PostgreSQL, state folder and `worklink serve`."""

    def __init__(self, root: Path, landing: Path, executor: str):
        self.root, self.executor, self.landing = root, executor, landing
        self.state = root / "state"
        self.serve_log = root / "serve.log"
        self.say = say
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
        self.serve = subprocess.Popen([WORKLINK, "serve"], env=self.env, stdout=self.serve_log.open("a"),
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

    def measure(self, run_id: str, timeout: float) -> dict:
        """Wait for the run to end; its wall time, tasks (start offset and duration), rows and files
        read (the file manifest of the run) and the warehouse's size. A run still going after
        ``timeout`` seconds is measured as it stands (state ``unfinished``: wall time so far, running
        tasks up to now), so a scale too large for the time at hand still says how far it got."""
        try:
            state = self.finished(run_id, timeout, every=5.0)
        except TimeoutError:
            state = "unfinished"
            say(f"  run {run_id} not finished after {timeout:.0f}s: measuring it as it stands")
        now = datetime.now(UTC)
        start, end = self.run_times(run_id)
        end = end or now
        tasks = {t: {"state": row.state, "tries": row.try_number,
                     "starts_at_s": (row.start_date - start).total_seconds() if row.start_date else 0.0,
                     "seconds": ((row.end_date or now) - row.start_date).total_seconds() if row.start_date else 0.0}
                 for t, row in sorted(self.tasks(run_id).items(),
                                      key=lambda kv: (kv[1].start_date is None, kv[1].start_date or start))}
        rows = self.query("select coalesce(sum(rows_in), 0), count(*) from ingest.file_manifest"
                          " where ingest_run = %s and status <> 'duplicate'", (run_id,), airflow=False)[0]
        size = self.query("select pg_database_size(current_database())", airflow=False)[0][0]
        return {"run_id": run_id, "state": state, "wall_s": (end - start).total_seconds(), "tasks": tasks,
                "rows_read": int(rows[0]), "files": int(rows[1]), "database_bytes": int(size)}


def run_executor(workdir: Path, scale: float, executor: str, year: Path, held: list[Path], timeout: float,
                 nights: tuple[str, ...] = NIGHTS) -> dict:
    root = workdir / scale_name(scale) / executor
    if root.exists():
        subprocess.run([WORKLINK, "db", "stop"], env={**os.environ, "WORKLINK_STATE_DIR": str(root / "state")},
                       capture_output=True)
        shutil.rmtree(root)
    landing = root / "landing"
    everything = sorted(p.relative_to(year) for p in year.rglob("*") if p.is_file())
    land(year, landing, [p for p in everything if p not in set(held)])
    platform = Platform(root, landing, executor)
    root.mkdir(parents=True, exist_ok=True)
    name = f"{scale_name(scale)} {executor}"
    result: dict = {"scale": scale, "executor": executor, "load_start": loadavg()}
    say(f"{name}: starting the platform in {root}")
    platform.start()
    sampler = Sampler(platform.roots, platform.airflow_url)
    sampler.start()
    try:
        run_id = platform.night(timeout=600)
        sampler.reset()  # platform start-up is not the night
        say(f"{name}: full night {run_id} running")
        result["full"] = {"load_start": loadavg()} | platform.measure(run_id, timeout)
        result["full"] |= memory_and_cpu(sampler) | {"load_end": loadavg()}
        say(f"{name}: full night {result['full']['state']} in {result['full']['wall_s']:.0f}s")
        if "incremental" in nights and result["full"]["state"] != "unfinished":
            land(year, landing, held)
            sampler.reset()
            platform.trigger("incremental")
            say(f"{name}: incremental night running")
            result["incremental"] = {"load_start": loadavg()} | platform.measure("incremental", timeout)
            result["incremental"] |= memory_and_cpu(sampler) | {"load_end": loadavg()}
            say(f"{name}: incremental night {result['incremental']['state']} in "
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
#: process kinds that are Airflow itself rather than the night's work
AIRFLOW_KINDS = ("scheduler", "dag-processor", "triggerer", "api-server", "task supervisor", "celery worker",
                 "serve-logs")
#: the night's serial stages after the ingests: (stage, task id, process kind of its CPU)
SERIAL_STAGES = (("linkage", "link_participants", "task: linkage"), ("dbt", "dbt_build.nightly", "task: dbt"),
                 ("freshness", "dbt_build.source_freshness", None))


def stages(night: dict) -> dict[str, float]:
    tasks = night["tasks"]
    out = {t.removesuffix(".ingest") + " ingest": v["seconds"] for t, v in tasks.items() if t.endswith(".ingest")}
    for name, task, _ in SERIAL_STAGES:
        if task in tasks:
            out[name] = tasks[task]["seconds"]
    return out


def phases(night: dict) -> dict[str, float]:
    """The night's wall time cut where its stages hand over (they run one after another): run start to
    the first task, the ingest phase (partners' ingests and alerts), each serial stage, the waits
    between them (the scheduler noticing an end and starting the next task's process) and the tail
    (retention, the verdict). The parts add up to the run's wall time."""
    tasks, wall = night["tasks"], night["wall_s"]
    started = [v for v in tasks.values() if v["seconds"] or v["starts_at_s"]]
    out: dict[str, float] = {}
    if not started:
        return {"whole night": wall}
    first = min(v["starts_at_s"] for v in started)
    out["run start -> first task"] = first
    partner = [v for t, v in tasks.items() if t.endswith((".ingest", ".alert")) and v in started]
    cursor = max((v["starts_at_s"] + v["seconds"] for v in partner), default=first)
    out["ingest phase (ingests, alerts)"] = cursor - first
    for name, task, _ in SERIAL_STAGES:
        if task in tasks and tasks[task] in started:
            begin = tasks[task]["starts_at_s"]
            out[f"wait before {name}"] = max(0.0, begin - cursor)
            out[name] = tasks[task]["seconds"]
            cursor = max(cursor, begin + tasks[task]["seconds"])
    out["tail (retention, verdict)"] = max(0.0, wall - cursor)
    return out


def analysis(night: dict, target: float | None, cores: int) -> list[str]:
    """Which stage takes the time, and the CPU floors: what no scheduling could go below on ``cores``."""
    cpu, wall = night["cpu_s"], night["wall_s"]
    total = sum(cpu.values())
    own = sum(cpu.get(k, 0.0) for k in AIRFLOW_KINDS)
    lines = ["   phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in phases(night).items())]
    waits = sum(v for k, v in phases(night).items() if k.startswith(("wait", "run start")))
    lines.append(f"   scheduling between stages (run start to first task, waits): {waits:.1f}s of {wall:.0f}s")
    # a serial stage is one task process (one core at a time) beside PostgreSQL: its CPU on one core
    serial = {name: cpu.get(kind, 0.0) for name, _, kind in SERIAL_STAGES if kind}
    ingest_cpu = cpu.get("task: ingest", 0.0) + cpu.get("task: other", 0.0)
    path_floor = ingest_cpu / cores + sum(serial.values())
    lines.append(f"   CPU floor: all processes {total:.0f} CPU s / {cores} cores = {total / cores:.0f}s; "
                 f"Airflow's own processes ({', '.join(k for k in AIRFLOW_KINDS if k in cpu)}) {own:.0f} CPU s = "
                 f"{own / cores:.0f}s of it; PostgreSQL {cpu.get('postgres', 0.0):.0f} CPU s")
    lines.append(f"   critical-path floor (task CPU only): ingest and other tasks {ingest_cpu:.0f} CPU s / {cores} cores"
                 + "".join(f" + {n} {c:.0f} s (one process, one core)" for n, c in serial.items())
                 + f" = {path_floor:.0f}s")
    if target is not None:
        if wall <= target:
            lines.append(f"   target {target:.0f}s: met ({wall:.0f}s)")
        else:
            over = sorted(((k, v) for k, v in phases(night).items()), key=lambda kv: -kv[1])
            lines.append(f"   target {target:.0f}s: MISSED by {wall - target:.0f}s; the stages, longest first: "
                         + ", ".join(f"{k} {v:.0f}s ({v / wall:.0%})" for k, v in over[:5]))
            for k, v in over:
                if v > target:
                    lines.append(f"   MISS: {k} alone ({v:.0f}s) is over the whole night's target ({target:.0f}s)")
            verdict = ("the CPU floor is over the target: not reachable on this machine by scheduling alone, "
                       "only by less work" if total / cores > target else
                       "the CPU floor is under the target: the rest is waiting (load, scheduling, I/O)")
            lines.append(f"   why: {verdict}")
    return lines


def gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def scale_name(scale: float) -> str:
    return f"x{scale:g}"


def report(results: list[dict], cores: int = CORES) -> None:
    for r in results:
        for night in NIGHTS:
            n = r.get(night)
            if not n:
                continue
            cpu = n["cpu_s"]
            target = TARGETS.get(r["scale"], {}).get(night)
            met = "" if target is None else f" (target {target}s: {'met' if n['wall_s'] <= target else 'MISSED'})"
            print(f"\n== {scale_name(r['scale'])} {r['executor']} {night} night: {n['state']}, wall {n['wall_s']:.1f}s"
                  f"{met}; {n['rows_read']:,} rows in {n['files']} files; database {n['database_bytes'] / 1e9:.2f} GB; "
                  f"load {n.get('load_start', r['load_start'])} -> {n.get('load_end', r['load_end'])}")
            print("   stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages(n).items()))
            retried = [t for t, v in n["tasks"].items() if v["tries"] > 1]
            if retried:
                print(f"   retried: {', '.join(retried)}")
            failed = [t for t, v in n["tasks"].items() if v["state"] not in ("success", "skipped")]
            if failed:
                states = ", ".join(f"{t} ({n['tasks'][t]['state']})" for t in failed)
                print(f"   not successful: {states}")
            total_cpu = sum(cpu.values())
            print(f"   CPU s: total {total_cpu:.0f}: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])))
            for line in analysis(n, target, cores):
                print(line)
            print("   peak RSS GiB (largest process / all of the kind): "
                  + ", ".join(f"{k} {gib(v)}/{gib(n['peak_rss_sum'][k])}"
                              for k, v in sorted(n["peak_rss_one"].items(), key=lambda kv: -kv[1]))
                  + f"; total {gib(n['peak_rss_total'])} (target {PEAK_MEMORY_TARGET_GIB} GiB: "
                  + f"{'met' if n['peak_rss_total'] <= PEAK_MEMORY_TARGET_GIB * 2**30 else 'MISSED'})")
    by = {(r["scale"], r["executor"]): r for r in results}
    for (scale, executor), big in sorted(by.items()):
        one = by.get((1, executor))
        if scale == 1 or not one:
            continue
        for night in NIGHTS:
            if one.get(night) and big.get(night):
                time_ratio = big[night]["wall_s"] / one[night]["wall_s"]
                rows_ratio = big[night]["rows_read"] / max(1, one[night]["rows_read"])
                cpu_ratio = sum(big[night]["cpu_s"].values()) / max(1.0, sum(one[night]["cpu_s"].values()))
                unfinished = " (the larger night UNFINISHED: ratios so far)" if big[night]["state"] == "unfinished" else ""
                verdict = "" if unfinished else (
                    f" (wall: {'no worse than linear' if time_ratio <= rows_ratio else 'WORSE than linear'}; "
                    f"CPU: {'no worse than linear' if cpu_ratio <= rows_ratio else 'WORSE than linear'})")
                print(f"\n{executor} {night} night, {scale_name(scale)}/x1{unfinished}: wall {time_ratio:.2f}x, "
                      f"CPU {cpu_ratio:.2f}x for {rows_ratio:.2f}x the rows{verdict}")
                # stage by stage, for the stages both nights finished (rows of the scale's whole year)
                year_ratio = scale / 1
                done = {t for t, v in big[night]["tasks"].items() if v["state"] == "success"}
                parts = []
                for stage, seconds in stages(big[night]).items():
                    task = next((t for n, t, _ in SERIAL_STAGES if n == stage), stage.replace(" ingest", ".ingest"))
                    small = stages(one[night]).get(stage)
                    if task in done and small:
                        parts.append(f"{stage} {seconds / small:.2f}x")
                print(f"   stages {scale_name(scale)}/x1 (year {year_ratio:g}x the people): " + (", ".join(parts) or "none"))


def parse_scales(text: str) -> list[float]:
    """``1,10`` or ``0.5,3``: positive multiples of GM scale."""
    try:
        scales = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scales takes numbers separated by commas, e.g. 1,10 (got {text!r})") from None
    if not scales or any(s <= 0 for s in scales):
        raise argparse.ArgumentTypeError(f"--scales takes positive multiples of GM scale (got {text!r})")
    return scales


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Each platform runs from its own folder under --workdir; delete it after.")
    parser.add_argument("--scales", type=parse_scales, default=[1.0, 10.0],
                        help="multiples of GM scale (20,000 participants), e.g. 1,10 or 1,3 or 0.5 (default: 1,10)")
    parser.add_argument("--executors", default="local,celery", help="local, celery or both (comma-separated)")
    parser.add_argument("--nights", default=",".join(NIGHTS),
                        help="full, incremental or both (comma-separated; default: both)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/worklink-nightly-bench"),
                        help="generated years and platforms (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--reuse", action="store_true", help="reuse a year already generated in --workdir")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="longest wait for one night (s)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--report-only", action="store_true", help="print the report of --json's results and stop")
    args = parser.parse_args(argv)
    if args.report_only:
        if not args.json or not args.json.exists():
            parser.error("--report-only reads the results of an earlier run: give its --json file")
        report(json.loads(args.json.read_text()))
        return 0
    executors = [e.strip() for e in args.executors.split(",") if e.strip()]
    if not set(executors) <= {"local", "celery"}:
        parser.error("--executors takes local and/or celery")
    nights = tuple(n.strip() for n in args.nights.split(",") if n.strip())
    if "full" not in nights or not set(nights) <= set(NIGHTS):
        parser.error("--nights takes full, or full,incremental (the incremental night follows a full one)")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    results = []
    for scale in args.scales:
        year, held = make_year(args.workdir, scale, args.seed, args.reuse)
        for executor in executors:
            results.append(run_executor(args.workdir, scale, executor, year, held, args.timeout, nights))
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
            report(results[-1:])
    print("\n==== all results")
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
