"""Pseudonym tokens: the fast path is HMAC-SHA256 exactly, per distinct value."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest
from worklink.identity import pseudonyms


@pytest.fixture(autouse=True)
def fixed_key(monkeypatch):
    monkeypatch.setenv("WORKLINK_PSEUDONYM_KEY", "00" * 31 + "2a")


def test_tokens_equal_hmac_sha256_of_each_value():
    values = pd.Series(["AB123456C", "QQ123456", "AB123456C", None, "O'Brien|ZOË|1980-01-01", "x" * 300],
                       dtype="str")
    made = pseudonyms.tokens("ni_number", values)
    key = pseudonyms._subkey("ni_number", pseudonyms._master_key())
    for value, token in zip(values, made, strict=True):
        if value is None or pd.isna(value):
            assert pd.isna(token)
        else:
            assert token == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
            assert token == pseudonyms.token("ni_number", value)
    assert made.iloc[0] == made.iloc[2] and made.iloc[0] != made.iloc[1]


def test_kinds_have_separate_keys():
    value = pd.Series(["9434765919"], dtype="str")
    assert pseudonyms.tokens("nhs_number", value).iloc[0] != pseudonyms.tokens("ni_number", value).iloc[0]


@pytest.mark.parametrize("key_length", [1, 32, 64, 65, 200])
def test_prepared_key_states_match_hmac_for_any_key_length(key_length):
    key = bytes(range(256))[:key_length]
    inner, outer = pseudonyms._keyed_states(key)
    h = inner.copy()
    h.update(b"value")
    o = outer.copy()
    o.update(h.digest())
    assert o.hexdigest() == hmac.new(key, b"value", hashlib.sha256).hexdigest()
