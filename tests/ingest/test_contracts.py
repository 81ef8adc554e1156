"""Every feed contract validates against the schema and its committed GX suite matches it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from worklink.contracts import Contract, feed_files, load_contract, load_contracts
from worklink.quality.suites import suite_dict, suite_path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_FILES = feed_files(REPO_ROOT / "contracts")


def test_there_are_contracts():
    assert CONTRACT_FILES


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_contract_is_valid_and_in_its_folder(path):
    contract = load_contract(path)
    assert (contract.partner.id, contract.feed) == (path.parent.name, path.stem)
    assert any(c.required for c in contract.columns)


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_suite_is_derived_from_contract(path):
    contract = load_contract(path)
    committed = json.loads(suite_path(contract, REPO_ROOT / "expectations").read_text())
    assert committed == json.loads(json.dumps(suite_dict(contract))), (
        "expectations/ is out of date: run `worklink contracts build-suites`"
    )


def test_one_partner_id_per_partner_and_consistent_targets():
    contracts = load_contracts()
    names = {}
    for c in contracts:
        assert names.setdefault(c.partner.id, c.partner) == c.partner, f"{c.key}: partner block differs"
    by_table: dict[str, set[str]] = {}
    for c in contracts:
        by_table.setdefault(c.target_table, set()).update(c.column_names)
    for c in contracts:
        required = {col.name for col in c.columns if col.required}
        assert required <= by_table[c.target_table]


def _base() -> dict:
    return json.loads(json.dumps(load_contracts()[0].model_dump(mode="json")))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["columns"].append(dict(d["columns"][0])), "duplicate canonical column"),
        (lambda d: d.update(record_id_column="nope"), "record_id_column"),
        (lambda d: d["columns"][0].update(code_list="no_such_list"), "unknown code list"),
        (lambda d: d["columns"][0].update(rules=["made_up"]), "unknown column rules"),
        (lambda d: d["file"].update(period_regex="\\d{4}"), "named group 'period'"),
        (lambda d: d["file"].update(encoding="klingon-8"), "klingon"),
        (lambda d: d.update(surprise=1), "Extra inputs"),
        (lambda d: d["partner"].update(dq_contacts=[]), "at least 1"),
    ],
)
def test_schema_rejects_bad_contracts(mutate, message):
    data = _base()
    mutate(data)
    with pytest.raises((ValidationError, LookupError)) as exc:
        Contract.model_validate(data)
    assert message.lower() in str(exc.value).lower()
