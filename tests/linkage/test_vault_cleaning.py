"""Identifier cleaning for matching (worklink.identity.vault): validation, NINo suffix, names, bands."""

from __future__ import annotations

from datetime import date

import pandas as pd
from worklink.identity import vault
from worklink.linkage.attributes import borough_of
from worklink.linkage.config import load_config


def s(*values):
    return pd.Series(list(values), dtype=object)


def test_nhs_numbers_must_pass_modulus_11():
    out = vault.clean_nhs_number(s("943 476 5919", "9434765918", "943-476-5919", None, "12345"))
    assert out.tolist() == ["9434765919", None, "9434765919", None, None]


def test_nino_suffix_dropped_and_temporary_numbers_count_as_missing():
    out = vault.nino_stem(s("AB123456C", "ab 12 34 56 c", "AB123456", "TN010190M", "QQ123456C", "BG123456A", None))
    assert out.tolist() == ["AB123456", "AB123456", "AB123456", None, None, None, None]


def test_names_compare_as_upper_case_letters_only():
    out = vault.clean_name(s("O’Brien", "o'brien", "  OBRIEN ", "Zoë", "-", None))
    assert out.tolist() == ["OBRIEN", "OBRIEN", "OBRIEN", "ZOE", None, None]


def test_given_name_variants_share_a_canonical_form():
    out = vault.canonical_given_name(vault.clean_name(s("Bob", "Robert", "rob", "Liz", "Elizabeth", "Xanthe", None)))
    assert out.tolist() == ["ROBERT", "ROBERT", "ROBERT", "ELIZABETH", "ELIZABETH", "XANTHE", None]


def test_dates_of_birth_must_be_real_and_not_in_the_future():
    out = vault.clean_date_of_birth(s("1980-02-29", "1981-02-29", "1899-12-31", "2999-01-01", "bad", None),
                                    latest=date(2026, 4, 1))
    assert out.tolist() == ["1980-02-29", None, None, None, None, None]


def test_postcodes_normalised_invalid_ones_dropped_and_district_derived():
    clean = vault.clean_postcode(s("m145tq", "M14 5TQ", "BB1 1CI", "M14", None))
    assert clean.tolist() == ["M14 5TQ", "M14 5TQ", None, None, None]
    assert vault.postcode_district(clean).tolist() == ["M14", "M14", None, None, None]


def test_age_bands_at_a_date():
    age = vault.age_in_years(s("2000-06-15", "2000-06-15", "1960-01-01", None, "2012-01-01"),
                             s("2025-06-14", "2025-06-15", "2026-01-01", "2025-01-01", "2025-01-01"))
    assert age.tolist()[:3] == [24, 25, 66]
    bands = load_config().derived_attributes.age_bands
    assert vault.age_band(age, bands).tolist() == ["16-24", "25-34", "65+", None, None]


def test_borough_from_postcode_district():
    districts = s("M14", "BB3", "OL1", None)
    assert borough_of(districts, load_config()).tolist() == ["Manchester", "Blackburn with Darwen", "other", None]
