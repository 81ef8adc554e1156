"""Airflow settings worklink passes to every Airflow process: the operator's executor is used (not
replaced), the workers' execution API URL follows the API port, OpenLineage writes to a file by
default, and parallelism defaults to the machine's cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from worklink.platform.database import runtime_env

WORKLINK = str(Path(sys.executable).with_name("worklink"))


def test_the_execution_api_url_follows_the_api_port(session_db, monkeypatch):
    monkeypatch.delenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", raising=False)
    monkeypatch.setenv("AIRFLOW__API__PORT", "8793")
    env = runtime_env()
    assert env["AIRFLOW__API__PORT"] == "8793"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8793/execution/"
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")  # listening everywhere: workers use loopback
    assert runtime_env()["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8793/execution/"


def test_defaults_for_parallelism_and_openlineage_can_be_overridden(session_db, monkeypatch):
    for name in ("AIRFLOW__CORE__PARALLELISM", "AIRFLOW__OPENLINEAGE__TRANSPORT", "AIRFLOW__OPENLINEAGE__NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    env = runtime_env()
    assert env["AIRFLOW__CORE__PARALLELISM"] == str(max(2, os.cpu_count() or 2))
    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport["type"] == "file" and transport["log_file_path"].endswith("openlineage/events.jsonl")
    assert Path(transport["log_file_path"]).parent.is_dir() and env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "worklink"
    marquez = '{"type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage"}'
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", marquez)
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "7")
    env = runtime_env()
    assert (env["AIRFLOW__OPENLINEAGE__TRANSPORT"], env["AIRFLOW__CORE__PARALLELISM"]) == (marquez, "7")


def test_airflow_uses_the_executor_the_operator_sets(session_db):
    # Airflow itself reads the setting back through `worklink airflow` (the path every process takes)
    executor = "airflow.executors.local_executor.LocalExecutor"
    proc = subprocess.run([WORKLINK, "airflow", "config", "get-value", "core", "executor"],
                          env={**os.environ, "AIRFLOW__CORE__EXECUTOR": executor}, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == executor
    proc = subprocess.run([WORKLINK, "airflow", "config", "get-value", "core", "executor"],
                          env={k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__EXECUTOR"},
                          capture_output=True, text=True, timeout=180)
    assert proc.stdout.strip() == "LocalExecutor"
