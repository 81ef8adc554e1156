"""The nightly dbt build in one process: only what the night's new data or changed code affects.

    python -m worklink.orchestration.nightly_dbt [--work-dir DIR] [--full]

The nightly DAG's dbt step (worklink_nightly: dbt_build.nightly) and the benchmark's incremental run.

One Python process and one parsed manifest (dbt's programmatic API):

  1. `dbt parse` (partial parsing: only changed files are read again; no JSON written);
  2. the latest load time of every source that declares a `loaded_at_field` (the raw feed tables,
     the ingest manifest), read in one query; a source whose latest load differs from the previous
     successful nightly's received rows since then. Sources without one (the linkage tables, which
     the linkage step rewrites every night) always count as changed;
  3. `dbt build --select "<changed sources>+ state:modified+" --state <work-dir>/previous`, minus unit
     tests (they test code, not data: CI and full builds run them) and minus views whose code has
     not changed (a view already shows the new rows; its data tests still run, on them). With no
     previous nightly (or --full), everything is built;
  4. on success, the run's manifest.json and the load times become <work-dir>/previous.

Why not `dbt source freshness` and `source_status:fresher+`: it checks each source as a dbt node of
its own (about 1 s here for 12 sources, every night, before the build can start), for an answer
one query gives. Lateness is still checked by dbt: the DAG's dbt_build.source_freshness task runs
`dbt source freshness` after the build (see `check_source_freshness`), off the build's path.

An incremental model whose SQL changed since the previous nightly would keep rows made by the old
code, so then the build runs with --full-refresh (the selected incremental models are rebuilt in
full; the other models are tables or views, rebuilt in full anyway).
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

STATE_FILES = ("manifest.json", "source_loads.json")
# a view whose code has not changed already shows the new rows (its data tests still run: with
# indirect selection "empty", excluding a node does not exclude the tests selected with it)
NIGHTLY_EXCLUDE = "test_type:unit config.materialized:view,state:unmodified"


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

    from worklink.settings import load_settings

    with psycopg.connect(_warehouse_conninfo()) as conn:
        name, oid = conn.execute(
            "select datname, oid from pg_database where datname = current_database()").fetchone()
    return load_settings().state_dir / "dbt_nightly" / f"{name}-{oid}"


def source_loads(sources, conninfo: str) -> dict[str, str | None]:
    """{source unique_id: latest value of its loaded_at_field, as text} in one query.

    `sources` are the manifest's source nodes as dicts (manifest.json's "sources" values). Sources
    without a loaded_at_field are left out (they count as changed every night); a table that does
    not exist yet reads as None.
    """
    import psycopg
    from psycopg import sql

    declared = {}  # unique_id -> (schema, table, loaded_at_field)
    for source in sources:
        field_name = source.get("config", {}).get("loaded_at_field") or source.get("loaded_at_field")
        if field_name:
            declared[source["unique_id"]] = (source["schema"], source["identifier"], field_name)
    if not declared:
        return {}
    with psycopg.connect(conninfo) as conn:
        names = {uid: sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
                 for uid, (schema, table, _) in declared.items()}
        existing = {row[0] for row in conn.execute(
            "select uid from unnest(%s::text[], %s::text[]) as t(uid, rel) where to_regclass(rel) is not null",
            [list(names), [name.as_string(conn) for name in names.values()]]).fetchall()}
        parts = [sql.SQL("select {}::text, max({})::text from {}").format(
                     sql.Literal(uid), sql.Identifier(declared[uid][2]), names[uid])
                 for uid in declared if uid in existing]
        loads = dict(conn.execute(sql.SQL(" union all ").join(parts)).fetchall()) if parts else {}
    return {uid: loads.get(uid) for uid in declared}


def changed_sources(sources, loads: dict[str, str | None], previous: dict[str, str | None]) -> list[str]:
    """Selectors (`source:<source>.<table>`) of the sources that may hold rows the previous night
    did not see: a latest load time that differs from the previous one (rows added, or removed),
    or no loaded_at_field to tell by."""
    changed = []
    for s in sources:
        uid = s["unique_id"]
        if uid not in loads or uid not in previous or loads[uid] != previous[uid]:
            changed.append(f"source:{s['source_name']}.{s['name']}")
    return sorted(changed)


def check_source_freshness(project_dir: Path, work_dir: Path, log=print) -> dict[str, str]:
    """`dbt source freshness` on its own (the DAG's dbt_build.source_freshness task): each source's
    status (pass, warn, error, runtime error). Late feeds are logged, not raised: the partner alerts
    and the data-quality scorecard report lateness, and the build has already used what arrived."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["source", "freshness", "--project-dir", str(project_dir),
                                 "--profiles-dir", str(project_dir), "--target-path", str(work_dir / "freshness")])
    if result.result is None:
        raise RuntimeError("dbt source freshness failed to run") from result.exception
    statuses = {r.node.unique_id: str(r.status) for r in result.result.results}
    late = {uid: status for uid, status in statuses.items() if status != "pass"}
    log(f"dbt source freshness: {len(statuses) - len(late)} on time"
        + (f"; late or failing: {', '.join(f'{uid} ({status})' for uid, status in sorted(late.items()))}" if late else ""))
    return statuses


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
    """The night's selection in one process; see the module docstring."""
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

    # partners, grants and code lists come from contracts/: a partner added since the last night is in
    # tonight's seeds (an unchanged file is not touched, so state comparison sees no change)
    from worklink.seeds import write_generated

    for path in write_generated(project_dir=project_dir):
        log(f"regenerated {path.relative_to(project_dir)} from contracts/")
    # the manifest is written once, by the build (the state for the next night is copied from it)
    (target / "manifest.json").unlink(missing_ok=True)
    parsed = timed("parse", dbtRunner(), ["parse", "--quiet", "--no-write-json"])
    sources = [source.to_dict() for source in parsed.result.sources.values()]
    began = time.monotonic()
    loads = source_loads(sources, _warehouse_conninfo())
    seconds["source_loads"] = time.monotonic() - began

    incremental = not full and all((previous / name).exists() for name in STATE_FILES)
    args = ["build"]
    if incremental:
        changed = changed_sources(sources, loads, json.loads((previous / "source_loads.json").read_text()))
        log(f"sources with rows since the previous nightly (or always rebuilt): {', '.join(changed) or 'none'}")
        args += ["--select", " ".join([f"{selector}+" for selector in changed] + ["state:modified+"]),
                 "--exclude", NIGHTLY_EXCLUDE, "--indirect-selection", "empty", "--state", str(previous)]
        modified = _modified_incremental_models(parsed.result, previous)
        if modified:
            log(f"incremental models changed since the previous nightly, rebuilt in full: {', '.join(modified)}")
            args.append("--full-refresh")
    build = timed("build", dbtRunner(manifest=parsed.result), args)
    seconds["total"] = time.monotonic() - started
    nodes = len(build.result.results) if build.result is not None else 0
    if build.success:
        if not (target / "manifest.json").exists():
            raise RuntimeError(f"dbt build wrote no {target / 'manifest.json'}: no state for the next night")
        save_state(work_dir, target / "manifest.json", loads)
    return NightlyResult(success=build.success, mode="incremental" if incremental else "full",
                         seconds={k: round(v, 2) for k, v in seconds.items()}, nodes=nodes)


def save_state(work_dir: Path, manifest: Path, loads: dict[str, str | None]) -> None:
    """Make `manifest` and the source load times the previous night's state, all or nothing."""
    staging = work_dir / "previous.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy2(manifest, staging / "manifest.json")
    (staging / "source_loads.json").write_text(json.dumps(loads, indent=1, sort_keys=True))
    shutil.rmtree(work_dir / "previous", ignore_errors=True)
    staging.rename(work_dir / "previous")


def _warehouse_conninfo() -> str:
    """The database dbt builds in: the profile's variables (dbt_project/profiles.yml) when set."""
    from worklink.settings import load_settings

    settings = load_settings()
    profile = settings.dbt_profile
    if profile is not None:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(host=profile.host, port=profile.port, user=profile.user,
                             password=profile.password, dbname=profile.dbname)
    from worklink.platform.database import libpq_url, warehouse_url

    return libpq_url(warehouse_url(settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=Path, help="holds target/ and previous/ between nights "
                        "(default: <state dir>/dbt_nightly/<database>-<oid>)")
    parser.add_argument("--project-dir", type=Path, help="default: the configured dbt project")
    parser.add_argument("--full", action="store_true", help="build everything (the previous state is ignored)")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    from worklink.settings import load_settings

    if load_settings().dbt_profile is None:
        # the profile's connection variables, as `worklink dbt` sets them (the DAG's tasks have them)
        from worklink.platform.database import runtime_env

        for key, value in runtime_env().items():
            os.environ.setdefault(key, value)
    if args.project_dir is None:
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
