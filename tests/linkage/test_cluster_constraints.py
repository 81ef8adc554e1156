"""One-to-one within a partner's file: no chaining of two same-name people through a third record."""

from __future__ import annotations

import numpy as np
import pandas as pd
from worklink.linkage.cluster import cluster, empty_edges

# records: 0 and 1 are two John Smiths in Ancoats' file (different dates of birth, never linked to
# each other), 2 is a John Smith referral at Moss Side resembling both, 3 another Ancoats referral
SOURCE = np.array(["ancoats_trust", "ancoats_trust", "mossside_carers", "ancoats_trust"], dtype=object)
NO_IDS: dict = {}
NO_DECISIONS = pd.DataFrame({"l": pd.Series(dtype="int64"), "r": pd.Series(dtype="int64")})


def edges(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["l", "r", "method", "match_probability", "match_weight"])


def test_a_third_record_does_not_chain_two_people_of_one_partner():
    e = edges((0, 2, "probabilistic", 0.97, 8.0), (1, 2, "probabilistic", 0.95, 7.0))
    # 0~2 and 1~2 were scored and agree; 0~1 were compared and disagree (not in the set)
    out = cluster(4, e, NO_IDS, NO_DECISIONS, SOURCE, agreeing={(0, 2), (1, 2)})
    # the stronger link (0~2, 0.97) is made first; 1~2 would put 0 and 1 together: held back
    assert out.labels.tolist() == [0, 1, 0, 3]
    assert out.blocked[["l", "r", "reason"]].values.tolist() == [[1, 2, "same_partner_records_disagree"]]


def test_two_records_of_one_partner_that_agree_may_share_a_participant():
    e = edges((0, 2, "probabilistic", 0.97, 8.0), (1, 2, "probabilistic", 0.95, 7.0))
    out = cluster(4, e, NO_IDS, NO_DECISIONS, SOURCE, agreeing={(0, 2), (1, 2), (0, 1)})
    assert out.labels.tolist() == [0, 0, 0, 3] and out.blocked.empty


def test_identifier_links_come_first_and_are_never_held_back_and_without_sources_nothing_changes():
    e = edges((0, 2, "probabilistic", 0.97, 8.0), (1, 2, "deterministic_nhs_number", 1.0, np.nan))
    out = cluster(4, e, NO_IDS, NO_DECISIONS, SOURCE, agreeing={(0, 2), (1, 2)})
    # the NHS-number link 1~2 is applied first; the probabilistic 0~2 would then join 0 and 1: held back
    assert out.labels.tolist() == [0, 1, 1, 3]
    assert out.blocked["reason"].tolist() == ["same_partner_records_disagree"]
    e = edges((0, 1, "deterministic_ni_number", 1.0, np.nan))  # identifiers may join one partner's records
    assert cluster(4, e, NO_IDS, NO_DECISIONS, SOURCE, set()).labels.tolist() == [0, 0, 2, 3]
    e = edges((0, 2, "probabilistic", 0.97, 8.0), (1, 2, "probabilistic", 0.95, 7.0))
    assert cluster(4, e, NO_IDS, NO_DECISIONS).labels.tolist() == [0, 0, 0, 3]
    assert cluster(4, empty_edges(), NO_IDS, NO_DECISIONS, SOURCE, set()).labels.tolist() == [0, 1, 2, 3]
