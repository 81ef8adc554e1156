"""Which comparison level a pair of cleaned names falls into, evaluated by DuckDB on the shipped SQL."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from worklink.linkage.config import load_config
from worklink.linkage.model import comparisons


def level_of(comparison: str, left: dict, right: dict) -> str:
    """The first level (in order) whose SQL condition holds for this pair, as Splink assigns it."""
    comp = next(c for c in comparisons(load_config()) if c["output_column_name"] == comparison)
    columns = sorted(set(left) | set(right))
    select = ", ".join([f"?::varchar as {c}_l" for c in columns] + [f"?::varchar as {c}_r" for c in columns])
    cases = " ".join(f"when {lv['sql_condition']} then {i}" for i, lv in enumerate(comp["comparison_levels"])
                     if lv["sql_condition"] != "ELSE")
    last = len(comp["comparison_levels"]) - 1
    with duckdb.connect() as con:
        (index,) = con.execute(f"select case {cases} else {last} end from (select {select})",
                               [left.get(c) for c in columns] + [right.get(c) for c in columns]).fetchone()
    return comp["comparison_levels"][index]["label_for_charts"]


@pytest.mark.parametrize(("left", "right", "level"), [
    # Jaro-Winkler ALI/AIL = 0.56 (2 of 3 letters in place), below both thresholds; one swap of neighbours
    ("ALI", "AIL", "one letter differs or two swapped (short names)"),
    # ANA/AMA: Jaro (2/3 + 2/3 + 1) / 3 = 0.778, + prefix 1 x 0.1 x 0.222 = 0.800, below 0.92; one letter
    ("ANA", "AMA", "one letter differs or two swapped (short names)"),
    ("JOHNSON", "JONSON", "Jaro-Winkler >= 0.92 (a typo)"),  # a long name: one letter is a typo by Jaro-Winkler
    # WONG/WANG: Jaro (3/4 + 3/4 + 1) / 3 = 0.833, + 1 x 0.1 x 0.167 = 0.850: the lower Jaro-Winkler level
    # comes first, so one edit only catches what Jaro-Winkler rates below 0.8
    ("WONG", "WANG", "Jaro-Winkler >= 0.8"),
    ("JONES", "JONES", "exact"),
    ("JONES", "KHAN", "all other"),  # two edits or more and Jaro-Winkler 0: nothing in common
    ("LI", "LE", "one letter differs or two swapped (short names)"),
])
def test_one_edit_in_a_short_family_name(left, right, level):
    assert level_of("surname", {"surname": left, "first_name": "X"}, {"surname": right, "first_name": "Y"}) == level


def test_given_name_levels_keep_their_order():
    def given(a: str, b: str) -> str:
        return level_of("first_name", {"first_name": a, "surname": "S1", "first_name_canonical": a},
                        {"first_name": b, "surname": "S2", "first_name_canonical": b})

    assert given("SAM", "SSM") == "one letter differs or two swapped (short names)"
    assert given("PAMELA", "PAMEIA") == "Jaro-Winkler >= 0.92 (a typo)"  # JW 0.93: the typo level comes first
    assert level_of("first_name", {"first_name": "ZOE", "surname": "DAVIES", "first_name_canonical": "ZOE"},
                    {"first_name": "DAVIES", "surname": "ZOE", "first_name_canonical": "DAVIES"}) == \
        "equals the other's family name (swapped)"



def test_street_words_are_abbreviated_one_way():
    """Terrace is written TER, TERR or TCE on forms; all three clean to TER, as Road and RD do."""
    from worklink.linkage.records import clean_address_line

    lines = pd.Series(["12 Willow Terrace", "12 willow terr.", "12 Willow Tce", "12 WILLOW TER", "Mill Road", " . "])
    cleaned = clean_address_line(lines)
    assert cleaned[:5].tolist() == ["12 WILLOW TER"] * 4 + ["MILL RD"]
    assert pd.isna(cleaned[5])  # nothing left
