"""Airflow DAGs built from the feed contracts; the files in ``dags/`` only call these.

Parse-time work is kept small: contracts are YAML reads, Cosmos renders the dbt
graph from the manifest that ``worklink`` builds (``dbt parse``), and nothing here
touches the database until a task runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, task

from worklink.contracts import Contract, load_contracts
from worklink.settings import load_settings

PLATFORM_OWNER = "worklink-data-engineering"
# Data-aware scheduling hook: downstream DAGs (alerts, reports) can schedule on this.
WAREHOUSE_RAW = Asset(name="worklink_raw_rows", uri="x-worklink://warehouse/raw")

DEFAULT_ARGS = {
    "owner": PLATFORM_OWNER,
    "retries": 1,
    "retry_delay": timedelta(minutes=2),
}


def partners(contracts: list[Contract]) -> dict[str, list[Contract]]:
    by_partner: dict[str, list[Contract]] = {}
    for contract in contracts:
        by_partner.setdefault(contract.partner.id, []).append(contract)
    return by_partner


def _ingest_task(partner_id: str):
    @task(task_id=f"ingest__{partner_id}", outlets=[WAREHOUSE_RAW])
    def ingest_partner() -> dict:
        """Ingest every landed file of one partner. Rejected files are results, not failures."""
        from worklink.ingest.service import ingest_paths, partner_landing_files

        files = partner_landing_files(partner_id)
        results = ingest_paths(files)
        summary: dict[str, int] = {}
        for result in results:
            summary[result.status] = summary.get(result.status, 0) + 1
            print(f"{result.status:24} {result.rows_loaded:>7} loaded {result.rows_quarantined:>6} "
                  f"quarantined  {result.file}")
        if any(r.status == "error" for r in results):
            raise RuntimeError(f"internal errors while ingesting {partner_id}: see log above")
        return summary

    return ingest_partner()


def dbt_task_group(dag: DAG):
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import InvocationMode, LoadMode, TestBehavior

    settings = load_settings()
    project_dir = settings.dbt_project_dir
    return DbtTaskGroup(
        group_id="dbt_build",
        dag=dag,
        project_config=ProjectConfig(
            dbt_project_path=project_dir, manifest_path=project_dir / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="worklink", target_name="warehouse", profiles_yml_filepath=project_dir / "profiles.yml"
        ),
        execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
            invocation_mode=InvocationMode.DBT_RUNNER, emit_datasets=False,
        ),
        operator_args={"install_deps": False},
        default_args=DEFAULT_ARGS,
    )


def build_nightly_dag(contracts: list[Contract] | None = None) -> DAG:
    """Ingest every partner (one task each, independent), then build the warehouse with dbt."""
    contracts = contracts if contracts is not None else load_contracts()
    with DAG(
        dag_id="worklink_nightly",
        description="Nightly load: ingest every partner's landed files, then dbt build the warehouse",
        schedule="0 2 * * *",
        start_date=datetime(2024, 10, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["worklink", "nightly", "ingest", "dbt"],
        doc_md=__doc__,
    ) as dag:
        ingests = [_ingest_task(partner_id) for partner_id in sorted(partners(contracts))]
        # all_done: one partner's failed task must not stop the warehouse build for the others.
        ingests_finished = EmptyOperator(task_id="ingests_finished", trigger_rule="all_done")
        build = dbt_task_group(dag)
        ingests >> ingests_finished >> build
    return dag
