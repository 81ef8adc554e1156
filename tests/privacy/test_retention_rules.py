"""Retention rules and the erasure re-write of a received file, on hand-written inputs (no database)."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
import yaml
from pydantic import ValidationError
from worklink.contracts import DEFAULT_RETENTION, Contract, load_contracts
from worklink.platform.erasure import Person, rewrite_without
from worklink.platform.retention import STORES, add_months, load_retention_config


def _contract(partner: str, feed: str) -> Contract:
    return next(c for c in load_contracts() if c.partner.id == partner and c.feed == feed)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 3, 31), 24, date(2028, 3, 31)),   # programme end + default evaluation period
    (date(2026, 1, 31), 1, date(2026, 2, 28)),    # no 31 February: the month's last day
    (date(2028, 1, 31), 1, date(2028, 2, 29)),    # leap year
    (date(2030, 1, 1), -3, date(2029, 10, 1)),    # "older than three months" on 1 Jan 2030
    (date(2025, 12, 15), 0, date(2025, 12, 15)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_a_feed_without_a_retention_block_keeps_identifiers_to_programme_end_plus_the_evaluation_period():
    contract = _contract("ancoats_trust", "referrals")
    assert contract.retention == DEFAULT_RETENTION
    assert (DEFAULT_RETENTION.counted_from, DEFAULT_RETENTION.keep_for_months) == ("programme_end", None)
    config = load_retention_config()
    assert config.months(contract.retention.keep_for_months) == 24
    assert add_months(config.programme_end[contract.partner.programme], 24) == date(2028, 3, 31)


def test_a_feed_may_declare_its_own_retention_and_nonsense_is_refused():
    data = yaml.safe_load(_contract("dwp", "benefits").model_dump_json())
    data["retention"] = {"counted_from": "last_activity", "keep_for_months": 6}
    own = Contract.model_validate(data)
    assert (own.retention.counted_from, own.retention.keep_for_months) == ("last_activity", 6)
    for bad in ({"counted_from": "first_contact"}, {"keep_for_months": -1}, {"keep_for_years": 2}):
        with pytest.raises(ValidationError):
            Contract.model_validate({**data, "retention": bad})


def test_the_platform_config_names_every_store_with_its_basis_and_the_period_is_configurable(monkeypatch):
    config = load_retention_config()
    assert set(config.stores) == set(STORES)
    assert all(rule.basis for rule in config.stores.values())
    assert config.programme_end["gm_etb"] == date(2026, 3, 31)
    monkeypatch.setenv("WORKLINK_RETENTION_EVALUATION_MONTHS", "36")
    assert load_retention_config().evaluation_period_months == 36
    monkeypatch.setenv("WORKLINK_RETENTION_EVALUATION_MONTHS", "two years")
    with pytest.raises(ValueError, match="WORKLINK_RETENTION_EVALUATION_MONTHS must be a whole number"):
        load_retention_config()


PERSON = Person("WLTEST", ["mossside_carers:MSC-7", "dwp:abc"], nhs_numbers={"9434765919"}, ninos={"QQ123456"},
                record_ids={"mossside_carers": {"MSC-7"}})


def test_a_cp1252_csv_loses_exactly_the_persons_rows_and_keeps_everything_else_byte_for_byte():
    contract = _contract("mossside_carers", "referrals")
    headers = [c.source for c in contract.columns]
    idx = {c.name: i for i, c in enumerate(contract.columns)}

    def row(ref: str, surname: str, nhs: str) -> str:
        cells = [""] * len(headers)
        cells[idx["referral_id"]], cells[idx["last_name"]], cells[idx["nhs_number"]] = ref, surname, nhs
        return ",".join(cells)

    lines = [",".join(headers),
             row("MSC-6", "Zoë Other", "9990000018"),     # someone else: kept, with its non-ASCII letter
             row("MSC-7", "Target", ""),                 # the person, by record id
             row("MSC-9", "Target", "943 476 5919"),     # the person, by NHS number (spaced)
             row("MSC-10", "Keep", "9434765918")]        # one digit off: someone else
    data = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    new, removed = rewrite_without(data, contract, "mossside_carers", PERSON)
    assert removed == 2  # MSC-7 and MSC-9
    assert new == ("\r\n".join([lines[0], lines[1], lines[4]]) + "\r\n").encode("cp1252")
    assert b"Target" not in new
    # another partner's MSC-7 is not the person's record (ids are the partner's own)
    assert rewrite_without(data, contract, "ancoats_trust", Person("X", [], record_ids={}))[1] == 0


def test_a_workbook_loses_the_persons_row_below_its_title_lines():
    contract = _contract("ancoats_trust", "referrals")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "referrals"
    sheet.append(["Ancoats Community Trust referrals"])
    sheet.append(["month: 2025-07"])
    sheet.append([c.source for c in contract.columns])
    idx = {c.name: i for i, c in enumerate(contract.columns)}
    for ref, nino in (("ACT-1", "AB123456C"), ("ACT-2", "QQ 12 34 56 A"), ("ACT-3", None)):
        cells = [None] * len(contract.columns)
        cells[idx["referral_id"]], cells[idx["ni_number"]] = ref, nino
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    new, removed = rewrite_without(buffer.getvalue(), contract, "ancoats_trust", PERSON)
    assert removed == 1  # ACT-2, by its NI number's stem (QQ123456)
    rows = list(openpyxl.load_workbook(io.BytesIO(new)).active.iter_rows(values_only=True))
    assert [r[idx["referral_id"]] for r in rows[3:]] == ["ACT-1", "ACT-3"]
    assert rows[0][0] == "Ancoats Community Trust referrals"
