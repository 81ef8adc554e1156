"""Build one real warehouse for the dbt, warehouse and report tests, once per test session.

generate (programme year, seed 7) -> `worklink ingest` -> linkage fixture from truth (test-only
stand-in for the linkage step) -> `worklink dbt build`, all against a database of its own on the
real PostgreSQL server, so other tests loading into the session database cannot disturb the counts.
The build is cached in this module, so tests/dbt, tests/warehouse and tests/report share it
(each conftest puts this folder on sys.path and asks for `built_warehouse`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from dbt_linkage_fixture import build_linkage_fixture  # noqa: E402

SEED = 7
PARTICIPANTS = 800
WORKLINK = str(Path(sys.executable).with_name("worklink"))


@dataclass
class Warehouse:
    url: str
    sample: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def truth(self) -> dict:
        return json.loads((self.sample / "_truth" / "counts.json").read_text())

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def dbt(self, *args: str, check: bool = True, timeout: int = 600,
            target: str | None = None) -> subprocess.CompletedProcess:
        """Run `worklink dbt ...` against this warehouse (own target/log paths: never the repo's).

        target: a separate target folder, e.g. for runs with other --vars, which would otherwise
        invalidate the partial-parse cache of the main one.
        """
        env = {**self.env, "DBT_TARGET_PATH": f"{self.env['DBT_TARGET_PATH']}_{target}"} if target else self.env
        proc = subprocess.run([WORKLINK, "dbt", *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"worklink dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
        return proc


_CACHE: dict[str, Warehouse] = {}


def built_warehouse(server_admin_url: str, workdir: Path, state_dir: str | None = None) -> Warehouse:
    """The session's warehouse, built on first use."""
    if "warehouse" in _CACHE:
        return _CACHE["warehouse"]
    from worklink.synth import generate

    name = f"worklink_test_dbt_{os.getpid()}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    url = make_url(server_admin_url).set(database=name).render_as_string(hide_password=False)
    sample = workdir / "sample"
    env = {
        **os.environ,
        "WORKLINK_DATABASE_URL": url,
        "WORKLINK_STATE_DIR": state_dir or os.environ.get("WORKLINK_STATE_DIR", str(workdir / "state")),
        "WORKLINK_LANDING_DIR": str(sample / "landing"),
        "DBT_TARGET_PATH": str(workdir / "dbt_target"),
        "DBT_LOG_PATH": str(workdir / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    warehouse = Warehouse(url=url, sample=sample, env=env)
    started = time.monotonic()
    generate(sample, seed=SEED, participants=PARTICIPANTS, defect_rate=0.0)
    warehouse.timings["generate"] = time.monotonic() - started

    started = time.monotonic()
    proc = subprocess.run([WORKLINK, "ingest", str(sample / "landing")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    warehouse.timings["ingest"] = time.monotonic() - started

    started = time.monotonic()
    build_linkage_fixture(url, sample / "_truth")
    warehouse.timings["linkage_fixture"] = time.monotonic() - started

    started = time.monotonic()
    warehouse.dbt("build")
    warehouse.timings["dbt_build"] = time.monotonic() - started
    _CACHE["warehouse"] = warehouse
    return warehouse


def drop_built_warehouse(server_admin_url: str) -> None:
    warehouse = _CACHE.pop("warehouse", None)
    if warehouse is None:
        return
    name = make_url(warehouse.url).database
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
