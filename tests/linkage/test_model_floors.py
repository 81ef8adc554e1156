"""Model post-processing without a database: m floors, unobserved u, the model check, label pair counts."""

from __future__ import annotations

import numpy as np
import pytest
from worklink.linkage.config import load_config
from worklink.linkage.model import (
    LinkageModelError,
    apply_m_floors,
    check_model,
    comparisons,
    fill_unobserved_u,
    identifier_label_pairs,
    m_floors,
)


def _model(m_typo, m_else, m_exact=0.95):
    return {"probability_two_random_records_match": 1e-4, "comparisons": [
        {"output_column_name": "surname", "comparison_levels": [
            {"label_for_charts": "surname missing", "is_null_level": True},
            {"label_for_charts": "exact", "m_probability": m_exact, "u_probability": 0.01},
            {"label_for_charts": "typo", "m_probability": m_typo, "u_probability": None},
            {"label_for_charts": "all other", "m_probability": m_else, "u_probability": 0.98},
        ]},
        {"output_column_name": "nhs_number", "comparison_levels": [
            {"label_for_charts": "exact", "m_probability": 0.999, "fix_m_probability": True, "u_probability": 1e-6},
            {"label_for_charts": "different", "m_probability": 0.001, "fix_m_probability": True,
             "u_probability": 0.999999},
        ]},
    ]}


def test_a_level_training_never_saw_gets_its_floor_not_the_unobserved_fill():
    floors = {("surname", "typo"): 0.02, ("surname", "all other"): 0.01}
    model = apply_m_floors(_model(m_typo=None, m_else=0.05), floors, m_unobserved=0.001)
    m = [lv["m_probability"] for lv in model["comparisons"][0]["comparison_levels"][1:]]
    # by hand: [0.95, max(0, 0.02), max(0.05, 0.01)] = [0.95, 0.02, 0.05], sum 1.02, rescaled
    assert m == pytest.approx([0.95 / 1.02, 0.02 / 1.02, 0.05 / 1.02])
    assert sum(m) == pytest.approx(1.0)
    fixed = [lv["m_probability"] for lv in model["comparisons"][1]["comparison_levels"]]
    assert fixed == [0.999, 0.001], "fixed identifier levels are left alone"


def test_a_learnt_m_above_its_floor_is_kept_and_an_unfloored_unseen_level_gets_the_fill():
    floors = {("surname", "typo"): 0.02}
    model = apply_m_floors(_model(m_typo=0.04, m_else=0.01, m_exact=None), floors, m_unobserved=0.001)
    m = [lv["m_probability"] for lv in model["comparisons"][0]["comparison_levels"][1:]]
    # exact never seen and has no floor: 0.001; typo 0.04 (above 0.02); else 0.01. Sum 0.051.
    assert m == pytest.approx([0.001 / 0.051, 0.04 / 0.051, 0.01 / 0.051])


def test_unobserved_u_is_filled_and_check_model_names_a_bad_probability():
    model = fill_unobserved_u(_model(m_typo=0.02, m_else=0.03), u_unobserved=1e-6)
    assert model["comparisons"][0]["comparison_levels"][2]["u_probability"] == 1e-6
    check_model(model)  # every probability usable
    model["comparisons"][0]["comparison_levels"][3]["m_probability"] = float("nan")
    with pytest.raises(LinkageModelError, match=r"m_probability of 'surname' level 'all other' is nan"):
        check_model(model)
    model["probability_two_random_records_match"] = 0.0
    with pytest.raises(LinkageModelError, match="the prior is 0.0"):
        check_model(model)


def test_every_non_exact_level_of_the_real_comparisons_has_a_floor():
    config = load_config()
    floors = m_floors(config)
    for comp in comparisons(config):
        if comp["output_column_name"] in ("nhs_number", "nino_stem"):
            continue
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for level in levels[1:]:  # every level below full agreement
            label = level["label_for_charts"]
            assert floors.get((comp["output_column_name"], label), 0) >= 0.002, (comp["output_column_name"], label)


def test_identifier_label_pairs():
    # groups {0: 3 records, 5: 2 records}, unlabelled -1 ignored: 3 + 1 = 4 pairs
    assert identifier_label_pairs(np.array([0, 0, 0, 5, 5, -1, -1, 7])) == 4
    assert identifier_label_pairs(np.array([-1, -1])) == 0


def test_prior_fixed_point_by_hand():
    from worklink.linkage.model import prior_fixed_point

    prior0 = 1e-4
    shift = np.log2(prior0 / (1 - prior0))  # match weight = log2 Bayes factor + log2 prior odds
    # two certain pairs (Bayes factor 2^40, p = 1) and one with Bayes factor 1 (p = lambda), of
    # 1,000 pairs: lambda = (2 + lambda) / 1000 -> lambda = 2 / 999
    weights = np.array([40.0, 40.0, 0.0]) + shift
    assert prior_fixed_point(weights, prior0, total_pairs=1000) == pytest.approx(2 / 999, rel=2e-3)
    # nothing scored: kept to one pair in the whole file, never 0
    assert prior_fixed_point(np.array([]), prior0, total_pairs=1000) == pytest.approx(1 / 1000)
