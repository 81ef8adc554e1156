"""Realism of the synthetic identities: unique identifiers, a long-tailed surname distribution, and
extracts that carry what the real ones carry (RTI: name and postcode; DWP: the address held)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from worklink.synth.pools import build_name_pools
from worklink.synth.population import make_nhs_numbers, make_ninos


def test_identifiers_unique_per_person(clean_run):
    persons = pd.read_csv(clean_run / "_truth" / "persons.csv", dtype=str)
    nhs = persons["nhs_number"].dropna()
    nino = persons["ni_number"].dropna()
    assert len(nhs) > 0.9 * len(persons) and not nhs.duplicated().any()
    # unique even without the A-D suffix (linkage compares NINo stems)
    assert len(nino) > 0.9 * len(persons) and not nino.str[:8].duplicated().any()


def test_identifier_generators_honour_numbers_already_issued():
    rng = np.random.default_rng(1)
    seen_nhs: set[int] = set()
    seen_nino: set[str] = set()
    first = make_nhs_numbers(rng, 3000, seen_nhs), make_ninos(rng, 3000, seen_nino)
    second = make_nhs_numbers(rng, 3000, seen_nhs), make_ninos(rng, 3000, seen_nino)
    assert not set(first[0]) & set(second[0])
    assert not {n[:8] for n in first[1]} & {n[:8] for n in second[1]}
    assert len(seen_nhs) == 6000 and len(seen_nino) == 6000


def test_surname_frequencies_have_a_long_tail():
    pools = build_name_pools(11)
    names, p = pools["last"], pools["last_p"]
    assert len(names) == len(set(names)) > 20_000
    assert abs(p.sum() - 1) < 1e-9 and (np.diff(p) <= 0).all()
    assert names[0] == "Smith" and 0.005 < p[0] < 0.015  # a few very common names
    top = np.cumsum(p)
    assert 0.15 < top[99] < 0.35 and top[999] < 0.6  # ... and a long tail of rare ones
    assert all(n.encode("cp1252") for n in names)


def test_extracts_carry_names_and_postcodes(clean_run):
    persons = pd.read_csv(clean_run / "_truth" / "persons.csv", dtype=str).set_index("ni_number")
    hmrc = pd.read_csv(clean_run / "landing/hmrc/employment/HMRC_RTI_2026-03.csv", dtype=str)
    dwp = pd.read_csv(clean_run / "landing/dwp/benefits/DWP_benefits_2026-03.csv", dtype=str)
    h = hmrc.drop_duplicates("nino").join(persons, on="nino", rsuffix="_true")
    assert h["forename"].notna().mean() > 0.97 and h["postcode"].notna().mean() > 0.9
    # mostly as the person is, with some payroll variation (nicknames, keying errors, old addresses)
    same_surname = (h["surname"].str.upper() == h["last_name"].str.upper()).mean()
    assert 0.9 < same_surname < 1.0
    held = (h["postcode"] == h["postcode_true"]) | (h["postcode"] == h["previous_postcode"]) | h["postcode"].isna()
    assert held.all() and (h["postcode"] == h["postcode_true"]).mean() > 0.8
    d = dwp.drop_duplicates("nino").join(persons[["postcode", "previous_postcode"]], on="nino", rsuffix="_true")
    held = (d["postcode"] == d["postcode_true"]) | (d["postcode"] == d["previous_postcode"])
    assert held.all() and (d["postcode"] == d["postcode_true"]).mean() > 0.9
