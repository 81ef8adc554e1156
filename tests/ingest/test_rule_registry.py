"""Every data-quality rule is defined once (worklink.rules) and every consumer reads it: the contract
schema, the GX suites, ingestion's checks, the partner alert and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from worklink.alerts.partner_report import RULE_ADVICE, RULE_TEXT
from worklink.contracts import COLUMN_RULES, DEFAULT_SEVERITY, Contract, Severity, load_contracts
from worklink.identity import vault
from worklink.ingest.checks import IDENTIFIER_FORMATS, MESSAGES
from worklink.quality.suites import RULE_REGEX
from worklink.rules import RULES, with_docs_table

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_docs_rules_table_is_generated_from_the_registry():
    document = (REPO_ROOT / "docs" / "ingestion.md").read_text(encoding="utf-8")
    assert with_docs_table(document) == document, "run `worklink contracts build-docs`"
    assert document.count("| `") >= len(RULES)


def test_every_consumer_reads_the_registry():
    assert list(DEFAULT_SEVERITY) == list(RULES) == list(RULE_TEXT)
    assert {k: str(v) for k, v in DEFAULT_SEVERITY.items()} == {r.id: str(r.severity) for r in RULES.values()}
    assert MESSAGES == {r.id: r.message for r in RULES.values() if r.message}
    assert RULE_ADVICE == {r.id: r.advice for r in RULES.values() if r.advice}
    assert set(COLUMN_RULES) == {"nhs_number", "ni_number", "postcode", "not_future", "not_before_programme"}
    # the three identifier rules: one format each, the same object in the suite and the checks
    assert set(RULE_REGEX) == set(IDENTIFIER_FORMATS) == {"nhs_number", "ni_number", "postcode"}
    # every file rejection has advice for the data officer; every row rule a message for engineers
    assert all(r.advice for r in RULES.values() if r.level in ("file", "landing"))
    assert all(r.message for r in RULES.values() if r.level in ("row", "warning"))


def test_hand_written_wordings():
    # a column rule's partner wording is its requirement, capitalised
    assert RULE_TEXT["postcode"] == "Postcode must be a valid UK postcode"
    assert RULE_TEXT["file_encoding"] == "The file is not in the agreed character encoding"
    assert MESSAGES["postcode"] == "is not a valid UK postcode"
    assert DEFAULT_SEVERITY["optional_missing"] == Severity.warn
    assert DEFAULT_SEVERITY["file_empty"] == Severity.reject_file


def test_a_contract_overrides_a_default_severity():
    base = load_contracts()[0].model_dump(mode="json")
    contract = Contract.model_validate({**base, "severity": {"duplicate_row": "warn"}})
    assert contract.severity_of("duplicate_row") == Severity.warn
    assert contract.severity_of("required") == Severity.quarantine_row  # the registry's default


def test_suite_regex_checks_and_linkage_agree_on_hand_written_postcodes():
    # M1Z 1AA: an A9A outward code may only end in A B C D E F G H J K P S T U W (Royal Mail), so Z
    # is not a postcode; M1 1AA (A9) and W1A 1AA (A9A, A allowed) are; QA1 1AA has Q first (never).
    values = pd.Series(["M1Z 1AA", "M1 1AA", "W1A 1AA", "QA1 1AA", "EC1A 1BB", "M14 5CQ"])
    expected = [False, True, True, False, True, False]  # M14 5CQ: C never in an inward code
    by_suite = [re.fullmatch(RULE_REGEX["postcode"].strip("^$"), v) is not None for v in values]
    assert by_suite == expected
    assert IDENTIFIER_FORMATS["postcode"](values).tolist() == expected
    assert vault.clean_postcode(values).notna().tolist() == expected
