"""The nightly dbt build in one process: source freshness, then only what the new data changes.

    python -m worklink.orchestration.nightly_dbt [--work-dir DIR] [--full]

The nightly DAG's dbt step (worklink_nightly: dbt_build.nightly) and the benchmark's incremental run.

One Python process and one parsed manifest for both dbt commands (dbt's programmatic API), so the
nightly pays dbt's start-up once (imports 2-3 s, project load about 1 s) instead of once per command:

  1. `dbt parse` (partial parsing: only changed files are read again; no JSON written);
  2. `dbt source freshness`: writes the sources' latest load times to <work-dir>/target/sources.json;
  3. `dbt build --selector nightly --state <work-dir>/previous` (dbt_project/selectors.yml): what
     depends on a source that received rows since the previous successful nightly, on the linkage,
     or on code changed since then. With no previous nightly (or --full), everything is built.
  4. on success, the run's manifest.json and sources.json become <work-dir>/previous.

An incremental model whose SQL changed since the previous nightly would keep rows made by the old
code, so then the build runs with --full-refresh (the selected incremental models are rebuilt in
full; the other models are tables or views, rebuilt in full anyway).
A stale source (freshness warn/error) does not stop the build: the partner alerts report lateness.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

STATE_FILES = ("manifest.json", "sources.json")


@dataclass
class NightlyResult:
    success: bool
    mode: str  # "incremental" | "full"
    seconds: dict[str, float] = field(default_factory=dict)
    nodes: int = 0


def default_work_dir() -> Path:
    """<state dir>/dbt_nightly/<database>-<its oid>: a database dropped and made again (a reset, a
    test) starts with a full build rather than trusting the state of the one it replaces."""
    import psycopg

    from worklink.platform.database import libpq_url, warehouse_url
    from worklink.settings import load_settings

    settings = load_settings()
    with psycopg.connect(libpq_url(warehouse_url(settings))) as conn:
        name, oid = conn.execute(
            "select datname, oid from pg_database where datname = current_database()").fetchone()
    return settings.state_dir / "dbt_nightly" / f"{name}-{oid}"


def _modified_incremental_models(manifest, previous: Path) -> list[str]:
    """Incremental models whose SQL file changed since the previous nightly's manifest."""
    before = json.loads((previous / "manifest.json").read_text())["nodes"]
    changed = []
    for unique_id, node in manifest.nodes.items():
        if node.resource_type != "model" or node.config.materialized != "incremental":
            continue
        old = before.get(unique_id)
        if old is None or old["checksum"]["checksum"] != node.checksum.checksum:
            changed.append(node.name)
    return changed


def run_nightly_dbt(project_dir: Path, work_dir: Path, *, full: bool = False, threads: int | None = None,
                    log=print) -> NightlyResult:
    """Freshness + the nightly selection in one process; see the module docstring."""
    started = time.monotonic()
    from dbt.cli.main import dbtRunner

    seconds = {"import": time.monotonic() - started}
    target, previous = work_dir / "target", work_dir / "previous"
    common = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target-path", str(target)]
    if threads:
        common += ["--threads", str(threads)]

    def timed(name: str, runner, args: list[str]):
        began = time.monotonic()
        result = runner.invoke([*args, *common])
        seconds[name] = time.monotonic() - began
        if result.exception is not None:
            raise RuntimeError(f"dbt {' '.join(args)} failed") from result.exception
        return result

    # the manifest is written once, by the build (the state for the next night is copied from it)
    (target / "manifest.json").unlink(missing_ok=True)
    parsed = timed("parse", dbtRunner(), ["parse", "--quiet", "--no-write-json"])
    runner = dbtRunner(manifest=parsed.result)
    freshness = timed("source_freshness", runner, ["source", "freshness"])
    if not freshness.success:
        log("dbt source freshness: some sources are late (see above); building anyway")

    incremental = not full and all((previous / name).exists() for name in STATE_FILES)
    args = ["build"]
    if incremental:
        args += ["--selector", "nightly", "--state", str(previous)]
        changed = _modified_incremental_models(parsed.result, previous)
        if changed:
            log(f"incremental models changed since the previous nightly, rebuilt in full: {', '.join(changed)}")
            args.append("--full-refresh")
    build = timed("build", runner, args)
    seconds["total"] = time.monotonic() - started
    nodes = len(build.result.results) if build.result is not None else 0
    if build.success:
        if not (target / "manifest.json").exists():
            raise RuntimeError(f"dbt build wrote no {target / 'manifest.json'}: no state for the next night")
        staging = work_dir / "previous.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in STATE_FILES:
            shutil.copy2(target / name, staging / name)
        shutil.rmtree(previous, ignore_errors=True)
        staging.rename(previous)
    return NightlyResult(success=build.success, mode="incremental" if incremental else "full",
                         seconds={k: round(v, 2) for k, v in seconds.items()}, nodes=nodes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=Path, help="holds target/ and previous/ between nights "
                        "(default: <state dir>/dbt_nightly/<database>-<oid>)")
    parser.add_argument("--project-dir", type=Path, help="default: the configured dbt project")
    parser.add_argument("--full", action="store_true", help="build everything (the previous state is ignored)")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    if "WORKLINK_DBT_HOST" not in os.environ:
        # the profile's connection variables, as `worklink dbt` sets them (the DAG's tasks have them)
        from worklink.platform.database import runtime_env

        for key, value in runtime_env().items():
            os.environ.setdefault(key, value)
    if args.project_dir is None:
        from worklink.settings import load_settings

        args.project_dir = load_settings().dbt_project_dir
    if args.work_dir is None:
        args.work_dir = default_work_dir()
    result = run_nightly_dbt(args.project_dir, args.work_dir, full=args.full, threads=args.threads,
                             log=lambda m: print(m, file=sys.stderr))
    summary = json.dumps(result.__dict__)
    if args.json:
        args.json.write_text(summary)
    print(summary)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
