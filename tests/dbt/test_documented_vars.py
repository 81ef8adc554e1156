"""Every documented way to change a definition works: each `worklink dbt build --vars '...'` example
in the README, docs/ and dbt_project.yml exits 0 (unit tests included: they pin the vars they test)
and changes the marts the way the variable says.

The examples run on a copy of the shared warehouse (CREATE DATABASE ... TEMPLATE), so the other
tests keep reading the marts built at the defaults.
"""

from __future__ import annotations

import re
import subprocess

import psycopg
import pytest
import yaml
from dbt_warehouse_helpers import REPO_ROOT, WORKLINK
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.e2e

DOCUMENTED_IN = [
    "README.md", "docs/evaluation.md", "docs/warehouse.md", "docs/synthetic-data.md", "dbt_project/dbt_project.yml",
]
EXAMPLE = re.compile(r"worklink dbt build --vars '(\{[^']*\})'")

# variable -> (query giving one number, how it must move against the default build)
PROBES = {
    "rereferral_window_days": ("select count(*) from analytics.episodes", "window_shorter_more_episodes"),
    "job_start_min_hours_per_week": ("select count(*) from analytics.job_outcomes where is_job_start",
                                     "threshold_higher_fewer"),
    "sdc_small_count_max": ("select count(*) from published.funnel_by_cohort_month where is_suppressed",
                            "threshold_higher_more"),
    # sustained claims decided on HMRC's in-work evidence (the earnings rule gives hmrc_earnings_* reasons)
    "sustained_claim_rule": ("select count(*) from analytics.payment_by_results_claims"
                             " where outcome_type <> 'job_start' and verification_reason like 'hmrc_shows_job%'",
                             "changes"),
}


def documented_examples() -> list[tuple[str, dict]]:
    examples = []
    for name in DOCUMENTED_IN:
        path = REPO_ROOT / name
        for text in EXAMPLE.findall(path.read_text(encoding="utf-8")):
            examples.append((name, yaml.safe_load(text)))
    return examples


def test_every_documented_example_is_found_and_probed():
    examples = documented_examples()
    assert {name for name, _ in examples} >= {"README.md", "docs/evaluation.md", "dbt_project/dbt_project.yml"}
    defaults = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]
    for name, variables in examples:
        for var, value in variables.items():
            assert var in defaults, f"{name}: {var} is not a variable of the project"
            assert value != defaults[var], f"{name}: --vars {var}: {value} is the default and changes nothing"
            assert var in PROBES, f"{name}: add a probe for {var} to this test"


@pytest.fixture(scope="module")
def warehouse_copy(warehouse, server_admin_url, tmp_path_factory):
    """A copy of the built warehouse, for builds with other definitions."""
    source = make_url(warehouse.url).database
    name = f"{source}_vars"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}" template "{source}"')
    url = make_url(warehouse.url).set(database=name).render_as_string(hide_password=False)
    workdir = tmp_path_factory.mktemp("vars")
    env = {**warehouse.env, "WORKLINK_DATABASE_URL": url, "DBT_TARGET_PATH": str(workdir / "target"),
           "DBT_LOG_PATH": str(workdir / "logs")}
    yield url, env
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _probe(url: str, query: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchone()[0]


def test_documented_vars_examples_build_and_change_the_marts(warehouse, warehouse_copy):
    url, env = warehouse_copy
    examples = documented_examples()
    before = {var: _probe(warehouse.url, PROBES[var][0]) for _, variables in examples for var in variables}
    # The same example shown in several documents is built once (each build takes most of a minute).
    distinct: dict[str, tuple[str, dict]] = {}
    for name, variables in examples:
        key = yaml.safe_dump(variables, default_flow_style=True, sort_keys=True).strip()
        shown_in = distinct[key][0] + ", " + name if key in distinct else name
        distinct[key] = (shown_in, variables)
    for name, variables in distinct.values():
        command = [WORKLINK, "dbt", "build", "--vars", yaml.safe_dump(variables, default_flow_style=True).strip()]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, cwd=REPO_ROOT)
        assert proc.returncode == 0, f"{name}: {' '.join(command[1:])} exit {proc.returncode}\n{proc.stdout[-5000:]}"
        assert "SKIP=0" in proc.stdout, f"{name}: some nodes were skipped\n{proc.stdout[-3000:]}"
        for var, value in variables.items():
            query, direction = PROBES[var]
            after = _probe(url, query)
            default = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"][var]
            if direction == "window_shorter_more_episodes":
                assert (after > before[var]) if value < default else (after < before[var]), (name, var, before, after)
            elif direction == "threshold_higher_fewer":
                assert (after < before[var]) if value > default else (after > before[var]), (name, var, before, after)
            elif direction == "threshold_higher_more":
                assert (after > before[var]) if value > default else (after < before[var]), (name, var, before, after)
            else:
                assert after != before[var], (name, var, before, after)
