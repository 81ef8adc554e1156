"""One linkage run: vault -> cleaned records -> links -> participants -> ``linkage`` schema.

``run_linkage`` is what the nightly DAG calls between ingestion and dbt, and what ``worklink
link`` runs. It is idempotent: the same data, model and decisions give the same participant for
every record, and ids carry over from the previous run (``ids.py``). Runs are serialised with a
PostgreSQL advisory lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from worklink.linkage import store
from worklink.linkage.attributes import derive_attributes
from worklink.linkage.cluster import (
    EDGE_COLUMNS,
    Clustering,
    attribute_methods,
    cluster,
    connected_components,
    empty_edges,
    extract_link_probabilities,
)
from worklink.linkage.config import LinkageConfig, load_config
from worklink.linkage.deterministic import deterministic_edges
from worklink.linkage.ids import Assignment, assign_participant_ids
from worklink.linkage.model import TrainedModel, charts_for_model, model_fingerprint, score_pairs, train_model
from worklink.linkage.records import clean_records, extract_source_records


@dataclass
class LinkageOutcome:
    """Everything a run decided, kept in memory for the report (never written with identifiers)."""

    summary: dict
    records: pd.DataFrame = field(repr=False)  # cleaned records (identifiers!) - do not persist
    labels: np.ndarray = field(repr=False)
    participant_id: np.ndarray = field(repr=False)
    edges: pd.DataFrame = field(repr=False)  # l, r, method, p, weight (applied or not)
    queue: pd.DataFrame = field(repr=False)
    candidates: pd.DataFrame = field(repr=False)  # every scored candidate link (l, r, p, weight, stage)


def charts_dir() -> Path:
    from worklink.settings import load_settings

    return load_settings().reports_dir / "linkage"


def _current_model(conn: psycopg.Connection, config: LinkageConfig) -> TrainedModel | None:
    row = conn.execute(
        "select model_version, fingerprint, model, records_at_training, training_seconds, charts"
        " from linkage.models where fingerprint = %s order by created_at desc limit 1",
        (model_fingerprint(config),)).fetchone()
    if row is None:
        return None
    return TrainedModel(version=row[0], fingerprint=row[1], model=row[2], records_at_training=row[3],
                        training_seconds=row[4] or 0.0, charts=row[5] or {})


def _save_model(conn: psycopg.Connection, model: TrainedModel) -> None:
    conn.execute(
        """insert into linkage.models (model_version, fingerprint, records_at_training, training_seconds, model, charts)
           values (%s, %s, %s, %s, %s, %s) on conflict (model_version) do update
              set created_at = now(), records_at_training = excluded.records_at_training,
                  training_seconds = excluded.training_seconds, charts = excluded.charts""",
        (model.version, model.fingerprint, model.records_at_training, model.training_seconds,
         Jsonb(model.model), Jsonb(model.charts)))


def _identifier_labels(records: pd.DataFrame) -> np.ndarray:
    """Groups of records that share a valid NHS number or NINo stem, for learning m probabilities.

    A shared identifier counts only when one more field agrees (date of birth, family name or
    given name): identifiers are occasionally shared by two people (issuing or keying errors; the
    synthetic generator also repeats some), and one such pair says "everything disagrees" loudly.
    """
    n = len(records)
    left, right = [], []
    for column in ("nhs_number", "nino_stem"):
        sub = records.loc[records[column].notna(), ["unique_id", column, "dob", "surname", "first_name"]]
        anchor_idx = sub.groupby(column, sort=False)["unique_id"].transform("min")
        anchor = records.loc[anchor_idx.to_numpy(), ["dob", "surname", "first_name"]].set_axis(sub.index)
        agree = np.zeros(len(sub), dtype=bool)
        for field_name in ("dob", "surname", "first_name"):
            agree |= (sub[field_name].notna() & (sub[field_name] == anchor[field_name])).to_numpy()
        keep = (sub["unique_id"] != anchor_idx).to_numpy() & agree
        left.append(anchor_idx[keep].to_numpy(dtype=np.int64))
        right.append(sub.loc[keep, "unique_id"].to_numpy(dtype=np.int64))
    left_all, right_all = np.concatenate(left), np.concatenate(right)
    labels = connected_components(n, left_all, right_all)
    linked = np.zeros(n, dtype=bool)
    linked[left_all] = True
    linked[right_all] = True
    return np.where(linked, labels, -1)


def _decision_edges(decisions: pd.DataFrame, uid_of: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clerical decisions on current records -> (link edges, cannot-link pairs)."""
    if decisions.empty:
        return empty_edges(), pd.DataFrame({"l": pd.Series(dtype="int64"), "r": pd.Series(dtype="int64")})
    d = decisions.assign(l=decisions["key_l"].map(uid_of), r=decisions["key_r"].map(uid_of)).dropna(subset=["l", "r"])
    d = d.astype({"l": "int64", "r": "int64"})
    links = d[d["decision"] == "link"]
    link_edges = pd.DataFrame({"l": links["l"].to_numpy(), "r": links["r"].to_numpy(), "method": "clerical",
                               "match_probability": 1.0, "match_weight": np.nan})
    cannot = d.loc[d["decision"] == "do_not_link", ["l", "r"]].reset_index(drop=True)
    return link_edges, cannot


def _peak_rss_mb() -> int:
    """Peak resident memory of this process so far (VmHWM: unlike ru_maxrss, not inherited from a
    parent that forked it, e.g. an Airflow worker)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _pair_set(frame: pd.DataFrame) -> set[tuple[int, int]]:
    a, b = frame["l"].to_numpy(dtype=np.int64), frame["r"].to_numpy(dtype=np.int64)
    return set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))


def _in_pair_set(frame: pd.DataFrame, pairs: set[tuple[int, int]]) -> np.ndarray:
    if not pairs or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    a, b = frame["l"].to_numpy(dtype=np.int64), frame["r"].to_numpy(dtype=np.int64)
    lo, hi = np.minimum(a, b).tolist(), np.maximum(a, b).tolist()
    return np.fromiter(((x, y) in pairs for x, y in zip(lo, hi, strict=True)), dtype=bool, count=len(lo))


def _as_edges(pairs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"l": pairs["l"].to_numpy(dtype=np.int64), "r": pairs["r"].to_numpy(dtype=np.int64),
                         "method": "probabilistic", "match_probability": pairs["match_probability"].to_numpy(),
                         "match_weight": pairs["match_weight"].to_numpy()})


def _ordered_keys(keys: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = keys[left], keys[right]
    swap = a > b
    return np.where(swap, b, a), np.where(swap, a, b)


def run_linkage(database_url: str | None = None, progress: Callable[[str], None] | None = None, *,
                retrain: bool = False, config: LinkageConfig | None = None,
                keep_outcome: bool = False) -> dict:
    """Link every current source record to a participant; write the ``linkage`` schema.

    Returns summary counts (records, participants, links by method, review queue, id changes,
    model version, thresholds, timings). ``keep_outcome=True`` adds the in-memory
    ``LinkageOutcome`` under ``"outcome"`` (for the quality report; holds identifiers).
    """
    from worklink.platform.database import ensure_database, libpq_url

    say = progress or (lambda _m: None)
    config = config or load_config()
    url = libpq_url(database_url or ensure_database())
    timings: dict[str, float] = {}
    started = t0 = time.perf_counter()

    peak_mb: dict[str, int] = {}

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 2)
        peak_mb[name] = _peak_rss_mb()
        t0 = now

    with psycopg.connect(url, autocommit=True) as conn:
        store.ensure_schema(conn)
        conn.execute("select pg_advisory_lock(hashtext(%s))", (store.LOCK_KEY,))
        thresholds = config.thresholds.model_dump()
        run_id = store.start_run(conn, thresholds)
        try:
            outcome = _run(conn, run_id, config, retrain, say, lap, timings)
        except BaseException as exc:
            store.finish_run(conn, run_id, "failed", None, None, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (store.LOCK_KEY,))
        outcome.summary["timings_seconds"] = {**timings, "total": round(time.perf_counter() - started, 2)}
        outcome.summary["peak_rss_mb_after"] = peak_mb
        store.finish_run(conn, run_id, "succeeded", outcome.summary["model_version"], outcome.summary)
    say(f"linkage run {run_id} finished in {time.perf_counter() - started:.1f}s")
    summary = dict(outcome.summary)
    if keep_outcome:
        summary["outcome"] = outcome
    return summary


def _run(conn, run_id: int, config: LinkageConfig, retrain: bool, say, lap, timings) -> LinkageOutcome:
    """The steps of one run, in order; each is a function below."""
    from worklink.platform.retention import erased_keys

    raw = extract_source_records(conn, say)
    raw = raw[~raw["source_record_key"].isin(erased_keys(conn))]  # erased on request: never linked again
    records = clean_records(raw)
    say(f"{len(records):,} source records")
    lap("extract_and_clean")
    model, trained_now = _model_for(conn, records, config, retrain, say, lap)
    pairs = score_pairs(records, model.model, config, say) if model is not None and len(records) >= 2 else \
        pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_probability", "match_weight"])
    lap("score")
    linking = _link_and_cluster(conn, records, pairs, model, config)
    lap("cluster")
    ids = _stable_ids(conn, run_id, records, linking, model, config)
    lap("assign_ids")
    queue_out = _review_queue(conn, run_id, records, linking, model, config, ids.now)
    attributes = derive_attributes(records, config).assign(run_id=run_id)
    if ids.carried_attributes:
        kept = pd.DataFrame(ids.carried_attributes).assign(run_id=run_id)[attributes.columns]
        attributes = pd.concat([f for f in (attributes, kept) if len(f)], ignore_index=True)
    participants = ids.xref["participant_id"].value_counts().rename_axis("participant_id") \
        .rename("n_source_records").reset_index()
    store.write_run(conn, run_id, xref=ids.xref, attributes=attributes, participants=participants,
                    previous_participants=ids.registry, events=ids.assignment.events,
                    merged=ids.assignment.merged, retired=ids.assignment.retired,
                    pairs=_match_pairs(records, linking, model, run_id), queue=queue_out, now=ids.now, progress=say)
    lap("write")
    summary = _summary(run_id, records, linking, ids, participants, queue_out, model, trained_now, config)
    candidates = pd.concat([_as_edges(linking.referral_pairs).assign(stage="referrals"),
                            linking.extract_links.assign(stage="extracts")], ignore_index=True)
    return LinkageOutcome(summary=summary, records=records, labels=linking.labels,
                          participant_id=ids.assignment.participant_id, edges=linking.edges,
                          queue=queue_out, candidates=candidates)


def _model_for(conn, records: pd.DataFrame, config: LinkageConfig, retrain: bool, say,
               lap) -> tuple[TrainedModel | None, bool]:
    """The stored model for these settings, or one trained now (none stored, forced, or records grew)."""
    n = len(records)
    model = _current_model(conn, config)
    grown = model is not None and n >= model.records_at_training * config.model.retrain_when_records_grow_by
    if n >= 2 and (model is None or retrain or grown):
        why = "forced" if retrain else ("no model for these settings" if model is None else
                                        f"records grew from {model.records_at_training:,} to {n:,}")
        say(f"training the linkage model ({why})")
        train_input = records.assign(identifier_label=_identifier_labels(records))
        model = train_model(train_input, config, charts_dir(), say)
        _save_model(conn, model)
        lap("train")
        return model, True
    if model is not None and model.charts and not all(Path(p).exists() for p in model.charts.values()):
        model.charts = charts_for_model(model.model, charts_dir(), config)
    return model, False


@dataclass
class _Linking:
    """What the edge and clustering step decided (record positions, not keys)."""

    pairs: pd.DataFrame  # scored candidate pairs without those a reviewer decided (l < r)
    det: pd.DataFrame
    clerical_links: pd.DataFrame
    cannot_link: pd.DataFrame
    referral_pairs: pd.DataFrame  # scored pairs between two referrals
    prob_edges: pd.DataFrame  # accepted referral pairs
    extract_links: pd.DataFrame  # cluster-level scores against the person-level extracts
    accepted_b: pd.DataFrame
    person_prior: dict
    edges: pd.DataFrame  # every applied-or-not edge
    clustering: Clustering
    methods: pd.DataFrame

    @property
    def labels(self) -> np.ndarray:
        return self.clustering.labels


def _link_and_cluster(conn, records: pd.DataFrame, pairs: pd.DataFrame, model: TrainedModel | None,
                      config: LinkageConfig) -> _Linking:
    """Edges (clerical, deterministic, accepted probabilistic) -> participants under the constraints.

    Stage A joins referrals among themselves (one-to-one within a partner's monthly file); stage B
    links the clusters to the person-level extracts, one-to-one between clusters.
    """
    n = len(records)
    uid_of = pd.Series(records["unique_id"].to_numpy(), index=records["source_record_key"].to_numpy(dtype=object))
    det = deterministic_edges(records, config.deterministic.identifiers)
    clerical_links, cannot_link = _decision_edges(store.read_decisions(conn), uid_of)
    accept = config.thresholds.accept_match_probability
    review = config.thresholds.review_match_probability
    pl = pairs["unique_id_l"].to_numpy(dtype=np.int64)
    pr = pairs["unique_id_r"].to_numpy(dtype=np.int64)
    pairs = pairs.assign(l=np.minimum(pl, pr), r=np.maximum(pl, pr))
    decided_pairs = _pair_set(pd.concat([clerical_links[["l", "r"]], cannot_link[["l", "r"]]], ignore_index=True))
    pairs = pairs[~_in_pair_set(pairs, decided_pairs)]  # a reviewer has spoken: the model has no say
    if len(cannot_link):  # ... not even a deterministic one, between exactly those two records
        det = det[~_in_pair_set(det, _pair_set(cannot_link))]

    is_extract = records["source_system"].isin(config.person_level_sources).to_numpy()
    nino = records["nino_stem"].to_numpy(dtype=object)
    touches_extract = is_extract[pairs["l"].to_numpy()] | is_extract[pairs["r"].to_numpy()]
    referral_pairs = pairs[~touches_extract]
    prob_edges = _as_edges(referral_pairs[referral_pairs["match_probability"] >= accept])
    identifiers = {}
    if config.constraints.forbid_conflicting_nhs_number:
        identifiers["nhs_number"] = records["nhs_number"].to_numpy(dtype=object)
    if config.constraints.forbid_conflicting_ni_number:
        identifiers["ni_number"] = nino

    # Stage A: referrals among themselves, plus every deterministic and clerical link.
    stage_a = pd.concat([e for e in (clerical_links, det, prob_edges) if len(e)] or [empty_edges()],
                        ignore_index=True)[EDGE_COLUMNS].astype({"l": "int64", "r": "int64"})
    # one-to-one within a partner's monthly file (one referral per person per episode): two of its
    # records may share a participant only when they agree themselves (a scored pair at or above the
    # review threshold, or a deterministic/clerical link). The file is the partner and the month of
    # the referral date (one file per partner per month); re-referrals in other months are free.
    month = records["record_date"].astype("string").str.slice(0, 7).fillna("").to_numpy(dtype=object)
    referral_source = np.where(is_extract, None, records["source_system"].to_numpy(dtype=object) + "|" + month)
    direct = pd.concat([referral_pairs.loc[referral_pairs["match_probability"] >= review, ["l", "r"]],
                        det[["l", "r"]], clerical_links[["l", "r"]]], ignore_index=True)
    agreeing_records = _pair_set(direct)
    first = cluster(n, stage_a, identifiers, cannot_link, referral_source, agreeing_records)
    # Stage B: probabilistic links to the person-level extracts, one-to-one between clusters.
    lam = float(model.model["probability_two_random_records_match"]) if model is not None else 0.5
    agreeing_pairs = referral_pairs[referral_pairs["match_probability"] >= review]
    la, lb = first.labels[agreeing_pairs["l"].to_numpy()], first.labels[agreeing_pairs["r"].to_numpy()]
    agreeing = set(zip(np.minimum(la, lb).tolist(), np.maximum(la, lb).tolist(), strict=True))
    extract_links, person_prior = extract_link_probabilities(
        first.labels, pairs[touches_extract], records["source_system"].to_numpy(dtype=object), is_extract, nino,
        prior_weight=float(np.log2(lam / (1 - lam))), agreeing=agreeing, pools=list(config.person_level_sources))
    accepted_b = extract_links[extract_links["match_probability"] >= accept]
    edges = pd.concat([stage_a, accepted_b[EDGE_COLUMNS]], ignore_index=True).astype({"l": "int64", "r": "int64"})
    clustering = cluster(n, edges, identifiers, cannot_link, referral_source, agreeing_records)
    return _Linking(pairs=pairs, det=det, clerical_links=clerical_links, cannot_link=cannot_link,
                    referral_pairs=referral_pairs, prob_edges=prob_edges, extract_links=extract_links,
                    accepted_b=accepted_b, person_prior=person_prior, edges=edges, clustering=clustering,
                    methods=attribute_methods(n, clustering.labels, edges))


@dataclass
class _Ids:
    assignment: Assignment
    xref: pd.DataFrame
    registry: pd.DataFrame
    now: datetime
    carried_attributes: list = field(default_factory=list)  # de-identified records' last attributes


def _stable_ids(conn, run_id: int, records: pd.DataFrame, linking: _Linking, model: TrainedModel | None,
                config: LinkageConfig) -> _Ids:
    """Participant ids carried over from the previous run (``ids.py``) and the new xref rows."""
    keys = records["source_record_key"].to_numpy(dtype=object)
    methods = linking.methods
    previous = store.read_previous_xref(conn)
    registry = store.read_participants(conn)
    ages = dict(zip(registry["participant_id"], registry["creation_order"], strict=True))
    assignment = assign_participant_ids(keys, linking.labels, previous, ages, config.participant_ids.prefix,
                                        config.participant_ids.random_chars, set(ages))
    pid = assignment.participant_id
    now = datetime.now(UTC)
    xref = pd.DataFrame({
        "source_system": records["source_system"].to_numpy(),
        "source_record_key": keys,
        "participant_id": pid,
        "method": methods["method"].to_numpy(),
        "match_probability": methods["match_probability"].to_numpy(),
        "match_weight": methods["match_weight"].to_numpy(),
        "model_version": model.version if model is not None else None,
    })
    # linked_at: when the record got its current participant and method (kept while unchanged)
    prev = previous.set_index("source_record_key").reindex(keys)
    unchanged = ((prev["participant_id"].to_numpy() == pid) & (prev["method"].to_numpy() == xref["method"].to_numpy()))
    linked_at = pd.to_datetime(prev["linked_at"], utc=True).to_numpy(copy=True)
    linked_at[~unchanged] = np.datetime64(now.replace(tzinfo=None), "us")
    xref["linked_at"] = pd.to_datetime(linked_at, utc=True)
    xref["run_id"] = run_id
    # records whose identifiers retention removed keep their last participant (marts stay the same)
    from worklink.platform.retention import carried_records

    carried_xref, carried_attributes = carried_records(conn, keys)
    if carried_xref:
        carried = pd.DataFrame(carried_xref).assign(run_id=run_id)
        carried["linked_at"] = pd.to_datetime(carried["linked_at"], utc=True)
        # (an empty frame left out of the concat: pyarrow then writes the text columns garbled)
        xref = pd.concat([f for f in (xref, carried[xref.columns]) if len(f)], ignore_index=True)
        kept_ids = set(carried["participant_id"])
        assignment.retired = [p for p in assignment.retired if p not in kept_ids]
        assignment.events = assignment.events[~((assignment.events["event"] == "retired")
                                                & assignment.events["participant_id"].isin(kept_ids))]
    return _Ids(assignment=assignment, xref=xref, registry=registry, now=now,
                carried_attributes=carried_attributes)


def _review_queue(conn, run_id: int, records: pd.DataFrame, linking: _Linking, model: TrainedModel | None,
                  config: LinkageConfig, now: datetime) -> pd.DataFrame:
    """Uncertain pairs between different participants, and links a constraint held back."""
    review, accept = config.thresholds.review_match_probability, config.thresholds.accept_match_probability
    keys = records["source_record_key"].to_numpy(dtype=object)
    labels, pairs = linking.labels, linking.pairs
    referral_pairs, extract_links = linking.referral_pairs, linking.extract_links
    weight_cols = [c for c in pairs.columns if c.startswith("w_")]
    uncertain = pd.concat([
        referral_pairs.loc[(referral_pairs["match_probability"] >= review)
                           & (referral_pairs["match_probability"] < accept), EDGE_COLUMNS[:2] + EDGE_COLUMNS[3:]],
        extract_links.loc[(extract_links["match_probability"] >= review)
                          & (extract_links["match_probability"] < accept), EDGE_COLUMNS[:2] + EDGE_COLUMNS[3:]],
    ], ignore_index=True).assign(reason="uncertain_match")
    held = linking.clustering.blocked[linking.clustering.blocked["reason"] != "do_not_link_decision"]
    queue = pd.concat([held.drop(columns=["method"]), uncertain], ignore_index=True)
    queue = queue[labels[queue["l"].to_numpy(dtype=np.int64)] != labels[queue["r"].to_numpy(dtype=np.int64)]]
    queue = queue.drop_duplicates(["l", "r"])
    if weight_cols:
        weights = pairs.set_index(["l", "r"])[weight_cols].rename(columns=lambda c: c[2:])
        weights = weights[~weights.index.duplicated()]
        idx = pd.MultiIndex.from_arrays([queue["l"].to_numpy(dtype=np.int64), queue["r"].to_numpy(dtype=np.int64)])
        queue = queue.assign(comparison_weights=weights.reindex(idx).to_dict("records"))
    key_l, key_r = _ordered_keys(keys, queue["l"].to_numpy(dtype=np.int64), queue["r"].to_numpy(dtype=np.int64))
    first_seen = store.read_queue_first_seen(conn).set_index(["key_l", "key_r"])["first_queued_at"]
    queue_out = pd.DataFrame({
        "key_l": key_l, "key_r": key_r,
        "match_probability": queue["match_probability"].to_numpy(),
        "match_weight": queue["match_weight"].to_numpy(),
        "reason": queue["reason"].to_numpy(),
        "comparison_weights": [None if not isinstance(v, dict) else _json(v)
                               for v in queue.get("comparison_weights", pd.Series([None] * len(queue)))],
        "model_version": model.version if model is not None else None,
    })
    seen = pd.Series(list(zip(key_l, key_r, strict=True)), dtype=object).map(first_seen) if len(first_seen) else None
    queue_out["first_queued_at"] = pd.to_datetime(seen if seen is not None else now, utc=True) if len(queue_out) \
        else pd.Series(dtype="datetime64[ns, UTC]")
    if len(queue_out):
        queue_out["first_queued_at"] = queue_out["first_queued_at"].fillna(now)
    queue_out["last_seen_run_id"] = run_id
    return queue_out


def _match_pairs(records: pd.DataFrame, linking: _Linking, model: TrainedModel | None, run_id: int) -> pd.DataFrame:
    """Links worth explaining later (probabilistic and clerical; deterministic ones explain themselves)."""
    keys = records["source_record_key"].to_numpy(dtype=object)
    edges, labels = linking.edges, linking.labels
    inside = edges[(edges["method"].isin(["probabilistic", "clerical"]))
                   & (labels[edges["l"].to_numpy()] == labels[edges["r"].to_numpy()])]
    pl_keys, pr_keys = _ordered_keys(keys, inside["l"].to_numpy(dtype=np.int64), inside["r"].to_numpy(dtype=np.int64))
    return pd.DataFrame({"key_l": pl_keys, "key_r": pr_keys, "method": inside["method"].to_numpy(),
                         "match_probability": inside["match_probability"].to_numpy(),
                         "match_weight": inside["match_weight"].to_numpy(),
                         "model_version": model.version if model is not None else None, "run_id": run_id})


def _summary(run_id: int, records: pd.DataFrame, linking: _Linking, ids: _Ids, participants: pd.DataFrame,
             queue_out: pd.DataFrame, model: TrainedModel | None, trained_now: bool,
             config: LinkageConfig) -> dict:
    by_method = ids.xref["method"].value_counts().to_dict()
    assignment = ids.assignment
    return {
        "run_id": run_id,
        "source_records": len(records),
        "records_by_source": records["source_system"].value_counts().sort_index().to_dict(),
        "participants": int(len(participants)),
        "records_by_method": {m: int(by_method.get(m, 0)) for m in
                              ("deterministic_nhs_number", "deterministic_ni_number", "probabilistic", "clerical",
                               "singleton")},
        "links": {"deterministic": int(len(linking.det)),
                  "probabilistic_between_referrals": int(len(linking.prob_edges)),
                  "probabilistic_to_person_extracts": int(len(linking.accepted_b)),
                  "clerical": int(len(linking.clerical_links)),
                  "blocked_by_constraint": int(len(linking.clustering.blocked)),
                  "do_not_link_decisions_applied": int(len(linking.cannot_link))},
        "scored_pairs_at_or_above_review": int(len(linking.pairs)),
        "review_queue": int(len(queue_out)),
        "participant_ids": {"new": len(assignment.new_ids), "merged": len(assignment.merged),
                            "retired": len(assignment.retired),
                            "kept": int(len(participants) - len(assignment.new_ids))},
        "model_version": model.version if model is not None else None,
        "model_trained_this_run": trained_now,
        "model_charts": dict(model.charts) if model is not None else {},
        "thresholds": config.thresholds.model_dump(),
        "person_level_prior": linking.person_prior,
        "blocking_rules": list(config.model.blocking_rules),
    }


def _json(weights: dict) -> str:
    import json

    return json.dumps({k: (round(float(v), 2) if v is not None and not pd.isna(v) else None)
                       for k, v in weights.items()})
