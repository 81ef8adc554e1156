"""Blocking recall: which true pairs the blocking rules propose, computed by hand on five records."""

from __future__ import annotations

import pandas as pd
from worklink.linkage.evaluate import blocking_recall, candidate_pair_counts
from worklink.linkage.records import clean_records

RULES = ["l.dob = r.dob and l.surname_initial = r.surname_initial", "l.postcode = r.postcode and l.surname = r.surname"]


def records() -> pd.DataFrame:
    rows = [  # key, given, family, dob, postcode
        ("p:A1", "Ann", "Lee", "1980-01-02", "M14 5TQ"),
        ("p:A2", "Anne", "Leigh", "1980-01-02", None),       # same dob, same initial: rule 1
        ("p:B1", "Omar", "Said", "1975-05-06", "M22 5RT"),
        ("p:B2", "Said", "Omar", "1975-06-05", "M40 7QR"),   # swapped names, transposed dob, moved: no rule
        ("p:C1", "Carl", "Lee", "1980-01-02", "M14 5TQ"),    # another person: blocked with A1 (both rules), A2
    ]
    raw = pd.DataFrame(rows, columns=["source_record_key", "first_name", "surname", "dob", "postcode"])
    raw = raw.assign(source_system="p", record_date=None, extract_period=None, sex=None, nhs_number=None, nino=None,
                     address_line=None, house_number=None)
    return clean_records(raw)


def test_recall_counts_true_pairs_a_rule_proposes():
    recs = records()
    truth = pd.Series({"p:A1": 1, "p:A2": 1, "p:B1": 2, "p:B2": 2, "p:C1": 3})
    out = blocking_recall(recs, truth, RULES, unlinkable=set())
    # true pairs: A1~A2 (rule 1), B1~B2 (none) -> 1 of 2
    assert (out["true_pairs"], out["blocked"], out["recall"]) == (2, 1, 0.5)
    assert out["linkable_recall"] == 0.5 and out["linkable_missed_examples"] == ["p:B1 ~ p:B2"]
    # B1~B2 called unlinkable: every linkable pair is blocked
    assert blocking_recall(recs, truth, RULES, unlinkable={("p:B2", "p:B1")})["linkable_recall"] == 1.0


def test_candidate_pairs_per_rule_are_counted_once():
    out = candidate_pair_counts(records(), RULES)
    # rule 1: dob 1980-01-02 with initial L: A1, A2, C1 -> 3 pairs; rule 2 adds nothing new (A1~C1 again)
    assert out["candidate_pairs"] == 3 and out["possible_pairs"] == 10
    assert [r["added"] for r in out["per_rule"]] == [3, 0]


def test_shipped_rules_propose_swapped_names_by_their_sound():
    """B1~B2 (names swapped, day and month transposed, moved) meets no equality rule; the Soundex
    swap rule of settings.yml proposes it: OMAR/SAID vs SAID/OMAR -> O560/S300 both ways."""
    from worklink.linkage.config import load_config

    recs = records()
    assert recs.set_index("source_record_key").loc["p:B2", ["first_soundex", "surname_soundex"]].tolist() == [
        "S300", "O560"]
    truth = pd.Series({"p:A1": 1, "p:A2": 1, "p:B1": 2, "p:B2": 2, "p:C1": 3})
    assert blocking_recall(recs, truth, RULES, unlinkable=set())["blocked"] == 1
    out = blocking_recall(recs, truth, load_config().model.blocking_rules, unlinkable=set())
    assert (out["true_pairs"], out["blocked"]) == (2, 2)


def test_swapped_nickname_meets_by_the_sound_of_the_name_as_written():
    """BETH COPWICK vs COPWICK BET (names swapped, "H" dropped, year of birth mistyped, moved).

    By hand: BETH's canonical form is ELIZABETH (Soundex E421), but in the family-name box "BET" is
    not canonicalised (B300). The swap rule compares the given name as written: BETH -> B300 = BET
    -> B300, and COPWICK -> C120 both ways; with the canonical form (E421 vs B300) it never meets.
    """
    from worklink.linkage.config import load_config

    raw = pd.DataFrame([("p:D1", "Beth", "Copwick", "1973-10-10", "BB2 2TW"),
                        ("p:D2", "Copwick", "Bet", "1974-10-10", "M14 5TQ")],
                       columns=["source_record_key", "first_name", "surname", "dob", "postcode"])
    recs = clean_records(raw.assign(source_system="p", record_date=None, extract_period=None, sex=None,
                                    nhs_number=None, nino=None, address_line=None, house_number=None))
    by_key = recs.set_index("source_record_key")
    assert by_key.loc["p:D1", ["first_soundex", "given_soundex", "surname_soundex"]].tolist() == [
        "E421", "B300", "C120"]
    truth = pd.Series({"p:D1": 1, "p:D2": 1})
    canonical_swap = ["l.first_soundex = r.surname_soundex and l.surname_soundex = r.first_soundex"]
    assert blocking_recall(recs, truth, canonical_swap, unlinkable=set())["blocked"] == 0
    assert blocking_recall(recs, truth, load_config().model.blocking_rules, unlinkable=set())["blocked"] == 1
