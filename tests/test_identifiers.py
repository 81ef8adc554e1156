import numpy as np
import pandas as pd
import pytest
from worklink.identifiers import (
    is_temporary_nino,
    is_valid_nhs_number,
    is_valid_nino,
    is_valid_postcode,
    nhs_number_check_digit,
    normalise_nhs_number,
    normalise_nino,
    normalise_postcode,
    postcode_district,
    temporary_nino_mask,
    valid_nhs_number_mask,
    valid_nino_mask,
    valid_postcode_mask,
)

# ------------------------------------------------------------------------------------------------ NHS number
GOOD_NHS = ["9434765919", "943 476 5919", "943-476-5919", "4010232137", "9990000018", 9434765919]
BAD_NHS = [
    "9434765918",
    "943476591",
    "94347659190",
    "943476591X",
    "",
    None,
    float("nan"),
    "abcdefghij",
    "1000000010",
]  # 1000000010: weighted sum 10 -> 11 - 10 = 10 -> no valid check digit


def test_check_digit_examples():
    assert nhs_number_check_digit("943476591") == 9
    assert nhs_number_check_digit("401023213") == 7
    assert nhs_number_check_digit("999000001") == 8  # 245 mod 11 = 3 -> 8
    assert nhs_number_check_digit("000000000") == 0  # sum 0 -> 11 -> 0
    assert nhs_number_check_digit("100000001") is None  # 10 + 2 = 12 -> 11 - 1 = 10 -> invalid
    assert nhs_number_check_digit("12345678") is None
    assert nhs_number_check_digit("12345678a") is None


def test_check_digit_ten_means_invalid():
    first9 = "100000001"
    assert nhs_number_check_digit(first9) is None
    assert not any(is_valid_nhs_number(first9 + str(d)) for d in range(10))


def test_check_digit_eleven_maps_to_zero():
    assert is_valid_nhs_number("0000000000")
    # a body whose weighted sum is a multiple of 11: 11 - 0 = 11 -> check digit 0
    weights = range(10, 1, -1)
    body = next(
        f"{i:09d}"
        for i in range(1000, 100000)
        if sum(int(d) * w for d, w in zip(f"{i:09d}", weights, strict=True)) % 11 == 0
    )
    assert nhs_number_check_digit(body) == 0
    assert is_valid_nhs_number(body + "0")


@pytest.mark.parametrize("value", GOOD_NHS)
def test_valid_nhs(value):
    assert is_valid_nhs_number(value)


@pytest.mark.parametrize("value", BAD_NHS)
def test_invalid_nhs(value):
    assert not is_valid_nhs_number(value)


def test_normalise_nhs():
    assert normalise_nhs_number(" 943 476 5919 ") == "9434765919"
    assert normalise_nhs_number("943 476 591") is None


def test_nhs_mask_matches_scalar():
    values = GOOD_NHS + BAD_NHS
    mask = valid_nhs_number_mask(pd.Series(values, dtype=object))
    assert mask.tolist() == [is_valid_nhs_number(v) for v in values]
    floats = pd.Series([9434765919.0, np.nan])
    assert valid_nhs_number_mask(floats).tolist() == [True, False]


# ------------------------------------------------------------------------------------------------------ NINo
GOOD_NINO = [
    "AB123456C",
    "ab 12 34 56 c",
    "AB-12-34-56-D",
    "AB123456",
    "ZY123456A",
    "JG103759A",
    "CE123456B",
    "OA123456A",
]
BAD_NINO = [
    "DA123456A",
    "FA123456A",
    "IA123456A",
    "QA123456A",
    "UA123456A",
    "VA123456A",  # bad first letter
    "AD123456A",
    "AF123456A",
    "AI123456A",
    "AO123456A",
    "AQ123456A",
    "AU123456A",
    "AV123456A",  # bad second
    "BG123456A",
    "GB123456A",
    "KN123456A",
    "NK123456A",
    "NT123456A",
    "TN123456A",
    "ZZ123456A",  # prefixes
    "AB123456E",
    "AB12345A",
    "AB1234567",
    "A1123456A",
    "",
    None,
    "TN010190M",
]


@pytest.mark.parametrize("value", GOOD_NINO)
def test_valid_nino(value):
    assert is_valid_nino(value)


@pytest.mark.parametrize("value", BAD_NINO)
def test_invalid_nino(value):
    assert not is_valid_nino(value)


def test_temporary_nino():
    assert is_temporary_nino("TN010190M")
    assert is_temporary_nino("tn 31 12 85 f")
    assert not is_temporary_nino("TN320190M")  # day 32
    assert not is_temporary_nino("TN011390F")  # month 13
    assert not is_temporary_nino("AB123456C")
    assert not is_temporary_nino(None)
    assert temporary_nino_mask(pd.Series(["TN010190M", "AB123456C", None])).tolist() == [True, False, False]


def test_normalise_nino():
    assert normalise_nino(" ab 12-34 56 c ") == "AB123456C"
    assert normalise_nino("") is None
    assert normalise_nino(None) is None


def test_nino_mask_matches_scalar():
    values = GOOD_NINO + BAD_NINO
    assert valid_nino_mask(pd.Series(values, dtype=object)).tolist() == [is_valid_nino(v) for v in values]


# -------------------------------------------------------------------------------------------------- Postcode
GOOD_PC = [
    "M14 5TQ",
    "m145tq",
    "BB2 4JH",
    "BB1 1AA",
    "M1 1AE",
    "EC1A 1BB",
    "W1A 0AX",
    "SW1A 2AA",
    "CR2 6XH",
    "DN55 1PT",
    "GIR 0AA",
    " bb3  2ln ",
]
BAD_PC = [
    "M14 5T",
    "M14 5TC",
    "14 5TQ",
    "QM1 1AA",
    "MM1C 1AA",
    "M14 5CI",
    "M145",
    "",
    None,
    "BB2 4JHX",
    "M14 ETQ",
]


@pytest.mark.parametrize("value", GOOD_PC)
def test_valid_postcode(value):
    assert is_valid_postcode(value)


@pytest.mark.parametrize("value", BAD_PC)
def test_invalid_postcode(value):
    assert not is_valid_postcode(value)


def test_normalise_postcode_and_district():
    assert normalise_postcode(" m14   5tq ") == "M14 5TQ"
    assert normalise_postcode("bb24jh") == "BB2 4JH"
    assert normalise_postcode("") is None
    assert postcode_district("m145tq") == "M14"
    assert postcode_district("BB3 2LN") == "BB3"
    assert postcode_district("M14 5T") is None


def test_postcode_mask_matches_scalar():
    values = GOOD_PC + BAD_PC
    assert valid_postcode_mask(pd.Series(values, dtype=object)).tolist() == [
        is_valid_postcode(v) for v in values
    ]


def test_masks_keep_index_and_scale():
    s = pd.Series(["9434765919", "9434765918"] * 50_000, index=np.arange(100_000) * 2)
    mask = valid_nhs_number_mask(s)
    assert mask.index.equals(s.index)
    assert mask.sum() == 50_000
