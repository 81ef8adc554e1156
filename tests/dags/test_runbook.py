"""The nightly's documentation in the UI is an operator's runbook: every task is in it with what to
do when it fails, and it says who to call and how to clear, backfill and reprocess."""

from __future__ import annotations

import re

from worklink.contracts import load_contracts
from worklink.orchestration.dags import build_nightly_dag


def test_every_task_of_the_nightly_is_in_the_runbook():
    dag = build_nightly_dag()
    partners = {c.partner.id for c in load_contracts()}
    doc = dag.doc_md
    documented = set(re.findall(r"^\| `([^`]+)` \|", doc, flags=re.MULTILINE))
    needed = {re.sub(rf"^({'|'.join(map(re.escape, partners))})\.", "<partner>.", t.task_id) for t in dag.tasks}
    assert needed <= documented, needed - documented


def test_the_runbook_says_what_to_do_and_who_to_call():
    doc = build_nightly_dag().doc_md
    for needed in ("worklink status", "--downstream", "backfill create", "worklink reprocess", "Who to call",
                   "WORKLINK_ENGINEER_EMAILS", "docs/operations.md"):
        assert needed in doc, needed
