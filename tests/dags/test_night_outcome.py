"""The nightly's verdict: timeouts everywhere, a last task that fails the run when any ingest, alert,
linkage or dbt task failed, and the data engineers' email notifier on it."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from worklink.orchestration.night import summarise_states

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_every_task_and_run_has_a_timeout(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.dagrun_timeout is not None and dag.dagrun_timeout <= timedelta(hours=23), dag_id
        for task in dag.tasks:
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id}"
            assert task.execution_timeout <= dag.dagrun_timeout, f"{dag_id}.{task.task_id}"


def test_night_outcome_is_the_only_leaf_and_waits_for_every_critical_task(dagbag):
    dag = dagbag.dags["worklink_nightly"]
    leaves = [t.task_id for t in dag.tasks if not t.downstream_list]
    assert leaves == ["night_outcome"]
    outcome = dag.get_task("night_outcome")
    assert outcome.trigger_rule == "all_done"
    upstream = outcome.get_flat_relative_ids(upstream=True)
    critical = {t.task_id for t in dag.tasks
                if t.task_id.endswith((".ingest", ".alert")) or t.task_id in ("link_participants", "dbt_build.nightly")}
    assert len(critical) >= 6 and critical <= upstream


def test_a_night_with_a_failed_ingest_or_dbt_task_is_failed():
    # Hand-written run: hmrc's ingest failed, dbt was upstream_failed because linkage failed;
    # the partner that loaded and the skipped task are not failures.
    states = {"hmrc.ingest": "failed", "hmrc.alert": "success", "ancoats_trust.ingest": "success",
              "ancoats_trust.alert": "skipped", "ingests_finished": "success", "link_participants": "failed",
              "dbt_build.nightly": "upstream_failed", "dbt_build.source_freshness": "success"}
    failed, summary = summarise_states(states)
    assert failed == ["dbt_build.nightly", "hmrc.ingest", "link_participants"]
    assert summary.splitlines()[0] == "3 of 7 tasks failed"  # ingests_finished is not a critical task
    assert "partners whose load or alert failed: hmrc" in summary
    assert "ancoats_trust.alert=skipped" in summary


def test_a_clean_night_is_not_failed():
    states = {"a.ingest": "success", "a.alert": "success", "link_participants": "success",
              "dbt_build.nightly": "success", "dbt_build.source_freshness": "success"}
    failed, summary = summarise_states(states)
    assert failed == [] and summary.startswith("all 5 tasks succeeded")


def test_a_night_whose_retention_step_failed_is_failed():
    # Hand-written: everything loaded and built, but deleting expired data failed (a disk error):
    # the data-protection duty was not met, so the night is failed and the engineers are told.
    states = {"a.ingest": "success", "a.alert": "success", "link_participants": "success",
              "dbt_build.nightly": "success", "dbt_build.source_freshness": "success", "apply_retention": "failed"}
    failed, summary = summarise_states(states)
    assert failed == ["apply_retention"] and summary.splitlines()[0] == "1 of 6 tasks failed"


def test_engineers_get_an_email_notifier_over_worklink_smtp(monkeypatch):
    from worklink.orchestration import dags

    monkeypatch.setenv("WORKLINK_ENGINEER_EMAILS", "de1@example.org, de2@example.org")
    dag = dags.build_nightly_dag()
    callbacks = dag.get_task("night_outcome").on_failure_callback
    (notifier,) = callbacks if isinstance(callbacks, list) else [callbacks]
    assert notifier.smtp_conn_id == "worklink_smtp"
    assert list(notifier.to) == ["de1@example.org", "de2@example.org"]
    monkeypatch.delenv("WORKLINK_ENGINEER_EMAILS")
    assert not dags.build_nightly_dag().get_task("night_outcome").on_failure_callback
