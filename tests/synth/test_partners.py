"""The generator's partners come from contracts/<partner>/partner.yml (``synthetic:`` block, or its defaults)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from worklink.contracts import Synthetic
from worklink.synth.schema import PARTNERS, PartnerSpec


def _spec(partner_id: str, synthetic: Synthetic) -> PartnerSpec:
    return PartnerSpec(partner_id=partner_id, name="x", file_prefix="X", file_format="csv", encoding="utf-8",
                       date_format="%Y-%m-%d", header_row=1, headers={}, synthetic=synthetic)


def test_defaults_derive_ids_from_the_partner_id():
    spec = _spec("salford_allies", Synthetic())
    # initials of salford / allies, upper case, then '-'; six digits by default
    assert spec.referral_id(1) == "SA-000001"
    assert spec.activity_id(12) == "SA-A-000012"
    # re-referrals count from 9 followed by zeros at the id width: 9 * 10**5
    assert spec.rereferral_id_base == 900_000
    assert spec.variants == ("standard", "enhanced") and spec.instruments == ("WEMWBS",)
    assert _spec("bolton_ymca_works", Synthetic()).id_prefix == "BYW-"


def test_the_repository_partners_keep_their_ids():
    # what earlier versions hard-coded: ACT-{:06d}, MSC{:05d} from 10001, WWC-{:06d}; activities
    # ACT-A{:07d}, C{:06d} from 100001, WWC-A-{:06d}
    assert list(PARTNERS) == ["ancoats_trust", "mossside_carers", "wythenshawe_wellbeing"]
    ancoats, mossside, wythenshawe = PARTNERS.values()
    assert ancoats.referral_id(ancoats.synthetic.id_start) == "ACT-000001"
    assert mossside.referral_id(mossside.synthetic.id_start) == "MSC10001"
    assert mossside.rereferral_id_base == 90_000  # five digits: 9 * 10**4
    assert wythenshawe.referral_id(wythenshawe.rereferral_id_base + 2) == "WWC-900002"
    assert ancoats.activity_id(ancoats.synthetic.activity_id_start) == "ACT-A0000001"
    assert mossside.activity_id(mossside.synthetic.activity_id_start) == "C100001"
    assert mossside.line_terminator == "\r\n" and mossside.synthetic.name_variation.curly_apostrophe


@pytest.mark.parametrize(("block", "message"), [
    ({"instruments": ["WEMWBS", "K10"]}, "unknown wellbeing instruments"),
    ({"activity_mix": {"keyworker_session": 1, "bingo": 2}}, "unknown: \\['bingo'\\]"),
    ({"activity_mix": {"keyworker_session": 0}}, "one > 0"),
    ({"referral_weight": 0}, "greater than 0"),
    ({"id_prefix": "act-"}, "should match pattern"),
    ({"service_variants": ["only_one"]}, "service_variants.1\n  Field required"),
    ({"line_terminator": "\r"}, "line_terminator"),
    ({"postcode_messy": 1.5}, "less than or equal to 1"),
    ({"share_of_referrals": 0.3}, "Extra inputs are not permitted"),
])
def test_mistakes_in_the_synthetic_block_are_named(block, message):
    with pytest.raises(ValidationError, match=message):
        Synthetic.model_validate(block)
