"""What the nightly dbt build selects: sources whose latest load changed since the previous night.

worklink.orchestration.nightly_dbt reads every source's latest `loaded_at_field` in one query and
compares it with the previous successful night's; tests/dbt/test_incremental_builds.py checks the
whole nightly against a full refresh. These check the two pieces on their own, on the real server.
"""

from __future__ import annotations

import os

from worklink.orchestration.nightly_dbt import changed_sources, source_loads


def source(name: str, table: str, schema: str, loaded_at: str | None) -> dict:
    return {"unique_id": f"source.worklink.{name}.{table}", "source_name": name, "name": table,
            "schema": schema, "identifier": table, "config": {"loaded_at_field": loaded_at}}


def test_source_loads_reads_the_latest_load_of_each_declared_source(db):
    db.execute("drop schema if exists nightly_sel cascade; create schema nightly_sel")
    db.execute("create table nightly_sel.feed_a (_loaded_at timestamptz)")
    db.execute("insert into nightly_sel.feed_a values ('2026-01-01 02:00+00'), ('2026-02-01 02:00+00')")
    db.execute("create table nightly_sel.feed_empty (_loaded_at timestamptz)")
    sources = [source("partner", "feed_a", "nightly_sel", "_loaded_at"),
               source("partner", "feed_empty", "nightly_sel", "_loaded_at"),
               source("partner", "feed_not_created_yet", "nightly_sel", "_loaded_at"),
               source("linkage", "xref", "nightly_sel", None)]
    loads = source_loads(sources, os.environ["WORKLINK_DATABASE_URL"])
    assert loads == {"source.worklink.partner.feed_a": "2026-02-01 02:00:00+00",
                     "source.worklink.partner.feed_empty": None,
                     "source.worklink.partner.feed_not_created_yet": None}
    db.execute("drop schema nightly_sel cascade")


def test_changed_sources_are_new_loads_removed_rows_new_sources_and_undeclared_ones():
    sources = [source("vcse", "same", "raw", "_loaded_at"), source("vcse", "newer", "raw", "_loaded_at"),
               source("vcse", "emptied", "raw", "_loaded_at"), source("vcse", "new_source", "raw", "_loaded_at"),
               source("linkage", "xref", "linkage", None)]
    previous = {"source.worklink.vcse.same": "t1", "source.worklink.vcse.newer": "t1",
                "source.worklink.vcse.emptied": "t1"}
    loads = {"source.worklink.vcse.same": "t1", "source.worklink.vcse.newer": "t2",
             "source.worklink.vcse.emptied": None, "source.worklink.vcse.new_source": "t1"}
    assert changed_sources(sources, loads, previous) == [
        "source:linkage.xref", "source:vcse.emptied", "source:vcse.new_source", "source:vcse.newer"]
    assert changed_sources(sources[:1], loads, previous) == []
