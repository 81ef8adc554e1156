"""The probabilistic model: Splink 5 (Fellegi-Sunter) on DuckDB, built from ``settings.yml``.

Every comparison is written out as SQL levels here so the model charts and the stored model JSON
say exactly what was compared. Inputs are the cleaned columns from ``records.clean_records``
(upper-case letters-only names, ISO dates of birth, ``"M14 5TQ"`` postcodes, validated NHS
numbers, NINo stems); identifiers stay inside the in-memory DuckDB database and only ids, scores
and comparison levels come back out.

Training (unsupervised, as Splink recommends): the prior from deterministic rules with an assumed
recall, u probabilities from random pairs, m probabilities by expectation maximisation in two
sessions (blocked on date of birth, then on names) so every comparison gets estimated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from worklink.linkage.config import LinkageConfig

MODEL_COLUMNS = [
    "unique_id", "first_name", "first_name_canonical", "surname", "surname_initial", "full_name", "dob",
    "postcode", "sex", "nhs_number", "nino_stem", "birth_year", "postcode_district",
]
COMPARISON_NAMES = ["name", "family_name_only", "given_name_only", "dob", "postcode", "sex", "nhs_number",
                    "nino_stem"]


def _null(col: str) -> dict[str, Any]:
    return {"sql_condition": f'"{col}_l" IS NULL OR "{col}_r" IS NULL', "label_for_charts": f"{col} missing",
            "is_null_level": True}


def _else(label: str = "all other") -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": label}


F, S, C, N = "first_name", "surname", "first_name_canonical", "full_name"


def _lvl(cond: str, label: str, tf_col: str | None = None, tf: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"sql_condition": cond, "label_for_charts": label}
    if tf and tf_col:
        out.update(tf_adjustment_column=tf_col, tf_adjustment_weight=1.0)
    return out


def _jw(col: str, threshold: float) -> str:
    return f'jaro_winkler_similarity("{col}_l", "{col}_r") >= {threshold}'


def _name_comparisons(jw: float, tf: bool) -> list[dict[str, Any]]:
    """Names as three comparisons, exactly one of which applies to a pair (the others are null).

    * ``name``: both records have a given and a family name. Compared as a whole, so agreement is
      weighed by how common the *whole* name is (term frequency of ``full_name``): given and family
      names are not independent (one naming tradition), two common halves can make a rare whole.
    * ``family_name_only``: one side has no given name (a DWP record has only a surname).
    * ``given_name_only``: one side has no family name.

    Keeping "which names are present" out of the levels keeps term-frequency adjustments honest:
    a level's u must not mix the chance of a missing name with the chance of a shared one.
    """
    both_full = f'"{F}_l" IS NOT NULL AND "{S}_l" IS NOT NULL AND "{F}_r" IS NOT NULL AND "{S}_r" IS NOT NULL'
    family_only = f'("{F}_l" IS NULL OR "{F}_r" IS NULL) AND "{S}_l" IS NOT NULL AND "{S}_r" IS NOT NULL'
    given_only = (f'("{S}_l" IS NULL OR "{S}_r" IS NULL) AND "{F}_l" IS NOT NULL AND "{F}_r" IS NOT NULL'
                  f' AND NOT ({family_only})')
    return [
        {"output_column_name": "name", "comparison_description": "given + family name (both records have both)",
         "comparison_levels": [
             {"sql_condition": f"NOT ({both_full})", "label_for_charts": "a name missing", "is_null_level": True},
             _lvl(f'"{N}_l" = "{N}_r"', "full name exact", N, tf),
             _lvl(f'"{F}_l" = "{S}_r" AND "{S}_l" = "{F}_r"', "given and family names swapped"),
             _lvl(f'"{S}_l" = "{S}_r" AND "{C}_l" = "{C}_r"', "family name exact, given name a variant (Bob/Robert)"),
             _lvl(f"{_jw(F, jw)} AND {_jw(S, jw)}", f"both names Jaro-Winkler >= {jw} (typos)"),
             _lvl(f'"{S}_l" = "{S}_r"', "family name exact, given names differ", S, tf),
             _lvl(f'"{F}_l" = "{F}_r"', "given name exact, family names differ", F, tf),
             _else(),
         ]},
        {"output_column_name": "family_name_only", "comparison_description": "family name, one given name unknown",
         "comparison_levels": [
             {"sql_condition": f"NOT ({family_only})", "label_for_charts": "not this case", "is_null_level": True},
             _lvl(f'"{S}_l" = "{S}_r"', "family name exact", S, tf),
             _lvl(_jw(S, jw), f"family name Jaro-Winkler >= {jw}"),
             _lvl(f'"{S}_l" = "{F}_r" OR "{F}_l" = "{S}_r"', "family name = the other's given name (swapped)"),
             _else(),
         ]},
        {"output_column_name": "given_name_only", "comparison_description": "given name, one family name unknown",
         "comparison_levels": [
             {"sql_condition": f"NOT ({given_only})", "label_for_charts": "not this case", "is_null_level": True},
             _lvl(f'"{F}_l" = "{F}_r"', "given name exact", F, tf),
             _lvl(f'"{C}_l" = "{C}_r"', "given name a variant (Bob/Robert)"),
             _lvl(_jw(F, jw), f"given name Jaro-Winkler >= {jw}"),
             _else(),
         ]},
    ]


def comparisons(config: LinkageConfig) -> list[dict[str, Any]]:
    """Splink comparison dicts (levels in order of decreasing agreement)."""
    c = config.model.comparisons
    sector = "split_part(\"postcode_{s}\", ' ', 1) || ' ' || substr(split_part(\"postcode_{s}\", ' ', 2), 1, 1)"
    district = "split_part(\"postcode_{s}\", ' ', 1)"
    area = "regexp_extract(\"postcode_{s}\", '^[A-Z]+')"
    return [
        *_name_comparisons(c.name.jaro_winkler, c.name.term_frequency_adjustments),
        {"output_column_name": "dob", "comparison_description": "date of birth",
         "comparison_levels": [
             _null("dob"),
             {"sql_condition": '"dob_l" = "dob_r"', "label_for_charts": "exact"},
             {"sql_condition": "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = "
                               "substr(dob_r, 9, 2) AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
              "label_for_charts": "day and month transposed"},
             {"sql_condition": "damerau_levenshtein(dob_l, dob_r) <= 1", "label_for_charts": "one character differs"},
             {"sql_condition": "substr(dob_l, 1, 4) = substr(dob_r, 1, 4)", "label_for_charts": "same year"},
             _else(),
         ]},
        {"output_column_name": "postcode", "comparison_description": "postcode (people move)",
         "comparison_levels": [
             _null("postcode"),
             {"sql_condition": '"postcode_l" = "postcode_r"', "label_for_charts": "exact"},
             {"sql_condition": f"{sector.format(s='l')} = {sector.format(s='r')}", "label_for_charts": "same sector"},
             {"sql_condition": f"{district.format(s='l')} = {district.format(s='r')}",
              "label_for_charts": "same district"},
             {"sql_condition": f"{area.format(s='l')} = {area.format(s='r')}", "label_for_charts": "same area"},
             _else(),
         ]},
        {"output_column_name": "sex", "comparison_description": "sex",
         "comparison_levels": [_null("sex"), {"sql_condition": '"sex_l" = "sex_r"', "label_for_charts": "exact"},
                               _else("different")]},
        _identifier("nhs_number", "valid NHS number", c.nhs_number.m_when_different, c.nhs_number.u_when_equal),
        _identifier("nino_stem", "valid NI number without suffix", c.ni_number.m_when_different,
                    c.ni_number.u_when_equal),
    ]


def _identifier(col: str, description: str, m_when_different: float, u_when_equal: float) -> dict[str, Any]:
    """Exact / different / missing, with m and u fixed from what the identifier guarantees.

    Neither can be learnt here. EM and labels see true matches (almost) never carrying two
    different valid numbers, so m("different") collapses towards 0 and underflows. Random-pair u
    is contaminated: a pair sharing a NINo is nearly always the same person (the DWP and HMRC
    records of one person), not a coincidence. The configuration says how often one person is
    recorded with two different valid numbers (m) and how often two people share one (u).
    """
    return {"output_column_name": col, "comparison_description": description,
            "comparison_levels": [
                _null(col),
                {"sql_condition": f'"{col}_l" = "{col}_r"', "label_for_charts": "exact",
                 "m_probability": 1 - m_when_different, "fix_m_probability": True,
                 "u_probability": u_when_equal, "fix_u_probability": True},
                {"sql_condition": "ELSE", "label_for_charts": "different valid numbers",
                 "m_probability": m_when_different, "fix_m_probability": True,
                 "u_probability": 1 - u_when_equal, "fix_u_probability": True},
            ]}


def splink_settings(config: LinkageConfig) -> dict[str, Any]:
    return {
        "link_type": config.model.link_type,
        "unique_id_column_name": "unique_id",
        "comparisons": comparisons(config),
        "blocking_rules_to_generate_predictions": list(config.model.blocking_rules),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "probability_two_random_records_match": 1e-5,
        "max_iterations": 25,
        "em_convergence": 1e-4,
    }


@dataclass
class TrainedModel:
    version: str
    fingerprint: str
    model: dict[str, Any]  # Splink model JSON (settings + trained m/u), no identifiers
    records_at_training: int
    training_seconds: float
    charts: dict[str, str]


def model_fingerprint(config: LinkageConfig) -> str:
    """Changes when anything that shapes the trained model changes: the settings file's model block
    and the comparison SQL built here (so a code change to a comparison retrains too)."""
    text = json.dumps({"settings": splink_settings(config), "model": config.model.model_dump()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def model_version(model: dict[str, Any]) -> str:
    stable = {k: v for k, v in model.items() if k != "linker_uid"}
    return "lm-" + hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:10]


def _db_api(config: LinkageConfig):
    import duckdb
    from splink import DuckDBAPI

    con = duckdb.connect()
    con.execute(f"set threads = {int(config.duckdb.threads)}")
    con.execute(f"set memory_limit = '{config.duckdb.memory_limit}'")
    con.execute("set preserve_insertion_order = false")
    return DuckDBAPI(connection=con)


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _model_frame(records: pd.DataFrame) -> pd.DataFrame:
    return records[MODEL_COLUMNS].copy()


def train_model(records: pd.DataFrame, config: LinkageConfig, charts_dir: Path | None = None,
                progress: Callable[[str], None] | None = None) -> TrainedModel:
    """Estimate the model on the current records; save the model charts as HTML when asked."""
    from splink import Linker

    say = progress or (lambda _m: None)
    _quiet_splink()
    started = time.perf_counter()
    db_api = _db_api(config)
    frame = _model_frame(records)
    if "identifier_label" in records:
        frame["identifier_label"] = pd.array(records["identifier_label"].where(records["identifier_label"] >= 0),
                                             dtype="Int64")
    table = db_api.register(frame, table_name="source_records")
    linker = Linker(table, splink_settings(config), log_level=None)
    training = config.model.training
    linker.training.estimate_probability_two_random_records_match(training.prior_rules, recall=training.prior_recall)
    say("training: prior from deterministic rules done")
    linker.training.estimate_u_using_random_sampling(max_pairs=training.u_max_pairs, seed=training.seed)
    say("training: u probabilities from random pairs done")
    if training.m_from_identifier_labels and "identifier_label" in frame:
        linker.training.estimate_m_from_label_column("identifier_label")
        say("training: m probabilities from records sharing a valid NHS/NI number done")
    for rule in training.em_blocking_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=training.em_max_pairs)
        say(f"training: EM blocked on {rule!r} done")
    model = fill_unobserved_levels(linker.misc.save_model_to_json(), training.m_unobserved,
                                   u_unobserved=1.0 / training.u_max_pairs)
    linker = Linker(db_api.register(frame.iloc[0:0], table_name="model_for_charts"), model, log_level=None)
    version = model_version(model)
    charts: dict[str, str] = {}
    if charts_dir is not None:
        charts = save_model_charts(linker, charts_dir, version)
    return TrainedModel(version=version, fingerprint=model_fingerprint(config), model=model,
                        records_at_training=len(records), training_seconds=time.perf_counter() - started,
                        charts=charts)


def fill_unobserved_levels(model: dict[str, Any], m_unobserved: float, u_unobserved: float) -> dict[str, Any]:
    """Give levels never seen in training a small probability instead of none.

    Splink leaves m (or u) empty for a level that no training pair fell into, and a level with no
    weight makes the whole match weight NULL for every pair that hits it. Unseen among true
    matches means rare, not impossible (a sex recorded differently, a one-digit date typo), so m
    gets ``m_unobserved``; unseen among random pairs means rarer than one in the pairs sampled.
    """
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            if not isinstance(level.get("m_probability"), (int, float)):
                level["m_probability"] = m_unobserved
            if not isinstance(level.get("u_probability"), (int, float)):
                level["u_probability"] = u_unobserved
    return model


def save_model_charts(linker, charts_dir: Path, version: str) -> dict[str, str]:
    """Match weights and m/u charts as standalone HTML (libraries inlined: opens offline)."""
    charts_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, chart in (("match_weights", linker.visualisations.match_weights_chart()),
                        ("m_u_parameters", linker.visualisations.m_u_parameters_chart())):
        path = charts_dir / f"{version}__{name}.html"
        chart.save_offline_chart(str(path), overwrite=True, print_msg=False)
        out[name] = str(path)
    return out


def charts_for_model(model: dict[str, Any], charts_dir: Path, config: LinkageConfig) -> dict[str, str]:
    """Re-draw the charts of a stored model (no data needed)."""
    from splink import Linker

    _quiet_splink()
    db_api = _db_api(config)
    empty = pd.DataFrame({c: pd.Series(dtype="int64" if c == "unique_id" else "object") for c in MODEL_COLUMNS})
    linker = Linker(db_api.register(empty, table_name="source_records"), model, log_level=None)
    return save_model_charts(linker, charts_dir, model_version(model))


def score_pairs(records: pd.DataFrame, model: dict[str, Any], config: LinkageConfig,
                progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Candidate pairs (blocking rules) scored by the model, keeping those >= the candidate threshold.

    Returns ``unique_id_l, unique_id_r, match_probability, match_weight, match_key`` and the
    partial match weight of each comparison, ``w_<comparison>`` (no identifiers).
    """
    from splink import Linker

    say = progress or (lambda _m: None)
    _quiet_splink()
    db_api = _db_api(config)
    settings = dict(model)
    settings["blocking_rules_to_generate_predictions"] = list(config.model.blocking_rules)
    settings["retain_matching_columns"] = False
    settings["retain_intermediate_calculation_columns"] = True
    linker = Linker(db_api.register(_model_frame(records), table_name="source_records"), settings, log_level=None)
    started = time.perf_counter()
    predictions = linker.inference.predict(
        threshold_match_probability=config.thresholds.candidate_match_probability, warning_mode="never")
    relation = predictions.as_duckdbpyrelation()
    # partial match weights per comparison (term-frequency adjustment folded in): why, not what
    parts = []
    for name in COMPARISON_NAMES:
        if f"mw_{name}" in relation.columns:
            tf = f" + coalesce(mw_tf_adj_{name}, 0)" if f"mw_tf_adj_{name}" in relation.columns else ""
            parts.append(f"round(mw_{name}{tf}, 2) as w_{name}")
    frame = relation.project(", ".join(["unique_id_l", "unique_id_r", "match_probability", "match_weight",
                                        "match_key", *parts])).df()
    say(f"scored candidate pairs in {time.perf_counter() - started:.1f}s: {len(frame):,} at or above "
        f"p={config.thresholds.candidate_match_probability}")
    return frame
