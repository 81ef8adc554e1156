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


def _records(rows: list[tuple]) -> pd.DataFrame:
    raw = pd.DataFrame(rows, columns=["source_record_key", "first_name", "surname", "dob", "postcode", "address_line"])
    return clean_records(raw.assign(source_system="p", record_date=None, extract_period=None, sex=None,
                                    nhs_number=None, nino=None, house_number=None))


def _shipped_blocked(recs: pd.DataFrame, truth: pd.Series) -> int:
    from worklink.linkage.config import load_config

    return blocking_recall(recs, truth, load_config().model.blocking_rules, unlinkable=set())["blocked"]


def test_block_sizes_count_records_sharing_the_key():
    from worklink.linkage.model import block_sizes

    frame = pd.DataFrame({"a": ["X", "X", None, "Y", "X"], "b": ["1", "1", "1", "2", "2"]})
    # (X,1) twice -> 2, 2; a missing value -> no size; (Y,2) and (X,2) once each -> 1, 1
    assert block_sizes(frame, ("a", "b")).tolist() == [2, 2, pd.NA, 1, 1]


def test_swapped_names_with_a_typo_meet_by_crossed_initials_at_one_postcode():
    """GABRIEL MOULTON vs MOULTON GABRNEL at one postcode, another date of birth, no street.

    By hand: the swap rule compares sounds, GABRIEL G164 vs GABRNEL G165 (N counts), so it misses;
    postcode + given initial G vs M, postcode + family sound M435 vs G165 miss too. Crossed
    initials: G = G and M = M at WN2 1JD -> proposed."""
    recs = _records([("p:F1", "Gabriel", "Moulton", "1982-02-17", "WN2 1JD", None),
                     ("p:F2", "Moulton", "Gabrnel", "1945-06-03", "WN2 1JD", None)])
    assert _shipped_blocked(recs, pd.Series({"p:F1": 1, "p:F2": 1})) == 1


def test_a_mistyped_street_meets_by_its_first_letters_with_the_date_of_birth():
    """Two given names for one person, no family name, another house and postcode, one date of birth.

    By hand: streets EAGLEMONT RETREAT vs EAGLEMONTRETREAT are not equal (the exact street rules
    miss), house 8 vs 2, WA4 0GA vs WA0 4GA (not one sector), given names differ. Their first three
    letters, EAG = EAG, with the date of birth 1939-08-18 -> proposed."""
    recs = _records([("p:G1", "Jack", None, "1939-08-18", "WA4 0GA", "8 Eaglemont Retreat"),
                     ("p:G2", "Tahni", None, "1939-08-18", "WA0 4GA", "2 Eaglemontretreat")])
    assert recs["address_line"].tolist() == ["EAGLEMONT RETREAT", "EAGLEMONTRETREAT"]
    assert _shipped_blocked(recs, pd.Series({"p:G1": 1, "p:G2": 1})) == 1


def test_names_by_sound_alone_only_where_the_sound_is_rare():
    """AOIFE BRANNIGAN vs AIOFE BRANIGAN: names by sound only (date of birth, postcode both changed).

    By hand: Soundex A100 / B652 on both (A-O-I-F: F=1; B-R=6-N=5-G=2, doubled N once). Two records
    share (A100, B652): block size 2 <= 5 -> proposed. Five namesakes more (same sounds, other
    dates and places) make the block 7 > 5: the rule no longer proposes any of its pairs, so the
    true pair is not blocked (a common name would cost n(n-1)/2 pairs: 21 here)."""
    pair = [("p:H1", "Aoife", "Brannigan", "1970-01-01", "M14 5TQ", None),
            ("p:H2", "Aiofe", "Branigan", "1985-07-09", "OL1 3NF", None)]
    truth = pd.Series({"p:H1": 1, "p:H2": 1})
    recs = _records(pair)
    assert recs[["first_soundex", "surname_soundex"]].drop_duplicates().values.tolist() == [["A100", "B652"]]
    assert _shipped_blocked(recs, truth) == 1
    namesakes = [(f"p:N{i}", "Aoife", "Brannigan", f"19{60 + i}-03-0{i}", f"BB{i} 1AA", None) for i in range(1, 6)]
    crowded = _records(pair + namesakes)
    from worklink.linkage.model import model_frame

    assert model_frame(crowded)["names_sound_block_size"].tolist() == [7] * 7
    assert _shipped_blocked(crowded, pd.Series({**truth, **{k: 10 + i for i, (k, *_r) in enumerate(namesakes)}})) == 0
