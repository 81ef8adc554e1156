"""Airflow DAGs built from the feed contracts; the files in ``dags/`` only call these.

Parse-time work is kept small: contracts are YAML reads, dbt is imported only inside
its task, and nothing here touches the database until a task runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, task, task_group

from worklink.contracts import Contract, load_contracts
from worklink.orchestration.executor import QUEUES
from worklink.orchestration.night import DAGRUN_TIMEOUT, TASK_TIMEOUT, night_outcome_task
from worklink.settings import load_settings

PLATFORM_OWNER = "worklink-data-engineering"
# Data-aware scheduling hook: downstream DAGs (alerts, reports) can schedule on this.
WAREHOUSE_RAW = Asset(name="worklink_raw_rows", uri="x-worklink://warehouse/raw")

DEFAULT_ARGS = {
    "owner": PLATFORM_OWNER,
    "retries": 1,
    # A failed task is tried once more after this (WORKLINK_TASK_RETRY_DELAY_SECONDS; tests shorten it).
    "retry_delay": timedelta(seconds=load_settings().task_retry_delay_seconds),
    "execution_timeout": TASK_TIMEOUT,
}


RUNBOOK = """
# worklink nightly: operator's runbook

Runs at 02:00 UTC. Loads every partner's landed files, tells partners about problems in their own
files, links participants, builds the warehouse with dbt. The run is **failed** when any ingest,
alert, delivery check, linkage or dbt task failed (`night_outcome`), and the data engineers
(`WORKLINK_ENGINEER_EMAILS`) get one email with the run summary. First look: `worklink status`
(plain or `--json`; exit code 1 when the last night failed). Details: `docs/operations.md`.

| task | what it does | when it fails |
|---|---|---|
| `<partner>.ingest` | checks each landed file against the partner's contract, quarantines bad rows, loads the rest (`ingest.file_manifest`). A **rejected file is not a failure**: the partner is told. | an internal error on a file (database, disk): the file is recorded `error` and retried next night. Read the log, fix, then **Clear** this task with *Downstream*. |
| `<partner>.alert` | emails the partner's data-quality contacts about their files of this run (runs whatever the ingest's outcome) | SMTP down (`worklink_smtp` connection): fix the connection, Clear the task; the alert is recorded in `ingest.partner_alerts`, a failing webhook never sends a second email. |
| `ingests_finished` | waits for every partner group (one partner's failure does not stop the others' build) | never fails by itself |
| `check_deliveries` | tells engineers and partners, once, about monthly files now late or missing | database or SMTP error: fix, Clear; nothing is told twice. |
| `link_participants` | links every current source record to a participant (deterministic, then Splink) | read the log (out of memory, a database error); Clear with *Downstream*. Clerical review: `worklink link review`. |
| `dbt_build.nightly` | one `dbt build` of what the night's data or changed code affects | a failed **dbt test** means data to look at: the log and `worklink status` name the node; fix the data or model, then Clear with *Downstream*. A retry rebuilds the whole selection, safely. |
| `dbt_build.source_freshness` | `dbt source freshness` after the build, for the status and the scorecard | rarely; Clear it. |
| `apply_retention` | when `WORKLINK_RETENTION_NIGHTLY=1`: deletes expired identifiers, quarantined rows, archived files, old reports and logs (`worklink retention plan` shows what; `docs/data-protection.md`); otherwise nothing | a database or disk error: nothing half-done within a store (one transaction each); fix, Clear it. |
| `night_outcome` | fails the run when any task above failed, emails the engineers | only ever fails on purpose; it is the run's verdict. |

**Clearing**: always clear the failed task *with Downstream* (Grid view, or
`worklink airflow tasks clear worklink_nightly -t <task_id> --downstream --yes`; in Airflow 3.3 `-t`
matches task ids containing the text, it is not a regular expression): the cleared
tasks run again in dependency order, nothing downstream starts before its upstream succeeded.
**Re-running a past night**: `worklink airflow backfill create --dag-id worklink_nightly
--from-date YYYY-MM-DD --to-date YYYY-MM-DD`. **A partner corrected a month**: land the file,
then `worklink reprocess --partner P --period YYYY-MM`.

**Who to call**: the data engineer on duty (`WORKLINK_ENGINEER_EMAILS`) for any failed task; the
partner's data-quality contact (in its contract, `contracts/<partner>/`) for rejected, late or
missing files; the linkage owner for a growing clerical review queue.
"""


def partners(contracts: list[Contract]) -> dict[str, list[Contract]]:
    by_partner: dict[str, list[Contract]] = {}
    for contract in contracts:
        by_partner.setdefault(contract.partner.id, []).append(contract)
    return by_partner


def partner_task_group(partner_id: str):
    """ingest -> alert for one partner; a rejected file is a result, not a task failure.

    The alert runs whatever the ingest's outcome: it reports what the manifest recorded for this
    run (files rejected, held, unmatched or in error included), so a crash on one file never
    hides the other files' problems from the partner.
    """

    @task_group(group_id=partner_id)
    def partner_group():
        @task(task_id="ingest", outlets=[WAREHOUSE_RAW], queue=QUEUES["ingest"])
        def ingest() -> list[int]:
            """Ingest every landed file of this partner; return the manifest ids of this run."""
            from airflow.sdk import get_current_context

            from worklink.alerts.delivery import tell_engineers_about
            from worklink.ingest.service import ingest_paths, partner_landing_files

            run_id = get_current_context()["run_id"]
            results = ingest_paths(partner_landing_files(partner_id), run_label=run_id)
            tell_engineers_about(results, partner_id)
            for result in results:
                print(f"{result.status:24} {result.rows_loaded:>7} loaded {result.rows_quarantined:>6} "
                      f"quarantined  {result.file}")
                if result.status == "needs_confirmation":
                    print(f"HELD for confirmation: {result.file} (file {result.file_id}) has far fewer rows than "
                          f"the version it would replace; after checking with {partner_id}, run "
                          f"`worklink files confirm {result.file_id}`")
            if any(r.status == "error" for r in results):
                raise RuntimeError(f"internal errors while ingesting {partner_id}: see log above "
                                   "(the files are recorded with status error and retried next run)")
            return [r.file_id for r in results if r.file_id is not None and r.status != "duplicate"]

        @task(task_id="alert", trigger_rule="all_done")
        def alert() -> str:
            """Tell the partner what was wrong with its own files (nothing sent when all is well)."""
            from airflow.sdk import get_current_context

            from worklink.alerts.delivery import alert_partner, files_of_run

            outcome = alert_partner(partner_id, files_of_run(partner_id, get_current_context()["run_id"]))
            return "no problems" if outcome is None else f"{outcome.channel}: {outcome.issue_count} issues"

        ingest() >> alert()

    return partner_group()


@task(task_id="check_deliveries")
def check_deliveries() -> list[str]:
    """Tell engineers and partners once about monthly files now late or missing (per partner, feed)."""
    from worklink.alerts.delivery import alert_late_and_missing

    told = alert_late_and_missing()
    for problem in told:
        print(problem.describe())
    return [p.describe() for p in told]


@task(task_id="link_participants", queue=QUEUES["linkage"])
def link_participants() -> dict:
    """Link every current source record to a participant (deterministic, then Splink)."""
    from worklink.linkage import run_linkage

    return run_linkage(progress=print)


@task(task_id="apply_retention")
def apply_retention() -> dict | None:
    """Delete expired identifiers and files (`worklink retention apply`) when WORKLINK_RETENTION_NIGHTLY
    is on; otherwise do nothing. After the build, so tonight's links are the ones kept."""
    from worklink.platform.retention import run_nightly

    outcome = run_nightly()
    print("retention: off (WORKLINK_RETENTION_NIGHTLY)" if outcome is None else f"retention: {outcome['totals']}")
    return outcome


def dbt_task_group():
    """dbt_build: the night's build, then the sources' freshness (worklink.orchestration.nightly_dbt).

    nightly: one task, one dbt process: `dbt build` of what the night's new files, the linkage or
    changed code affect, against the previous successful night's state (everything on the first
    night). One task per model would pay dbt's start-up per model and could not select by the
    night's loads or the previous night's state. The price: a failure is one task's
    failure, with dbt's log naming the node, and a retry re-runs the whole selection (idempotent:
    tables are rebuilt, the incremental model deletes before it inserts).

    source_freshness: `dbt source freshness`, after the build whatever its outcome, so the lateness
    check never delays the build; late feeds are logged (the partner alerts report them to partners).
    """

    @task_group(group_id="dbt_build")
    def dbt_build():
        @task(task_id="nightly", queue=QUEUES["dbt"])
        def nightly() -> dict:
            from worklink.orchestration.nightly_dbt import default_work_dir, run_nightly_dbt

            result = run_nightly_dbt(load_settings().dbt_project_dir, default_work_dir())
            print(f"dbt nightly ({result.mode}): {result.nodes} nodes, seconds {result.seconds}")
            if not result.success:
                raise RuntimeError("dbt build failed: see dbt's log above for the failing nodes")
            return result.__dict__

        @task(task_id="source_freshness", trigger_rule="all_done", queue=QUEUES["dbt"])
        def source_freshness() -> dict:
            from worklink.orchestration.nightly_dbt import check_source_freshness, default_work_dir

            return check_source_freshness(load_settings().dbt_project_dir, default_work_dir())

        nightly() >> source_freshness()

    return dbt_build()


def build_nightly_dag(contracts: list[Contract] | None = None) -> DAG:
    """Ingest and alert every partner (independent groups), then build the warehouse with dbt."""
    contracts = contracts if contracts is not None else load_contracts()
    with DAG(
        dag_id="worklink_nightly",
        description="Nightly load: ingest every partner's landed files, alert partners, dbt build",
        schedule="0 2 * * *",
        start_date=datetime(2024, 10, 1),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=DAGRUN_TIMEOUT,
        default_args=DEFAULT_ARGS,
        tags=["worklink", "nightly", "ingest", "dbt"],
        doc_md=RUNBOOK,
    ) as dag:
        groups = [partner_task_group(partner_id) for partner_id in sorted(partners(contracts))]
        # all_done: one partner's failed task must not stop the warehouse build for the others.
        ingests_finished = EmptyOperator(task_id="ingests_finished", trigger_rule="all_done")
        build = dbt_task_group()
        groups >> ingests_finished >> link_participants() >> build
        deliveries = check_deliveries()
        ingests_finished >> deliveries
        # The run's state: failed when any ingest, alert, linkage or dbt task failed (worklink.orchestration.night).
        retention = apply_retention()
        build >> retention
        [retention, deliveries] >> night_outcome_task()
    return dag


def build_partner_dags(contracts: list[Contract] | None = None) -> dict[str, DAG]:
    """One DAG per partner for loading that partner alone (manual or triggered runs)."""
    contracts = contracts if contracts is not None else load_contracts()
    dags = {}
    for partner_id, own in sorted(partners(contracts).items()):
        partner = own[0].partner
        with DAG(
            dag_id=f"partner__{partner_id}",
            description=f"Ingest and alert {partner.name} ({', '.join(c.feed for c in own)})",
            schedule=None,
            start_date=datetime(2024, 10, 1),
            catchup=False,
            max_active_runs=1,
            dagrun_timeout=DAGRUN_TIMEOUT,
            default_args={**DEFAULT_ARGS, "owner": partner.owner},
            tags=["worklink", "partner", partner.kind, partner.programme],
        ) as dag:
            partner_task_group(partner_id)
        dags[dag.dag_id] = dag
    return dags
