"""Every column evaluators can read is documented, in dbt and in the database.

(a) From the parsed project (manifest): every column of every model in `analytics` (marts),
    `restricted` and `published` has a non-empty description, and those models declare an enforced
    contract, so a yml column that is not in the model (a stale name) fails the build itself.
(b) On the built warehouse: every column of every table in those schemas carries a comment
    (`persist_docs`), and the tables' columns are exactly the columns their yml describes.

Shared meanings are written once as docs blocks (`col_*` in models/marts/_marts__columns.md and
models/published/_published__columns.md); see docs/warehouse.md, "Column documentation".
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DOCUMENTED_SCHEMAS = ("analytics", "restricted", "published")


@pytest.fixture(scope="module")
def manifest(warehouse) -> dict:
    """The manifest of the shared warehouse's build (parsed from scratch in its own target folder)."""
    return json.loads((Path(warehouse.env["DBT_TARGET_PATH"]) / "manifest.json").read_text())


def documented_models(manifest: dict) -> list[dict]:
    return [node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["schema"] in DOCUMENTED_SCHEMAS]


def undocumented_columns(manifest: dict) -> list[str]:
    return sorted(f"{node['name']}.{column['name']}" for node in documented_models(manifest)
                  for column in node["columns"].values() if not (column.get("description") or "").strip())


def test_every_evaluator_column_has_a_description(manifest):
    models = documented_models(manifest)
    assert len(models) >= 30
    assert sum(len(node["columns"]) for node in models) >= 700
    assert undocumented_columns(manifest) == []
    # docs blocks are rendered into the description, never left as Jinja
    assert [f"{n['name']}.{c['name']}" for n in models for c in n["columns"].values()
            if "{{" in c["description"] or "{%" in c["description"]] == []
    assert [n["name"] for n in models if not n["description"].strip()] == []


def test_a_removed_description_is_caught(manifest):
    """Negative control: the check itself sees a column whose description is gone."""
    broken = copy.deepcopy(manifest)
    node = next(n for n in documented_models(broken) if n["name"] == "outcomes_by_service_variant")
    node["columns"]["job_start_rate_difference_ci_lower"]["description"] = ""
    assert undocumented_columns(broken) == ["outcomes_by_service_variant.job_start_rate_difference_ci_lower"]


def test_documented_models_have_enforced_contracts(manifest):
    """With an enforced contract dbt refuses to build a model whose yml names a column it lacks."""
    assert [n["name"] for n in documented_models(manifest) if not n["config"]["contract"]["enforced"]] == []


def test_every_table_column_has_a_comment_in_the_database(warehouse):
    """persist_docs: psql's \\d+ and any SQL client show the same descriptions as dbt docs."""
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select n.nspname, c.relname, a.attname, col_description(c.oid, a.attnum), obj_description(c.oid)"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped"
            " where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p')",
            (list(DOCUMENTED_SCHEMAS),)).fetchall()
    assert len(rows) >= 700
    assert sorted({f"{s}.{t}.{c}" for s, t, c, comment, _ in rows if not (comment or "").strip()}) == []
    assert sorted({f"{s}.{t}" for s, t, _, _, table_comment in rows if not (table_comment or "").strip()}) == []


def test_database_columns_are_exactly_the_documented_ones(warehouse, manifest):
    documented = {(n["schema"], n["alias"]): set(n["columns"]) for n in documented_models(manifest)}
    with warehouse.connect() as conn:
        actual: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in conn.execute(
                "select table_schema, table_name, column_name from information_schema.columns"
                " where table_schema = any(%s)", (list(DOCUMENTED_SCHEMAS),)).fetchall():
            actual.setdefault((schema, table), set()).add(column)
    assert sorted(actual) == sorted(documented)
    assert {k: sorted(v ^ documented[k]) for k, v in actual.items() if v != documented[k]} == {}
