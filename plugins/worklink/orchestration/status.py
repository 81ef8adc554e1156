"""`worklink status`: what the last night did, read from Airflow's metadata and the warehouse.

Everything comes from records the platform already keeps (``dag_run``/``task_instance``/``xcom``
in Airflow's database; ``ingest.file_manifest``, ``ingest.partner_alerts`` and
``linkage.participant_xref`` in the warehouse), so the command works whether the night ran under
the scheduler or through ``worklink nightly``.
"""

from __future__ import annotations

from typing import Any

import psycopg

from worklink.platform.database import airflow_metadata_url, libpq_url, warehouse_url

DAG_ID = "worklink_nightly"
FAILED = ("failed", "upstream_failed")


def _last_run(conn: psycopg.Connection) -> dict[str, Any] | None:
    row = conn.execute(
        "select id, run_id, state, start_date, end_date from dag_run where dag_id = %s order by id desc limit 1",
        (DAG_ID,)).fetchone()
    if row is None:
        return None
    run = dict(zip(("id", "run_id", "state", "started", "ended"), row, strict=True))
    tasks = conn.execute(
        "select task_id, state from task_instance where dag_id = %s and run_id = %s order by task_id",
        (DAG_ID, run["run_id"])).fetchall()
    run["tasks"] = {t: s for t, s in tasks}
    run["failed_tasks"] = [t for t, s in tasks if s in FAILED]
    dbt = conn.execute(
        "select value from xcom where dag_id = %s and run_id = %s and task_id = 'dbt_build.nightly'"
        " and key = 'return_value'", (DAG_ID, run["run_id"])).fetchone()
    run["dbt"] = dbt[0] if dbt else None
    return run


def _files(conn: psycopg.Connection, since, until) -> list[dict[str, Any]]:
    rows = conn.execute(
        """select m.partner_id, m.feed, m.file_name, m.status, m.rows_in, m.rows_loaded, m.rows_quarantined,
                  m.received_at, m.due_at,
                  exists (select 1 from ingest.partner_alerts a where m.file_id = any (a.file_ids)) as alert_sent
             from ingest.file_manifest m
            where m.processed_at >= %s and (%s::timestamptz is null or m.processed_at <= %s)
            order by m.partner_id, m.feed, m.file_name""", (since, until, until)).fetchall()
    keys = ("partner", "feed", "file", "status", "rows_in", "rows_loaded", "rows_quarantined", "received_at",
            "due_at", "alert_sent")
    files = [dict(zip(keys, r, strict=True)) for r in rows]
    for f in files:
        f["late"] = bool(f["due_at"] and f["received_at"] and f["received_at"] > f["due_at"])
    return files


def _linkage(conn: psycopg.Connection) -> dict[str, int] | None:
    exists = conn.execute("select to_regclass('linkage.participant_xref')").fetchone()[0]
    if exists is None:
        return None
    records, participants = conn.execute(
        "select count(*), count(distinct participant_id) from linkage.participant_xref").fetchone()
    return {"source_records": records, "participants": participants}


def night_status() -> dict[str, Any]:
    """The last night, as a JSON-ready dict (``ok`` False when it failed or never ran)."""
    with psycopg.connect(libpq_url(airflow_metadata_url()), connect_timeout=10) as conn:
        exists = conn.execute("select to_regclass('public.dag_run')").fetchone()[0]
        run = _last_run(conn) if exists else None
    if run is None:
        return {"ok": False, "night": None, "files": [], "linkage": None,
                "next": "no night has run yet: `worklink nightly`, or start the scheduler (README, operators)"}
    with psycopg.connect(libpq_url(warehouse_url()), connect_timeout=10) as conn:
        has_manifest = conn.execute("select to_regclass('ingest.file_manifest')").fetchone()[0]
        files = _files(conn, run["started"], run["ended"]) if has_manifest and run["started"] else []
        linkage = _linkage(conn)
    ok = run["state"] == "success" and not run["failed_tasks"]
    problems = [f for f in files if f["status"] in ("rejected", "error", "refused", "needs_confirmation")]
    if run["state"] in ("running", "queued"):
        advice = "the night is still running; look again later (Airflow UI: Grid view)"
    elif not ok:
        advice = (f"read the log of {', '.join(run['failed_tasks']) or 'the run'} (Airflow UI, or "
                  f"worklink airflow tasks logs ...), fix the cause, then clear the failed task so it and "
                  f"everything after it run again")
    elif problems:
        advice = "the night succeeded; partners were told about their rejected files (see files below)"
    else:
        advice = "nothing to do"
    return {"ok": ok, "night": {k: run[k] for k in ("run_id", "state", "started", "ended", "failed_tasks", "dbt")},
            "files": files, "linkage": linkage, "next": advice}


def render(status: dict[str, Any]) -> str:
    night = status["night"]
    if night is None:
        return f"No night recorded.\nNext: {status['next']}"
    lines = [f"Last night: {night['run_id']}  {night['state'].upper() if night['state'] else '?'}"
             f"  (started {night['started']}, ended {night['ended']})"]
    if night["failed_tasks"]:
        lines.append("Failed tasks: " + ", ".join(night["failed_tasks"]))
    lines.append(f"\nFiles ({len(status['files'])}):")
    for f in status["files"]:
        lines.append(f"  {f['partner']:24} {f['feed']:18} {f['status']:22} in={f['rows_in']:<7} "
                     f"loaded={f['rows_loaded']:<7} quarantined={f['rows_quarantined']:<5} "
                     f"alert={'yes' if f['alert_sent'] else 'no':3} {'LATE ' if f['late'] else ''}{f['file']}")
    if status["linkage"]:
        lines.append(f"\nLinkage: {status['linkage']['source_records']} source records -> "
                     f"{status['linkage']['participants']} participants")
    dbt = night.get("dbt")
    if dbt:
        lines.append(f"dbt: {dbt.get('mode')} build, {dbt.get('nodes')} nodes, success={dbt.get('success')}")
    lines.append(f"\nNext: {status['next']}")
    return "\n".join(lines)
