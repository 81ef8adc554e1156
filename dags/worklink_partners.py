"""Airflow DAGs partner__<id>: one per partner in contracts/, to (re)load one partner alone.

Generated from the feed contracts by ``worklink.orchestration.dags``; adding a partner's
contract adds its DAG here and its task group in worklink_nightly.
"""

from worklink.orchestration.dags import build_partner_dags

globals().update(build_partner_dags())
