"""`worklink status`: what the last night did, read from Airflow's metadata and the warehouse.

Everything comes from records the platform already keeps (``dag_run``/``task_instance``/``xcom``
in Airflow's database; the files, late feeds, linkage and dbt results of
``worklink.orchestration.night_report``), so the command works whether the night ran under the
scheduler or through ``worklink nightly``.
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


def next_steps(run: dict[str, Any], ok: bool, facts: dict[str, Any]) -> list[str]:
    """What an operator should do now, most urgent first."""
    if run["state"] in ("running", "queued"):
        return ["the night is still running; look again later (Airflow UI: Grid view)"]
    steps = []
    if not ok:
        steps.append(f"read the log of {', '.join(run['failed_tasks']) or 'the run'} "
                     f"({facts['links']['logs']}, or the Airflow UI: {facts['links']['run']}), fix the cause, "
                     "then clear the failed task so it and everything after it run again "
                     "(docs/operations.md, 'When a task fails')")
    dbt = facts["dbt"]
    if dbt and not dbt["from_an_earlier_night"] and (dbt["tests_failed"] or dbt["models_failed"]):
        steps.append(f"dbt: {dbt['tests_failed']} tests and {dbt['models_failed']} models failed; see the failing "
                     f"nodes above and `worklink dbt test --select <node>` after the fix")
    if facts["problem_files"]:
        partners = sorted({f["partner"] for f in facts["problem_files"]})
        steps.append(f"files rejected or held for {', '.join(partners)}: the partners were told (alert=yes); "
                     "a held file needs `worklink files confirm FILE_ID` once the partner confirms it")
    if facts["late_feeds"]:
        steps.append(f"{len(facts['late_feeds'])} late or missing monthly files were told to the partners "
                     "tonight; chase any that stay missing")
    return steps or ["nothing to do"]


def night_status() -> dict[str, Any]:
    """The last night, as a JSON-ready dict (``ok`` False when it failed or never ran)."""
    from worklink.orchestration.night_report import night_facts

    with psycopg.connect(libpq_url(airflow_metadata_url()), connect_timeout=10) as conn:
        exists = conn.execute("select to_regclass('public.dag_run')").fetchone()[0]
        run = _last_run(conn) if exists else None
    if run is None:
        return {"ok": False, "night": None, "files": [], "linkage": None,
                "next": "no night has run yet: `worklink nightly`, or start the scheduler (README, operators)"}
    facts = night_facts(run["run_id"], run["started"], run["ended"], run["failed_tasks"],
                        database_url=warehouse_url())
    ok = run["state"] == "success" and not run["failed_tasks"]
    steps = next_steps(run, ok, facts)
    return {"ok": ok,
            "night": {k: run[k] for k in ("run_id", "state", "started", "ended", "failed_tasks")},
            **facts, "nightly_task_result": run["dbt"], "next": "; ".join(steps), "next_steps": steps}


def render(status: dict[str, Any]) -> str:
    from worklink.orchestration.night_report import summary_lines

    night = status["night"]
    if night is None:
        return f"No night recorded.\nNext: {status['next']}"
    lines = [f"Last night: {night['run_id']}  {night['state'].upper() if night['state'] else '?'}"
             f"  (started {night['started']}, ended {night['ended']})"]
    if night["failed_tasks"]:
        lines.append("Failed tasks: " + ", ".join(night["failed_tasks"]))
    lines.append(f"\nFiles ({len(status['files'])}):")
    for f in status["files"]:
        lines.append(f"  {f['partner']:24} {f['feed']:18} {f['status']:22} in={f['rows_in']!s:<7} "
                     f"loaded={f['rows_loaded']!s:<7} quarantined={f['rows_quarantined']!s:<5} "
                     f"alert={'yes' if f['alert_sent'] else 'no':3} {'LATE ' if f['late'] else ''}{f['file']}")
    lines.append("")
    lines += summary_lines(status)
    lines.append("\nNext:")
    lines += [f"  - {step}" for step in status["next_steps"]]
    return "\n".join(lines)
