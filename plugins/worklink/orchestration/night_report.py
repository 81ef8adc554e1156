"""What a night did, from the records the platform keeps: the data engineers' alert and `worklink status`.

Sources, all written by the night itself:

* the files of the run: ``ingest.file_manifest`` rows whose ``ingest_run`` is the Airflow run id;
* late and missing feeds told that night: ``ingest.delivery_alerts`` (``alerted_at`` in the run);
* linkage: ``linkage.participant_xref`` (records, participants, by method) and the review queue;
* dbt: ``run_results.json`` of the nightly build and ``sources.json`` of ``dbt source freshness``
  in the nightly's work folder (``worklink.orchestration.nightly_dbt.default_work_dir``); a file
  written before the run started belongs to an earlier night and is reported as such.
"""

from __future__ import annotations

import html
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

DAG_ID = "worklink_nightly"
#: Outcomes of a file the partner (and the engineers) must act on.
PROBLEM_STATUSES = ("rejected", "refused", "error", "needs_confirmation", "unmatched")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _older_than(stamp: datetime | None, started: datetime | None) -> bool:
    if stamp is None or started is None:
        return False
    if stamp.tzinfo is None and started.tzinfo is not None:
        stamp = stamp.replace(tzinfo=started.tzinfo)
    return stamp < started


def dbt_result(work_dir: Path, started: datetime | None = None) -> dict[str, Any] | None:
    """Counts from the nightly build's run_results.json: models built, failed and skipped, tests
    passed, failed and warned, and the failing nodes (at most 20 named). None when no build ran."""
    path = work_dir / "target" / "run_results.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    generated = _parse_time(data.get("metadata", {}).get("generated_at"))
    counts = {"models_built": 0, "models_failed": 0, "models_skipped": 0, "tests_passed": 0,
              "tests_failed": 0, "tests_warned": 0, "tests_skipped": 0}
    failing = []
    for result in data.get("results", []):
        kind = result["unique_id"].split(".", 1)[0]
        status = result.get("status")
        if kind in ("model", "seed", "snapshot"):
            key = {"success": "models_built", "error": "models_failed", "skipped": "models_skipped"}.get(status)
        elif kind in ("test", "unit_test"):
            key = {"pass": "tests_passed", "fail": "tests_failed", "error": "tests_failed",
                   "warn": "tests_warned", "skipped": "tests_skipped"}.get(status)
        else:
            key = None
        if key:
            counts[key] += 1
        if status in ("error", "fail"):
            failing.append(f"{result['unique_id']} ({status})")
    return {**counts, "failing_nodes": failing[:20], "failing_nodes_total": len(failing),
            "generated_at": generated.isoformat() if generated else None,
            "from_an_earlier_night": _older_than(generated, started), "run_results": str(path)}


def freshness_result(work_dir: Path, started: datetime | None = None) -> dict[str, Any] | None:
    """`dbt source freshness` of the night (sources.json): how many sources pass, and the others."""
    path = work_dir / "freshness" / "sources.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    generated = _parse_time(data.get("metadata", {}).get("generated_at"))
    statuses = {r["unique_id"].removeprefix("source.worklink."): r.get("status") for r in data.get("results", [])}
    return {"sources": len(statuses), "pass": sum(1 for s in statuses.values() if s == "pass"),
            "not_fresh": {uid: s for uid, s in sorted(statuses.items()) if s != "pass"},
            "generated_at": generated.isoformat() if generated else None,
            "from_an_earlier_night": _older_than(generated, started)}


def _table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s)", (name,)).fetchone()[0] is not None


def files_of_night(conn: psycopg.Connection, run_id: str) -> list[dict[str, Any]]:
    """Every file the run recorded (duplicates included), with whether its partner was alerted."""
    if not _table_exists(conn, "ingest.file_manifest"):
        return []
    alerts = "exists (select 1 from ingest.partner_alerts a where m.file_id = any (a.file_ids))" \
        if _table_exists(conn, "ingest.partner_alerts") else "false"
    rows = conn.execute(
        f"""select m.partner_id, m.feed, m.file_name, m.status, m.rows_in, m.rows_loaded, m.rows_quarantined,
                   m.received_at, m.due_at, {alerts} as alert_sent
              from ingest.file_manifest m
             where m.ingest_run = %s
             order by m.partner_id, m.feed, m.file_name""", (run_id,)).fetchall()
    keys = ("partner", "feed", "file", "status", "rows_in", "rows_loaded", "rows_quarantined", "received_at",
            "due_at", "alert_sent")
    files = [dict(zip(keys, r, strict=True)) for r in rows]
    for f in files:
        f["late"] = bool(f["due_at"] and f["received_at"] and f["received_at"] > f["due_at"])
    return files


def late_feeds_of_night(conn: psycopg.Connection, since, until) -> list[dict[str, Any]]:
    """Late or missing months told to engineers and partners during the run (each is told once)."""
    if since is None or not _table_exists(conn, "ingest.delivery_alerts"):
        return []
    rows = conn.execute(
        """select partner_id, feed, period, kind, due_at from ingest.delivery_alerts
            where alerted_at >= %s and (%s::timestamptz is null or alerted_at <= %s)
            order by partner_id, feed, period""", (since, until, until)).fetchall()
    return [dict(zip(("partner", "feed", "period", "kind", "due_at"), r, strict=True)) for r in rows]


def linkage_counts(conn: psycopg.Connection) -> dict[str, Any] | None:
    if not _table_exists(conn, "linkage.participant_xref"):
        return None
    records, participants = conn.execute(
        "select count(*), count(distinct participant_id) from linkage.participant_xref").fetchone()
    by_method = dict(conn.execute(
        "select method, count(*) from linkage.participant_xref group by 1 order by 1").fetchall())
    review = conn.execute("select count(*) from linkage.review_queue").fetchone()[0] \
        if _table_exists(conn, "linkage.review_queue") else 0
    return {"source_records": records, "participants": participants, "by_method": by_method,
            "awaiting_clerical_review": review}


def ui_base_url() -> str:
    """Where the Airflow UI is (AIRFLOW__API__BASE_URL, else the API server's host and port)."""
    from worklink.platform.database import _client_host, airflow_api_address

    base = os.environ.get("AIRFLOW__API__BASE_URL")
    if base:
        return base.rstrip("/")
    host, port = airflow_api_address()
    return f"http://{_client_host(host)}:{port}"


def log_links(run_id: str, failed_tasks: list[str]) -> dict[str, str]:
    """The run in the Airflow UI, and each failed task's log folder on disk."""
    from worklink.settings import load_settings

    logs = load_settings().airflow_home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    links = {"run": f"{ui_base_url()}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}", "logs": str(logs)}
    for task_id in failed_tasks:
        links[task_id] = str(logs / f"task_id={task_id}")
    return links


def night_facts(run_id: str, started, ended, failed_tasks: list[str], database_url: str | None = None,
                work_dir: Path | None = None) -> dict[str, Any]:
    """Everything the alert and `worklink status` say about one run beyond the task states."""
    from worklink.orchestration.nightly_dbt import default_work_dir
    from worklink.platform.database import libpq_url, warehouse_url

    with psycopg.connect(libpq_url(database_url or warehouse_url()), connect_timeout=10) as conn:
        files = files_of_night(conn, run_id)
        late = late_feeds_of_night(conn, started, ended)
        linkage = linkage_counts(conn)
    work_dir = work_dir or default_work_dir()
    return {"files": files, "problem_files": [f for f in files if f["status"] in PROBLEM_STATUSES],
            "late_feeds": late, "linkage": linkage, "dbt": dbt_result(work_dir, started),
            "freshness": freshness_result(work_dir, started), "links": log_links(run_id, failed_tasks)}


def summary_lines(facts: dict[str, Any]) -> list[str]:
    """The night's facts as plain text lines (the email and the task log)."""
    lines = []
    problems = facts["problem_files"]
    if problems:
        partners = sorted({f["partner"] for f in problems})
        lines.append(f"files rejected or held ({len(problems)}), partners: {', '.join(partners)}")
        lines += [f"  {f['partner']}/{f['feed']} {f['file']}: {f['status']}" for f in problems[:30]]
    else:
        lines.append(f"files: {len(facts['files'])} received, none rejected")
    late = facts["late_feeds"]
    lines.append(f"late or missing feeds told tonight: {len(late)}")
    lines += [f"  {f['partner']}/{f['feed']} {f['period']}: {f['kind']}" for f in late[:30]]
    if len(late) > 30:
        lines.append(f"  ... {len(late) - 30} more (`worklink status --json`)")
    dbt = facts["dbt"]
    if dbt is None or dbt["from_an_earlier_night"]:
        lines.append("dbt: no build result for this night (the build did not run)")
    else:
        lines.append(f"dbt: {dbt['models_built']} models built, {dbt['models_failed']} failed, "
                     f"{dbt['models_skipped']} skipped; tests {dbt['tests_failed']} failed, "
                     f"{dbt['tests_warned']} warned, {dbt['tests_passed']} passed")
        lines += [f"  {node}" for node in dbt["failing_nodes"]]
    fresh = facts["freshness"]
    if fresh and not fresh["from_an_earlier_night"]:
        lines.append(f"source freshness: {fresh['pass']} of {fresh['sources']} sources fresh"
                     + (f"; not fresh: {', '.join(f'{k} ({v})' for k, v in fresh['not_fresh'].items())}"
                        if fresh["not_fresh"] else ""))
    link = facts["linkage"]
    if link:
        lines.append(f"linkage: {link['source_records']} source records -> {link['participants']} participants; "
                     f"{link['awaiting_clerical_review']} pairs awaiting clerical review; by method: "
                     + ", ".join(f"{m} {n}" for m, n in link["by_method"].items()))
    else:
        lines.append("linkage: no linkage tables yet")
    lines.append(f"run in the Airflow UI: {facts['links']['run']}")
    lines.append(f"task logs: {facts['links']['logs']}")
    return lines


def summary_html(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"
