"""The night's verdict and the data engineers' alert.

Airflow marks a run by its leaf tasks only, so a night whose ingest, linkage or dbt task failed
could still end ``success``. ``night_outcome`` is the last task (trigger rule ``all_done``): it
reads the state of every ingest, alert, linkage and dbt task of the run and fails when any of them
failed, which fails the run. Its failure notifier emails the data engineers
(``WORKLINK_ENGINEER_EMAILS``) through the ``worklink_smtp`` connection with the run summary:
what failed, which partners' files were rejected, late feeds, dbt's failed tests, linkage counts
and where the logs are (``worklink.orchestration.night_report``).
"""

from __future__ import annotations

from datetime import timedelta

from worklink.settings import load_settings

#: Every task of the nightly gets this unless it says otherwise; a hung task fails, it never waits forever.
TASK_TIMEOUT = timedelta(hours=2)
#: The whole night: the next night starts at 02:00, so a run must be over well before.
DAGRUN_TIMEOUT = timedelta(hours=6)
SMTP_CONN_ID = "worklink_smtp"
CRITICAL_SUFFIXES = (".ingest", ".alert", "check_deliveries", "link_participants", "dbt_build.nightly",
                     "dbt_build.source_freshness", "apply_retention")
FAILED_STATES = {"failed", "upstream_failed"}


def engineer_recipients() -> list[str]:
    """The data engineers to tell, from ``WORKLINK_ENGINEER_EMAILS`` (comma-separated)."""
    return list(load_settings().engineer_emails)


def summarise_states(states: dict[str, str | None]) -> tuple[list[str], str]:
    """The failed critical tasks and a plain-text summary of the night, from {task_id: state}."""
    critical = {t: s for t, s in states.items() if t.endswith(CRITICAL_SUFFIXES)}
    failed = sorted(t for t, s in critical.items() if s in FAILED_STATES)
    ok = sorted(t for t, s in critical.items() if s == "success")
    lines = [f"{len(failed)} of {len(critical)} tasks failed" if failed else f"all {len(critical)} tasks succeeded"]
    lines += [f"  FAILED  {t} ({critical[t]})" for t in failed]
    partners_failed = sorted({t.split(".")[0] for t in failed if t.endswith((".ingest", ".alert"))})
    if partners_failed:
        lines.append(f"partners whose load or alert failed: {', '.join(partners_failed)}")
    lines.append(f"succeeded: {len(ok)}; other states: "
                 + (", ".join(f"{t}={s}" for t, s in sorted(critical.items()) if s not in FAILED_STATES | {'success'})
                    or "none"))
    lines.append("what to do: `worklink status`, then the failed task's log (Airflow UI, or "
                 "`.worklink/airflow/logs/dag_id=worklink_nightly/`); fix, then clear the failed task.")
    return failed, "\n".join(lines)


def night_details(run_id: str, started, failed: list[str]) -> str:
    """The run summary's facts from the warehouse and dbt's results; a line saying why when unreadable."""
    from worklink.orchestration.night_report import night_facts, summary_lines

    try:
        return "\n".join(summary_lines(night_facts(run_id, started, None, failed)))
    except Exception as exc:  # noqa: BLE001 - the verdict must not depend on the details being readable
        return f"(the night's details could not be read: {type(exc).__name__}: {str(exc).splitlines()[0][:200]})"


def failure_notifiers() -> list:
    """An email notifier for the data engineers, when any are configured."""
    recipients = engineer_recipients()
    if not recipients:
        return []
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return [SmtpNotifier(
        to=recipients,
        from_email=load_settings().alert_from or "worklink@localhost",
        smtp_conn_id=SMTP_CONN_ID,
        subject="worklink night {{ dag_run.run_id }} FAILED",
        # the exception's text is the run summary; escaped, since file names come from partners
        html_content="<h1>worklink nightly failed</h1><p>Run {{ dag_run.run_id }}</p>"
                     "<pre>{{ exception | string | e }}</pre>",
    )]


def night_outcome_task():
    from airflow.sdk import task

    @task(task_id="night_outcome", trigger_rule="all_done", retries=0, on_failure_callback=failure_notifiers())
    def night_outcome(**context) -> dict:
        """Fail the run when any ingest, alert, linkage or dbt task of this night failed."""
        from airflow.exceptions import AirflowFailException

        ti = context["ti"]
        run_id = context["dag_run"].run_id
        raw = ti.get_task_states(dag_id=ti.dag_id, run_ids=[run_id])
        states = raw.get(run_id, raw) if isinstance(raw, dict) else {}
        states = {k: v for k, v in states.items() if k != ti.task_id}
        failed, summary = summarise_states(states)
        summary += "\n" + night_details(run_id, context["dag_run"].start_date, failed)
        print(summary)
        if failed:
            raise AirflowFailException(summary)
        return {"failed": failed, "summary": summary}

    return night_outcome()
