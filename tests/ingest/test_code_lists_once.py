"""Code lists are written once, in contracts/_code_lists.yml: the GX suites, the dbt accepted-values
tests (generic test in_code_list over the generated macro code_list) and the generator read them."""

from __future__ import annotations

from pathlib import Path

import yaml
from worklink.contracts import load_code_lists, load_contracts
from worklink.synth import params as P
from worklink.synth import schema as S

REPO_ROOT = Path(__file__).resolve().parents[2]


def _data_tests(node: dict):
    for column in node.get("columns") or []:
        for test in column.get("data_tests") or []:
            if isinstance(test, dict):
                yield column["name"], test


def test_dbt_accepted_values_never_repeat_a_contract_code_list():
    codes = load_code_lists()
    by_set = {frozenset(values): name for name, values in codes.items()}
    named, repeated = [], []
    for path in sorted((REPO_ROOT / "dbt_project" / "models").rglob("*.yml")):
        for node in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            for column, test in _data_tests(node):
                if "in_code_list" in test:
                    named.append(test["in_code_list"]["arguments"]["list_name"])
                values = (test.get("accepted_values") or {}).get("arguments", {}).get("values")
                if isinstance(values, list) and frozenset(map(str, values)) in by_set:
                    repeated.append((path.name, node["name"], column, by_set[frozenset(map(str, values))]))
    assert repeated == [], "use `in_code_list: {arguments: {list_name: ...}}` instead of copying a code list"
    assert set(named) <= set(codes), sorted(set(named) - set(codes))
    assert {"priority_group", "uc_conditionality_regime", "workwell_work_status"} <= set(named)


def test_generator_draws_from_the_contract_code_lists():
    codes = load_code_lists()
    for name, values in S.CODE_LISTS.items():
        if name in codes:  # the generator writes some codes as partners do (upper case)
            assert [v.lower() for v in values] == codes[name], name
    assert P.SEXES == ["F", "M"]  # contracts: [f, m]; partners write them upper case
    assert list(P.HOURS_BANDS) == ["A", "B", "C", "D", "E"]
    assert set(P.ICB_REFERRAL_SOURCES) < set(codes["referral_source"])
    # questionnaire items: the generator's ranges are the wellbeing contracts'
    for contract in (c for c in load_contracts() if c.instrument_items):
        spec = contract.instrument_items.instruments
        assert {k.upper(): (r.items, r.min, r.max) for k, r in spec.items()} == P.INSTRUMENTS, contract.key


def test_generator_partner_files_follow_the_partner_folders():
    # contracts/mossside_carers/referrals.yml: pattern MSCN_referrals_*.csv, cp1252, dd/mm/yyyy, "Post Code"
    spec = S.PARTNERS["mossside_carers"]
    assert spec.file_name("referrals", "2025-11") == "MSCN_referrals_2025-11.csv"
    assert (spec.encoding, spec.date_format, spec.header_row) == ("cp1252", "%d/%m/%Y", 1)
    assert spec.headers["referrals"]["postcode"] == "Post Code"
    # contracts/ancoats_trust: a workbook with two title rows above the headers
    ancoats = S.PARTNERS["ancoats_trust"]
    assert (ancoats.file_format, ancoats.header_row, ancoats.encoding) == ("xlsx", 3, None)
    assert ancoats.name == "Ancoats Community Trust"
