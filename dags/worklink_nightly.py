"""Airflow DAG worklink_nightly: every partner's landed files -> quality gates -> raw -> dbt build.

Thin on purpose: the DAG is built from the feed contracts in ``contracts/`` by
``worklink.orchestration.dags``. (Airflow's safe-mode parser only opens files that
mention both "airflow" and "dag", which this docstring does.)
"""

from worklink.orchestration.dags import build_nightly_dag

dag = build_nightly_dag()
