"""The probabilistic model: Splink 5 (Fellegi-Sunter) on DuckDB, built from ``settings.yml``.

Every comparison is written out as SQL levels here so the model charts and the stored model JSON
say exactly what was compared. Inputs are the cleaned columns from ``records.clean_records``
(upper-case letters-only names, ISO dates of birth, ``"M14 5TQ"`` postcodes, validated NHS
numbers, NINo stems); identifiers stay inside the in-memory DuckDB database and only ids, scores
and comparison levels come back out.

Training (``train_model``): u probabilities from random pairs; m probabilities from records that
share a valid NHS number or NINo when enough do, otherwise by expectation maximisation on blocked
pairs (no labels needed); then every level's m is kept at or above a floor, so a level the
training data never showed (a typo, a transposed date) is rare, not damning.
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

import numpy as np
import pandas as pd

from worklink.linkage.config import LinkageConfig

MODEL_COLUMNS = [
    "unique_id", "first_name", "first_name_canonical", "surname", "surname_initial", "first_initial",
    "first_soundex", "surname_soundex", "given_soundex", "full_name", "dob",
    "postcode", "sex", "nhs_number", "nino_stem", "birth_year", "postcode_district", "postcode_sector",
    "address_line", "house_number",
]
COMPARISON_NAMES = ["first_name", "surname", "dob", "postcode", "address_line", "sex", "nhs_number", "nino_stem"]


def _null(col: str) -> dict[str, Any]:
    return {"sql_condition": f'"{col}_l" IS NULL OR "{col}_r" IS NULL', "label_for_charts": f"{col} missing",
            "is_null_level": True}


def _else(label: str = "all other", floor: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"sql_condition": "ELSE", "label_for_charts": label}
    if floor is not None:
        out[M_FLOOR_KEY] = floor
    return out


F, S, C = "first_name", "surname", "first_name_canonical"
# Private key on a level dict: the least m probability the level may have after training (stripped
# before the dict reaches Splink). See ``apply_m_floors``.
M_FLOOR_KEY = "_m_floor"


def _lvl(cond: str, label: str, tf_col: str | None = None, tf: bool = True,
         floor: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"sql_condition": cond, "label_for_charts": label}
    if tf and tf_col:
        out.update(tf_adjustment_column=tf_col, tf_adjustment_weight=1.0)
    if floor is not None:
        out[M_FLOOR_KEY] = floor
    return out


def _jw(col: str, threshold: float) -> str:
    return f'jaro_winkler_similarity("{col}_l", "{col}_r") >= {threshold}'


def _dl1(col: str) -> str:
    """One edit (a letter changed, dropped or added, or two neighbours swapped), after the Jaro-Winkler
    levels: it catches what Jaro-Winkler rates below its lower threshold, one letter in a short name
    (ALI/AIL 0.56, ANA/AMA 0.80 less rounding), which would otherwise count as two different names."""
    return f'damerau_levenshtein("{col}_l", "{col}_r") <= 1'


def _name_comparisons(jw: float, jw_low: float, tf: bool) -> list[dict[str, Any]]:
    """Given name and family name as two comparisons, each with a swap level.

    Compared separately, a typo in one name and a swapped or replaced other name still count for
    what they are (one name close, the other crossed or different), where one joint comparison
    scored them as "all other", like two unrelated people. A record without a given name (a DWP
    record has only a surname) simply has no evidence on that comparison (its null level). Term
    frequencies adjust the exact levels (Smith agrees far more often by chance than Quartermaine).

    The floors (``_m_floor``) are the least share of true matches each level may hold after
    training: a level no training pair fell into is rare, not impossible. They are recording-error
    rates of the kind published for administrative data (a one-letter typo in a few per cent of
    names, nicknames and swaps in about one per cent), not fitted to any sample.
    """
    return [
        {"output_column_name": "first_name", "comparison_description": "given name",
         "comparison_levels": [
             _null(F),
             _lvl(f'"{F}_l" = "{F}_r"', "exact", F, tf),
             _lvl(f'"{F}_l" = "{S}_r" OR "{S}_l" = "{F}_r"', "equals the other's family name (swapped)",
                  floor=0.005),
             _lvl(f'"{C}_l" = "{C}_r"', "a variant (Bob/Robert)", floor=0.01),
             _lvl(_jw(F, jw), f"Jaro-Winkler >= {jw} (a typo)", floor=0.02),
             _lvl(_jw(F, jw_low), f"Jaro-Winkler >= {jw_low}", floor=0.01),
             _lvl(_dl1(F), "one letter differs or two swapped (short names)", floor=0.005),
             _else(floor=0.01),
         ]},
        {"output_column_name": "surname", "comparison_description": "family name",
         "comparison_levels": [
             _null(S),
             _lvl(f'"{S}_l" = "{S}_r"', "exact", S, tf),
             _lvl(f'"{S}_l" = "{F}_r" OR "{F}_l" = "{S}_r"', "equals the other's given name (swapped)",
                  floor=0.005),
             _lvl(_jw(S, jw), f"Jaro-Winkler >= {jw} (a typo)", floor=0.02),
             _lvl(_jw(S, jw_low), f"Jaro-Winkler >= {jw_low}", floor=0.01),
             _lvl(_dl1(S), "one letter differs or two swapped (short names)", floor=0.005),
             _else(floor=0.02),  # family names change (marriage) more often than given names
         ]},
    ]


def _dob_comparison() -> dict[str, Any]:
    year, month, day = ("substr({c}, 1, 4)", "substr({c}, 6, 2)", "substr({c}, 9, 2)")

    def same(part: str) -> str:
        return f"{part.format(c='dob_l')} = {part.format(c='dob_r')}"

    return {"output_column_name": "dob", "comparison_description": "date of birth",
            "comparison_levels": [
                _null("dob"),
                {"sql_condition": '"dob_l" = "dob_r"', "label_for_charts": "exact"},
                _lvl(f"{same(year)} AND {month.format(c='dob_l')} = {day.format(c='dob_r')} AND "
                     f"{day.format(c='dob_l')} = {month.format(c='dob_r')}", "day and month transposed",
                     floor=0.005),
                _lvl("damerau_levenshtein(dob_l, dob_r) <= 1", "one character differs or two swapped",
                     floor=0.01),
                _lvl(f"{same(year)} AND {same(month)}", "same year and month (day differs)", floor=0.005),
                _lvl(f"{same(month)} AND {same(day)}", "same day and month (year differs)", floor=0.005),
                _lvl(same(year), "same year", floor=0.003),
                _else(floor=0.003),
            ]}


def comparisons(config: LinkageConfig) -> list[dict[str, Any]]:
    """Comparison dicts (levels in order of decreasing agreement), with their m floors."""
    c = config.model.comparisons
    sector = "split_part(\"postcode_{s}\", ' ', 1) || ' ' || substr(split_part(\"postcode_{s}\", ' ', 2), 1, 1)"
    district = "split_part(\"postcode_{s}\", ' ', 1)"
    area = "regexp_extract(\"postcode_{s}\", '^[A-Z]+')"
    out = [
        *_name_comparisons(c.name.jaro_winkler, c.name.jaro_winkler_low, c.name.term_frequency_adjustments),
        _dob_comparison(),
        {"output_column_name": "postcode", "comparison_description": "postcode (people move)",
         "comparison_levels": [
             _null("postcode"),
             {"sql_condition": '"postcode_l" = "postcode_r"', "label_for_charts": "exact"},
             _lvl(f"{sector.format(s='l')} = {sector.format(s='r')}", "same sector", floor=0.01),
             _lvl(f"{district.format(s='l')} = {district.format(s='r')}", "same district", floor=0.02),
             _lvl(f"{area.format(s='l')} = {area.format(s='r')}", "same area", floor=0.02),
             _else(floor=0.05),
         ]},
    ]
    if c.address_line.enabled:
        a, h, jw = "address_line", "house_number", c.address_line.jaro_winkler
        tf = c.address_line.term_frequency_adjustments
        out.append({"output_column_name": a, "comparison_description": "address: street line and house number",
                    "comparison_levels": [
                        _null(a),
                        _lvl(f'"{a}_l" = "{a}_r" AND "{h}_l" = "{h}_r"', "same street and house number", a, tf),
                        _lvl(f'"{a}_l" = "{a}_r"', "same street, house number differs or missing", a, tf,
                             floor=0.02),
                        _lvl(f'"{h}_l" = "{h}_r" AND {_jw(a, jw)}', f"same house number, street Jaro-Winkler >= {jw}",
                             floor=0.02),
                        _lvl(_jw(a, jw), f"street Jaro-Winkler >= {jw}", floor=0.01),
                        _else(floor=0.1),  # people move
                    ]})
    out += [
        {"output_column_name": "sex", "comparison_description": "sex",
         "comparison_levels": [_null("sex"), {"sql_condition": '"sex_l" = "sex_r"', "label_for_charts": "exact"},
                               _else("different", floor=0.002)]},
        _identifier("nhs_number", "valid NHS number", c.nhs_number.m_when_different, c.nhs_number.u_when_equal),
        _identifier("nino_stem", "valid NI number without suffix", c.ni_number.m_when_different,
                    c.ni_number.u_when_equal),
    ]
    return out


def m_floors(config: LinkageConfig) -> dict[tuple[str, str], float]:
    """(comparison, level label) -> least m probability after training."""
    return {(comp["output_column_name"], level["label_for_charts"]): level[M_FLOOR_KEY]
            for comp in comparisons(config) for level in comp["comparison_levels"] if M_FLOOR_KEY in level}


def _splink_comparisons(config: LinkageConfig) -> list[dict[str, Any]]:
    return [{**comp, "comparison_levels": [{k: v for k, v in level.items() if k != M_FLOOR_KEY}
                                           for level in comp["comparison_levels"]]}
            for comp in comparisons(config)]


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
        "comparisons": _splink_comparisons(config),
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
    text = json.dumps({"settings": splink_settings(config), "floors": sorted(map(list, m_floors(config).items())),
                       "model": config.model.model_dump()}, sort_keys=True)
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


# Blocking key whose block size is kept beside each record (``<name>_block_size``), so a blocking
# rule can use the key only where its block is small: names by their sound alone would make
# millions of pairs for Mohammed Khan, but a rare name's few records cost almost nothing.
SIZED_BLOCKING_KEYS = {"names_sound": ("first_soundex", "surname_soundex")}


def block_sizes(records: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Records sharing each record's values of ``columns`` (itself included); null where one is null."""
    present = records[list(columns)].notna().all(axis=1)
    sizes = records[present].groupby(list(columns), sort=False)[columns[0]].transform("size")
    return sizes.reindex(records.index).astype("Int64")


def model_frame(records: pd.DataFrame) -> pd.DataFrame:
    frame = records[MODEL_COLUMNS].copy()
    for column in MODEL_COLUMNS[1:]:  # a column with no value at all would reach DuckDB as INTEGER
        if frame[column].isna().all():
            frame[column] = pd.array([None] * len(frame), dtype="string")
    for name, columns in SIZED_BLOCKING_KEYS.items():
        frame[f"{name}_block_size"] = block_sizes(frame, columns)
    return frame


class LinkageModelError(RuntimeError):
    """The model cannot be trained on these records (the run fails; the previous linkage stays)."""


def identifier_label_pairs(labels: pd.Series | np.ndarray) -> int:
    """Pairs of records that share an identifier label (``-1``: no label)."""
    values = pd.Series(np.asarray(labels))
    sizes = values[values >= 0].value_counts().to_numpy(dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def _set_prior(linker, rules: list[str], recall: float, total_pairs: int, say) -> float:
    """The prior (probability two random records match) from deterministic rules and their recall.

    Kept inside [one match in the whole file, 0.5]: rules that find nothing (a first delivery
    with no repeated name and date of birth) must not give a prior of 0 (log of 0 downstream).
    """
    try:
        linker.training.estimate_probability_two_random_records_match(rules, recall=recall)
        prior = float(linker._settings_obj._probability_two_random_records_match)
    except ValueError:  # the rules alone found more than `recall` allows (tiny files): take them as all
        linker.training.estimate_probability_two_random_records_match(rules, recall=1.0)
        prior = float(linker._settings_obj._probability_two_random_records_match)
    floor = 1.0 / max(total_pairs, 2)
    clamped = min(max(prior if np.isfinite(prior) else 0.0, floor), 0.5)
    if clamped != prior:
        say(f"training: prior {prior:.3g} from the rules kept to {clamped:.3g}")
    linker._settings_obj._probability_two_random_records_match = clamped
    return clamped


def train_model(records: pd.DataFrame, config: LinkageConfig, charts_dir: Path | None = None,
                progress: Callable[[str], None] | None = None) -> TrainedModel:
    """Estimate the model on the current records; save the model charts as HTML when asked.

    Two ways, chosen by how many pairs of records share a valid NHS number or NINo
    (``identifier_label``; at least ``training.min_identifier_label_pairs``):

    * with enough: prior from the identifier rules and their assumed recall, u from random pairs,
      m from the identifier-sharing pairs (they are the same person whatever else says);
    * without (no identifiers at all, or a handful): prior from exact name + date of birth agreement
      and its assumed recall, u from random pairs, m by expectation maximisation on blocked pairs
      (one session blocked on date of birth estimates the names and the address; one blocked on
      the names estimates the date of birth).

    Either way, each level's m is then kept at or above its floor (``apply_m_floors``). Raises
    ``LinkageModelError`` (one line) when no m could be estimated.
    """
    from splink import Linker

    say = progress or (lambda _m: None)
    _quiet_splink()
    started = time.perf_counter()
    db_api = _db_api(config)
    frame = model_frame(records)
    training = config.model.training
    n = len(frame)
    total_pairs = n * (n - 1) // 2
    label_pairs = 0
    if "identifier_label" in records:
        frame["identifier_label"] = pd.array(records["identifier_label"].where(records["identifier_label"] >= 0),
                                             dtype="Int64")
        label_pairs = identifier_label_pairs(records["identifier_label"].to_numpy())
    use_labels = training.m_from_identifier_labels and label_pairs >= training.min_identifier_label_pairs
    table = db_api.register(frame, table_name="source_records")
    linker = Linker(table, splink_settings(config), log_level=None)
    if use_labels:
        _set_prior(linker, list(training.prior_rules), training.prior_recall, total_pairs, say)
        say("training: prior from deterministic identifier rules done")
    else:
        unl = training.unlabelled
        say(f"training without identifier labels ({label_pairs:,} pairs share a valid NHS number or NINo; "
            f"{training.min_identifier_label_pairs:,} needed)")
        _set_prior(linker, list(unl.prior_rules), unl.prior_recall, total_pairs, say)
        say("training: prior from exact name + date of birth agreement done")
    linker.training.estimate_u_using_random_sampling(max_pairs=training.u_max_pairs, seed=training.seed)
    say("training: u probabilities from random pairs done")
    m_sessions = 0
    if use_labels:
        linker.training.estimate_m_from_label_column("identifier_label")
        m_sessions += 1
        say(f"training: m probabilities from {label_pairs:,} record pairs sharing a valid NHS/NI number done")
    em_rules = list(training.em_blocking_rules) if use_labels else list(training.unlabelled.em_blocking_rules)
    em_max_pairs = training.em_max_pairs if use_labels else training.unlabelled.em_max_pairs
    for rule in em_rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=em_max_pairs if total_pairs > em_max_pairs else None)
        except Exception as exc:  # noqa: BLE001 - Splink raises many kinds; the session is optional
            say(f"training: EM blocked on {rule!r} skipped ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
            continue
        m_sessions += 1
        say(f"training: EM blocked on {rule!r} done")
    if m_sessions == 0:
        raise LinkageModelError(
            f"cannot train the linkage model on {n:,} records: {label_pairs:,} record pairs share a valid NHS "
            f"number or NINo (at least {training.min_identifier_label_pairs:,} needed) and expectation "
            f"maximisation found no usable pairs (blocking rules {em_rules}); the previous linkage is kept")
    model = linker.misc.save_model_to_json()
    model = apply_m_floors(model, m_floors(config), training.m_unobserved)
    model = fill_unobserved_u(model, u_unobserved=1.0 / max(2, min(training.u_max_pairs, total_pairs)))
    check_model(model)
    unl = training.unlabelled
    if not use_labels and unl.reestimate_prior and n <= unl.reestimate_prior_max_records:
        model = reestimate_prior(frame, model, config, total_pairs, say)
        check_model(model)
    version = model_version(model)
    charts: dict[str, str] = {}
    if charts_dir is not None:
        try:
            chart_linker = Linker(db_api.register(frame.iloc[0:0], table_name="model_for_charts"), model,
                                  log_level=None)
            charts = save_model_charts(chart_linker, charts_dir, version)
        except Exception as exc:  # noqa: BLE001 - charts explain the model; they must not stop linkage
            say(f"model charts not drawn ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
    return TrainedModel(version=version, fingerprint=model_fingerprint(config), model=model,
                        records_at_training=len(records), training_seconds=time.perf_counter() - started,
                        charts=charts)


def prior_fixed_point(match_weights: np.ndarray, prior: float, total_pairs: int,
                      iterations: int = 50) -> float:
    """The prior that agrees with the scores: lambda = (sum of match probabilities) / (all pairs).

    The expectation-maximisation step for the prior alone, m and u held: each candidate pair's
    Bayes factor is its match weight without the prior; pairs no blocking rule proposes count as
    non-matches. Without identifier labels the prior comes from an assumed recall of exact name +
    date of birth agreement, which is too low where recording is poor (fewer true pairs agree
    exactly), and every probability is then too low with it.
    """
    odds0 = prior / (1 - prior)
    log_bf = np.asarray(match_weights, dtype=float) - np.log2(odds0)
    lam = prior
    for _ in range(iterations):
        odds = lam / (1 - lam)
        p = 1.0 / (1.0 + np.exp2(-(log_bf + np.log2(odds))))
        new = float(np.clip(p.sum() / max(total_pairs, 1), 1.0 / max(total_pairs, 2), 0.5))
        if abs(new - lam) <= 1e-3 * lam:
            return new
        lam = new
    return lam


def reestimate_prior(frame: pd.DataFrame, model: dict[str, Any], config: LinkageConfig, total_pairs: int,
                     say: Callable[[str], None]) -> dict[str, Any]:
    """Score the candidate pairs once with the trained model and set the prior by ``prior_fixed_point``."""
    from splink import Linker

    settings = dict(model)
    settings["blocking_rules_to_generate_predictions"] = list(config.model.blocking_rules)
    settings["retain_matching_columns"] = False
    settings["retain_intermediate_calculation_columns"] = False
    linker = Linker(_db_api(config).register(frame, table_name="prior_records"), settings, log_level=None)
    weights = linker.inference.predict(threshold_match_weight=-30, warning_mode="never").as_duckdbpyrelation()
    w = weights.project("match_weight").fetchnumpy()["match_weight"]
    before = float(model["probability_two_random_records_match"])
    after = prior_fixed_point(w, before, total_pairs)
    model["probability_two_random_records_match"] = after
    say(f"training: prior re-estimated from {len(w):,} scored candidate pairs: {before:.3g} -> {after:.3g}")
    return model


def apply_m_floors(model: dict[str, Any], floors: dict[tuple[str, str], float],
                   m_unobserved: float) -> dict[str, Any]:
    """Keep each level's m at or above its floor, then rescale the comparison's m to sum to 1.

    Labels cover what a sample shows: a level that no identifier-sharing pair (or EM) put a true
    match into gets m = 0 or none, which makes one typo, a transposed date or a swapped name as
    damning as two unrelated people. The floor is the least share of true matches the level is
    taken to hold (``comparisons``: recording-error rates, not fitted). Levels with no floor
    (exact agreement) that training never saw get ``m_unobserved``. Fixed levels (identifiers)
    are left alone.
    """
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        if any(lv.get("fix_m_probability") for lv in levels):
            continue
        for level in levels:
            m = level.get("m_probability")
            m = float(m) if isinstance(m, (int, float)) and np.isfinite(m) else 0.0
            floor = floors.get((name, level["label_for_charts"]), m_unobserved if m <= 0 else 0.0)
            level["m_probability"] = max(m, floor)
        total = sum(lv["m_probability"] for lv in levels)
        for level in levels:
            level["m_probability"] = level["m_probability"] / total
    return model


def fill_unobserved_u(model: dict[str, Any], u_unobserved: float) -> dict[str, Any]:
    """A level no random pair fell into is rarer than one in the pairs sampled: u gets that, not none."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            u = level.get("u_probability")
            if not isinstance(u, (int, float)) or not np.isfinite(u) or u <= 0:
                level["u_probability"] = u_unobserved
    return model


def check_model(model: dict[str, Any]) -> None:
    """Every probability a usable number, or a one-line ``LinkageModelError`` naming the first that is not."""
    prior = model.get("probability_two_random_records_match")
    if not isinstance(prior, (int, float)) or not 0 < prior < 1:
        raise LinkageModelError(f"cannot train the linkage model: the prior is {prior!r}; the previous linkage "
                                "is kept")
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            for key in ("m_probability", "u_probability"):
                v = level.get(key)
                if not isinstance(v, (int, float)) or not np.isfinite(v) or not 0 < v <= 1:
                    raise LinkageModelError(
                        f"cannot train the linkage model: {key} of {comparison['output_column_name']!r} level "
                        f"{level['label_for_charts']!r} is {v!r}; the previous linkage is kept")


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
    empty = pd.DataFrame({c: pd.Series(dtype="int64" if c == "unique_id" else "string") for c in MODEL_COLUMNS})
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
    linker = Linker(db_api.register(model_frame(records), table_name="source_records"), settings, log_level=None)
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
