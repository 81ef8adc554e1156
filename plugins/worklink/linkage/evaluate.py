"""Linkage quality against the synthetic generator's ground truth (``OUT/_truth``).

Truth: ``source_records.csv`` maps each VCSE/ICB referral key to its person; DWP/HMRC records
are keyed by the NINo token, so persons.csv's true NINo is tokenised with the configured key.
Records without truth (e.g. hand-made test rows) are left out of every figure.

* **pairs**: every pair of records placed in the same participant, against every pair that truly
  belongs to one person (precision, recall, F1);
* **clusters**: B-cubed precision/recall/F1 (per record: how much of its participant is really
  it, and how much of the real person its participant holds), plus the share of people whose
  records form exactly one participant with nothing else in it;
* **linkable pairs**: some true pairs carry no shared information at all (a referral whose family
  name and date of birth were not recorded, and the person's DWP record, which holds no given name,
  at another address; or, with extracts that hold no names, an ICB referral and an HMRC record that
  share only a date of birth). Two records of one person are *linkable* when a chain of their person's records joins
  them, each step sharing a valid NHS number or NINo, or both records having the same kind of name
  (given or family) and both a date of birth or both a postcode (a given name on one and only a family name on the other is not a shared
  name). Recall and F1 are also given against linkable pairs only (precision is the
  same), so what the method misses is separated from what no method could find.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from worklink.identity.pseudonyms import tokens


def load_truth(truth_dir: Path) -> pd.Series:
    """source_record_key -> person_id for every record the linkage can see."""
    truth_dir = Path(truth_dir)
    records = pd.read_csv(truth_dir / "source_records.csv", dtype=str, usecols=["source_record_key", "person_id"])
    referral = records[~records["source_record_key"].str.match(r"^(dwp|hmrc):")]
    mapping = referral.drop_duplicates("source_record_key").set_index("source_record_key")["person_id"]
    persons = pd.read_csv(truth_dir / "persons.csv", dtype=str, usecols=["person_id", "ni_number"])
    persons = persons.dropna(subset=["ni_number"])
    nino = persons["ni_number"].str.upper().str.replace(r"[\s\-]", "", regex=True)
    shared = nino.duplicated(keep=False)  # a NINo the generator gave to two people: truth is ambiguous
    persons, nino = persons[~shared], nino[~shared]
    token = tokens("ni_number", nino).to_numpy()
    extracts = [pd.Series(persons["person_id"].to_numpy(), index=f"{s}:" + token) for s in ("dwp", "hmrc")]
    return pd.concat([mapping, *extracts])


def _pairs(sizes: pd.Series) -> int:
    s = sizes.to_numpy(dtype=np.int64)
    return int((s * (s - 1) // 2).sum())


def _prf(tp: float, predicted: float, actual: float) -> dict[str, float]:
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def linkable_pairs(records: pd.DataFrame, truth: pd.Series) -> tuple[int, set]:
    """Number of linkable true pairs, and the set of (key, key) true pairs that are NOT linkable."""
    from worklink.linkage.cluster import connected_components

    r = records[["source_record_key", "first_name", "surname", "dob", "postcode", "nhs_number", "nino_stem"]].copy()
    r["true"] = r["source_record_key"].map(truth)
    r = r.dropna(subset=["true"]).reset_index(drop=True)
    r["i"] = np.arange(len(r))
    pairs = r.merge(r, on="true", suffixes=("_l", "_r"))
    pairs = pairs[pairs["i_l"] < pairs["i_r"]]

    def both(col: str) -> pd.Series:
        return pairs[f"{col}_l"].notna() & pairs[f"{col}_r"].notna()

    def same(col: str) -> pd.Series:
        return both(col) & (pairs[f"{col}_l"] == pairs[f"{col}_r"])

    named = both("first_name") | both("surname")
    evidence = same("nhs_number") | same("nino_stem") | (named & (both("dob") | both("postcode")))
    e = pairs[evidence]
    comp = connected_components(len(r), e["i_l"].to_numpy(), e["i_r"].to_numpy())
    sizes = pd.Series(comp).value_counts()
    unlinkable = pairs[comp[pairs["i_l"].to_numpy()] != comp[pairs["i_r"].to_numpy()]]
    keys = set(zip(unlinkable["source_record_key_l"], unlinkable["source_record_key_r"], strict=True))
    return _pairs(sizes), keys


def evaluate(keys: np.ndarray, participant: np.ndarray, truth: pd.Series,
             records: pd.DataFrame | None = None) -> dict:
    frame = pd.DataFrame({"key": keys, "pred": participant})
    frame["true"] = frame["key"].map(truth)
    unknown = int(frame["true"].isna().sum())
    frame = frame.dropna(subset=["true"])
    pred_sizes = frame.groupby("pred").size()
    true_sizes = frame.groupby("true").size()
    both = frame.groupby(["pred", "true"]).size()
    tp = _pairs(both)
    pairs = {**_prf(tp, _pairs(pred_sizes), _pairs(true_sizes)),
             "true_pairs": _pairs(true_sizes), "predicted_pairs": _pairs(pred_sizes), "correct_pairs": tp}
    # B-cubed
    inter = frame.join(both.rename("n_both"), on=["pred", "true"])
    inter = inter.join(pred_sizes.rename("n_pred"), on="pred").join(true_sizes.rename("n_true"), on="true")
    b_precision = float((inter["n_both"] / inter["n_pred"]).mean()) if len(inter) else 1.0
    b_recall = float((inter["n_both"] / inter["n_true"]).mean()) if len(inter) else 1.0
    b_f1 = 2 * b_precision * b_recall / (b_precision + b_recall) if b_precision + b_recall else 0.0
    # exact: the person's records are one participant and that participant holds nobody else
    per_true = frame.groupby("true")["pred"].nunique()
    per_pred = frame.groupby("pred")["true"].nunique()
    first_pred = frame.groupby("true")["pred"].first()
    exact = (per_true == 1) & first_pred.map(per_pred).eq(1)
    result_linkable = None
    if records is not None:
        n_linkable, unlinkable = linkable_pairs(records, truth)
        # correct predicted pairs that are unlinkable by construction do not count towards linkable recall
        pred_of = dict(zip(frame["key"], frame["pred"], strict=True))
        found_unlinkable = sum(1 for a, b in unlinkable if pred_of.get(a) == pred_of.get(b))
        tp_linkable = tp - found_unlinkable
        prf = _prf(tp_linkable, _pairs(pred_sizes), n_linkable)
        prf["precision"] = pairs["precision"]
        p, r = prf["precision"], prf["recall"]
        prf["f1"] = 2 * p * r / (p + r) if p + r else 0.0
        result_linkable = {**prf, "linkable_pairs": n_linkable, "unlinkable_true_pairs": len(unlinkable)}
    return {
        "records_evaluated": int(len(frame)),
        "records_without_truth": unknown,
        "people": int(len(true_sizes)),
        "participants": int(len(pred_sizes)),
        "pairs": pairs,
        "clusters": {"b_cubed_precision": b_precision, "b_cubed_recall": b_recall, "b_cubed_f1": b_f1,
                     "people_exactly_one_participant": float(exact.mean()) if len(exact) else 1.0},
        "linkable_pairs": result_linkable,
    }


def wrong_links(keys: np.ndarray, participant: np.ndarray, truth: pd.Series, limit: int = 20) -> pd.DataFrame:
    """Participants holding more than one true person, and people split over several participants."""
    frame = pd.DataFrame({"key": keys, "pred": participant, "true": pd.Series(keys).map(truth).to_numpy()})
    frame = frame.dropna(subset=["true"])
    mixed = frame.groupby("pred")["true"].nunique()
    split = frame.groupby("true")["pred"].nunique()
    out = pd.concat([
        frame[frame["pred"].isin(mixed.index[mixed > 1])].assign(problem="false_merge"),
        frame[frame["true"].isin(split.index[split > 1])].assign(problem="missed_link"),
    ])
    return out.head(limit * 5)


def true_pairs(records: pd.DataFrame, truth: pd.Series) -> pd.DataFrame:
    """Every pair of records (``unique_id`` l < r) that truly belongs to one person."""
    r = pd.DataFrame({"unique_id": records["unique_id"].to_numpy(dtype=np.int64),
                      "key": records["source_record_key"].to_numpy(dtype=object)})
    r["person"] = r["key"].map(truth)
    r = r.dropna(subset=["person"])
    pairs = r.merge(r, on="person", suffixes=("_l", "_r"))
    pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
    return pairs[["unique_id_l", "unique_id_r", "key_l", "key_r"]].reset_index(drop=True)


def blocking_recall(records: pd.DataFrame, truth: pd.Series, rules: list[str],
                    unlinkable: set | None = None) -> dict:
    """Share of true pairs that at least one blocking rule proposes (the most recall linkage can reach).

    The rules are evaluated as SQL, exactly as Splink applies them, on the true pairs only (DuckDB),
    so this is cheap at any size. ``unlinkable``: (key, key) pairs that share no information
    (``linkable_pairs``); recall over the remaining (linkable) pairs is given too.
    """
    import duckdb

    from worklink.linkage.model import model_frame

    pairs = true_pairs(records, truth)
    out = {"true_pairs": int(len(pairs))}
    if pairs.empty or not rules:
        return {**out, "blocked": 0, "recall": 1.0 if pairs.empty else 0.0, "linkable_recall": None}
    con = duckdb.connect()
    con.register("t", model_frame(records))
    con.register("p", pairs[["unique_id_l", "unique_id_r"]])
    condition = " or ".join(f"coalesce(({rule}), false)" for rule in rules)
    blocked = con.execute(
        f"select ({condition}) from p join t l on l.unique_id = p.unique_id_l"  # noqa: S608 - rules are settings
        " join t r on r.unique_id = p.unique_id_r order by p.unique_id_l, p.unique_id_r").fetchnumpy()
    flags = np.asarray(list(blocked.values())[0], dtype=bool)
    ordered = pairs.sort_values(["unique_id_l", "unique_id_r"]).reset_index(drop=True)
    out.update(blocked=int(flags.sum()), recall=float(flags.mean()))
    if unlinkable is not None:
        keys = list(zip(ordered["key_l"], ordered["key_r"], strict=True))
        linkable = np.fromiter(((a, b) not in unlinkable and (b, a) not in unlinkable for a, b in keys),
                               dtype=bool, count=len(keys))
        out["linkable_pairs"] = int(linkable.sum())
        out["linkable_blocked"] = int((flags & linkable).sum())
        out["linkable_recall"] = float((flags & linkable).sum() / linkable.sum()) if linkable.any() else 1.0
        missed = ordered[linkable & ~flags]
        out["linkable_missed_examples"] = [f"{a} ~ {b}" for a, b in zip(missed["key_l"].head(5),
                                                                         missed["key_r"].head(5), strict=True)]
    return out


def candidate_pair_counts(records: pd.DataFrame, rules: list[str], sample: float | None = None) -> dict:
    """Candidate pairs each blocking rule adds (Splink's blocking analysis), and the total scored.

    ``sample``: share of records on each side of the join (Splink estimates from it); by default
    exact up to 300,000 records, a 10% sample above.
    """
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from worklink.linkage.model import model_frame

    frame = model_frame(records)
    proportion = sample if sample is not None else (1.0 if len(frame) <= 300_000 else 0.1)
    db_api = DuckDBAPI()
    counts = count_comparisons_from_blocking_rules(
        db_api.register(frame, table_name="blocking_records"), blocking_rules=list(rules), link_type="dedupe_only",
        record_sample_proportion=proportion)
    per_rule = [{"rule": c["blocking_rule"], "added": int(c["marginal_comparison_count"])} for c in counts]
    total = int(counts[-1]["cumulative_comparison_count"]) if counts else 0
    possible = int(counts[-1]["total_possible_comparison_count"]) if counts else 0
    return {"candidate_pairs": total, "possible_pairs": possible, "per_rule": per_rule,
            "estimated": proportion < 1.0, "records": int(len(frame))}
