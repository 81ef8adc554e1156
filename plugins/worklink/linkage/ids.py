"""Stable participant ids across runs.

Every run re-links all current records from scratch (so corrections and clerical decisions take
effect everywhere), then gives each new cluster the id its records had before:

1. each (cluster, previous id) pair is scored by how many of the cluster's records had that id;
2. pairs are taken greedily, most records first, then the older id; a cluster gets at most one
   previous id and an id goes to at most one cluster;
3. clusters left without an id get a new random one (``WL`` + 10 Crockford base-32 characters,
   meaningless and not derived from any identifier).

So unchanged data keeps every id; new records join the id of the cluster they fall into; when
two participants turn out to be one, the bigger (then older) keeps its id and the other is marked
``merged`` into it; when one splits, the bigger part keeps the id. Every change is an event in
``linkage.participant_events``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import pandas as pd

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def mint_ids(count: int, prefix: str, length: int, taken: set[str]) -> list[str]:
    """``count`` new random ids not in ``taken`` (OS randomness; 256 is a multiple of 32, so unbiased)."""
    alphabet = np.frombuffer(CROCKFORD.encode(), dtype=np.uint8)
    out: list[str] = []
    seen = set(taken)
    while len(out) < count:
        need = count - len(out)
        raw = np.frombuffer(secrets.token_bytes(need * length), dtype=np.uint8).reshape(need, length)
        chars = alphabet[raw % 32]
        for row in chars.view(f"S{length}").ravel():
            candidate = prefix + row.decode()
            if candidate not in seen:
                seen.add(candidate)
                out.append(candidate)
    return out


@dataclass
class Assignment:
    participant_id: np.ndarray  # per record
    events: pd.DataFrame  # participant_id, event, other_participant_id, n_records
    new_ids: list[str]
    merged: dict[str, str]  # old id -> id it merged into
    retired: list[str]


def assign_participant_ids(keys: np.ndarray, labels: np.ndarray, previous: pd.DataFrame, id_age: dict[str, int],
                           prefix: str = "WL", length: int = 10, taken: set[str] | None = None) -> Assignment:
    """``previous``: source_record_key -> participant_id of the last run; ``id_age``: id -> creation order."""
    frame = pd.DataFrame({"key": pd.Series(keys, dtype=object), "label": labels})
    prev_ids = pd.Series(previous["participant_id"].to_numpy(dtype=object),
                         index=pd.Index(previous["source_record_key"].to_numpy(dtype=object)))
    frame["old"] = prev_ids.reindex(frame["key"].to_numpy()).to_numpy(dtype=object)
    known = frame.dropna(subset=["old"])
    candidates = known.groupby(["label", "old"], sort=False).size().rename("n").reset_index()
    ages = pd.Series(id_age, dtype="float64")
    candidates["age"] = ages.reindex(candidates["old"].to_numpy(dtype=object)).fillna(np.iinfo(np.int64).max).to_numpy()
    candidates = candidates.sort_values(["n", "age", "old"], ascending=[False, True, True], kind="stable")
    # Fast path: a cluster that is the only claimant of its only previous id simply keeps it.
    single = ~candidates["label"].duplicated(keep=False) & ~candidates["old"].duplicated(keep=False)
    label_pid: dict[int, str] = dict(zip(candidates.loc[single, "label"].astype(int), candidates.loc[single, "old"],
                                         strict=True))
    used: set[str] = set(candidates.loc[single, "old"])
    rest = candidates[~single]
    for label, old in zip(rest["label"].to_numpy(), rest["old"].to_numpy(), strict=True):
        if label in label_pid or old in used:
            continue
        label_pid[int(label)] = old
        used.add(old)
    unique_labels = pd.unique(labels)
    missing = [int(v) for v in unique_labels if int(v) not in label_pid]
    new_ids = mint_ids(len(missing), prefix, length, (taken or set()) | set(previous["participant_id"]))
    label_pid.update(zip(missing, new_ids, strict=True))
    pid = frame["label"].map(label_pid).to_numpy(dtype=object)
    frame["pid"] = pid

    sizes = frame.groupby("pid").size()
    events = [pd.DataFrame({"participant_id": new_ids, "event": "created", "other_participant_id": None,
                            "n_records": sizes.reindex(new_ids).to_numpy(dtype=np.int64)})]
    # Where did the records of each previous id go? Only changed (old -> other id) rows matter.
    moved = (known.assign(pid=frame.loc[known.index, "pid"]).groupby(["old", "pid"]).size().rename("n")
             .reset_index())
    changed = moved[moved["old"] != moved["pid"]]
    kept = pd.Index(list(used), dtype=object).get_indexer(changed["old"].to_numpy(dtype=object)) >= 0
    splits = changed[kept]  # part of a kept participant went to another id
    events.append(pd.DataFrame({"participant_id": splits["pid"].to_numpy(), "event": "split_from",
                                "other_participant_id": splits["old"].to_numpy(),
                                "n_records": splits["n"].to_numpy(dtype=np.int64)}))
    gone = changed[~kept].sort_values(["old", "n", "pid"], ascending=[True, False, True])
    gone = gone.drop_duplicates("old", keep="first")  # an id not kept merges into where most records went
    merged = dict(zip(gone["old"], gone["pid"], strict=True))
    events.append(pd.DataFrame({"participant_id": gone["old"].to_numpy(), "event": "merged_into",
                                "other_participant_id": gone["pid"].to_numpy(),
                                "n_records": gone["n"].to_numpy(dtype=np.int64)}))
    previous_ids = set(previous["participant_id"])
    retired = sorted(previous_ids - used - set(merged))
    events.append(pd.DataFrame({"participant_id": retired, "event": "retired", "other_participant_id": None,
                                "n_records": np.zeros(len(retired), dtype=np.int64)}))
    events_frame = pd.concat([e for e in events if len(e)], ignore_index=True) if any(len(e) for e in events) \
        else pd.DataFrame(columns=["participant_id", "event", "other_participant_id", "n_records"])
    return Assignment(
        participant_id=pid,
        events=events_frame,
        new_ids=new_ids, merged=merged, retired=retired,
    )
