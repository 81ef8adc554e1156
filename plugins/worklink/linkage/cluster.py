"""From pairwise links to participants: clustering under "never merge" constraints.

Links (edges) come from three places: clerical "link" decisions, deterministic identifier
matches and accepted probabilistic pairs. Two kinds of constraint may stop a merge:

* two different valid NHS numbers would end up in one participant (unless a reviewer linked
  them: a human decision, not an automatic merge);
* a clerical "do not link" decision between any record on one side and any on the other. The
  decision holds for the whole participant, so a chain of other links cannot join the two either.

Most components contain no conflict, so they are found with a vectorised connected-components
pass. Only components that would hold a conflict are rebuilt edge by edge in a fixed order
(clerical links, NHS number, NI number, then probabilistic pairs by falling probability), skipping
any edge that would break a constraint; the skipped edges are reported for clerical review.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

METHOD_PRIORITY = {  # union order: lower first
    "clerical": 0,
    "deterministic_nhs_number": 1,
    "deterministic_ni_number": 2,
    "probabilistic": 3,
}
ATTRIBUTION_ORDER = ["deterministic_nhs_number", "deterministic_ni_number", "clerical", "probabilistic"]
EDGE_COLUMNS = ["l", "r", "method", "match_probability", "match_weight"]


def empty_edges() -> pd.DataFrame:
    return pd.DataFrame({
        "l": pd.Series(dtype="int64"), "r": pd.Series(dtype="int64"), "method": pd.Series(dtype="object"),
        "match_probability": pd.Series(dtype="float64"), "match_weight": pd.Series(dtype="float64"),
    })


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label of each node = smallest node id in its component (hook-and-compress, vectorised)."""
    parent = np.arange(n, dtype=np.int64)
    if len(left) == 0:
        return parent
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while True:
        pl, pr = parent[left], parent[right]
        if np.array_equal(pl, pr):
            return parent
        low = np.minimum(pl, pr)
        np.minimum.at(parent, pl, low)
        np.minimum.at(parent, pr, low)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


@dataclass
class Clustering:
    labels: np.ndarray  # cluster label per record (smallest unique_id in the cluster)
    blocked: pd.DataFrame  # edges not applied because of a constraint (l, r, method, p, weight, reason)


def cluster(n: int, edges: pd.DataFrame, identifiers: dict[str, np.ndarray], cannot_link: pd.DataFrame,
            source: np.ndarray | None = None, agreeing: set[tuple[int, int]] | None = None) -> Clustering:
    """Cluster ``n`` records joined by ``edges`` without breaking the constraints.

    ``identifiers``: name -> per-record value (None when missing) that a participant may hold at
    most one of (e.g. valid NHS numbers). Clerical links may override these, not do-not-link.

    ``source`` (per record: the partner file it came from, None for none) and ``agreeing``
    (record pairs, smaller id first, that were compared directly and not found to be different
    people) make links one-to-one where that is true: a probabilistic link may not put two
    records of one file into one participant unless those two agree themselves. Two people of
    the same name in one partner's file can then not be chained into one participant through a
    third record that resembles both (the better link wins; the other goes to review).
    """
    edges = edges.reset_index(drop=True)
    labels = connected_components(n, edges["l"].to_numpy(), edges["r"].to_numpy())
    suspect = np.zeros(n, dtype=bool)  # components that would hold a conflict
    for values in identifiers.values():
        has = pd.notna(values)
        per = pd.DataFrame({"label": labels[has], "value": values[has]}).drop_duplicates()
        multi = per["label"].value_counts()
        suspect[np.isin(labels, multi.index[multi > 1].to_numpy())] = True
    one_to_one = source is not None and agreeing is not None
    if one_to_one:
        has = pd.notna(source)
        per = pd.DataFrame({"label": labels[has], "source": source[has]})
        repeated = per[per.duplicated(["label", "source"], keep=False)]["label"].unique()
        suspect[np.isin(labels, repeated)] = True
    if len(cannot_link):
        cl_l = cannot_link["l"].to_numpy(dtype=np.int64)
        cl_r = cannot_link["r"].to_numpy(dtype=np.int64)
        same = labels[cl_l] == labels[cl_r]
        suspect[np.isin(labels, labels[cl_l[same]])] = True
    blocked = pd.DataFrame({c: pd.Series(dtype=edges[c].dtype) for c in EDGE_COLUMNS}).assign(
        reason=pd.Series(dtype="object"))
    if not suspect.any():
        return Clustering(labels=labels, blocked=blocked)

    in_suspect = suspect[edges["l"].to_numpy()]
    sub = edges[in_suspect].copy()
    sub["_prio"] = sub["method"].map(METHOD_PRIORITY)
    sub = sub.sort_values(["_prio", "match_probability", "l", "r"], ascending=[True, False, True, True],
                          kind="stable")
    nodes = np.flatnonzero(suspect)
    parent = {int(v): int(v) for v in nodes}
    members = {int(v): {int(v)} for v in nodes}
    held = {name: {int(v): ({values[v]} if pd.notna(values[v]) else set()) for v in nodes}
            for name, values in identifiers.items()}
    forbidden: dict[int, set[int]] = {}
    for a, b in zip(cannot_link["l"].to_numpy(dtype=np.int64), cannot_link["r"].to_numpy(dtype=np.int64),
                    strict=True):
        if suspect[a] and suspect[b]:
            forbidden.setdefault(int(a), set()).add(int(b))
            forbidden.setdefault(int(b), set()).add(int(a))
    forbid = {int(v): set(forbidden.get(int(v), ())) for v in nodes}
    by_source: dict[int, dict[object, set[int]]] = {}
    if one_to_one:
        by_source = {int(v): ({source[v]: {int(v)}} if pd.notna(source[v]) else {}) for v in nodes}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    blocked_rows = []
    for row in sub.itertuples(index=False):
        ra, rb = find(row.l), find(row.r)
        if ra == rb:
            continue
        reason = None
        if forbid[ra] & members[rb]:
            reason = "do_not_link_decision"
        elif row.method != "clerical":
            for name, sets in held.items():
                if sets[ra] and sets[rb] and not (sets[ra] & sets[rb]):
                    reason = f"conflicting_{name}"
                    break
        if reason is None and one_to_one and row.method == "probabilistic":
            for s_, on_a in by_source[ra].items():
                on_b = by_source[rb].get(s_)
                if on_b and any((min(a, b), max(a, b)) not in agreeing for a in on_a for b in on_b):
                    reason = "same_partner_records_disagree"
                    break
        if reason:
            blocked_rows.append((row.l, row.r, row.method, row.match_probability, row.match_weight, reason))
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        for sets in held.values():
            sets[ra] |= sets.pop(rb)
        forbid[ra] |= forbid.pop(rb)
        if one_to_one:
            for s_, on_b in by_source.pop(rb).items():
                by_source[ra].setdefault(s_, set()).update(on_b)
    for root in list(members):
        label = min(members[root])
        for v in members[root]:
            labels[v] = label
    if blocked_rows:
        blocked = pd.DataFrame(blocked_rows, columns=[*EDGE_COLUMNS, "reason"])
    return Clustering(labels=labels, blocked=blocked)


def extract_link_probabilities(labels: np.ndarray, candidates: pd.DataFrame, source: np.ndarray,
                               is_extract: np.ndarray, nino_stem: np.ndarray, prior_weight: float,
                               agreeing: set[tuple[int, int]], pools: list[str],
                               em_iterations: int = 50) -> tuple[pd.DataFrame, dict]:
    """Probability that an extract cluster is a referral cluster's person, one-to-one.

    The DWP and HMRC extracts hold each person once. So for a referral cluster A the question is
    not "does this pair match?" (Splink's pairwise probability, whose prior is for two random
    records) but "which, if any, of the extract's people is A?". With ``pi`` the chance that A's
    person is in extract S at all and ``N_S`` the number of people in it, each candidate D gets
    ``odds = BF * pi / ((1 - pi) * N_S)`` (BF: the pair's Bayes factor, i.e. Splink's match weight
    without its prior), normalised over A's candidates and, symmetrically, over D's:
    ``p = odds / (1 + sum of the odds of all candidates)``, the smaller of the two sides. Two equally
    good candidates share the probability, so neither is linked.

    ``pi`` differs by referral source (a WorkWell referral is less often on benefits than a VCSE
    one) and cannot be read off records without a NINo, so it is estimated per (referral source,
    extract) by EM: start at 0.5, set pi to the expected share of A clusters that have a match,
    repeat. When D already holds referral records, those must agree with A's (a pair at or above
    the review threshold, ``agreeing``): a DWP record with only a surname, DOB and postcode may
    not pull in a referral whose names contradict the rest of D.

    Returns (one row per candidate (A, D) with its best pair l, r, match weight and p; the
    estimated pi per "referral source->extract").
    """
    cols = ["l", "r", "method", "match_probability", "match_weight"]
    empty = pd.DataFrame(columns=cols)
    if candidates.empty:
        return empty, {}
    l_ext = is_extract[candidates["l"].to_numpy()]
    r_ext = is_extract[candidates["r"].to_numpy()]
    one_side = l_ext != r_ext
    c = candidates[one_side]
    ext = np.where(l_ext[one_side], c["l"].to_numpy(), c["r"].to_numpy())
    ref = np.where(l_ext[one_side], c["r"].to_numpy(), c["l"].to_numpy())
    # Each extract cluster belongs to one pool: the first extract (in ``pools`` order) it holds a
    # record of (a person in DWP and HMRC is a DWP person). Using the pool of the cluster, not of
    # whichever record gave the best pair, keeps equal-scoring pairs from changing the prior.
    ext_frame = pd.DataFrame({"label": labels[is_extract], "source": source[is_extract]})
    rank = {s_: i for i, s_ in enumerate(pools)}
    ext_frame["rank"] = ext_frame["source"].map(rank).fillna(len(rank))
    pool_of = ext_frame.sort_values(["label", "rank"]).drop_duplicates("label").set_index("label")["source"]
    c = c.assign(A=labels[ref], D=labels[ext], log2_bf=c["match_weight"].to_numpy() - prior_weight)
    c = c[c["A"] != c["D"]]
    c = c.assign(S=c["D"].map(pool_of).to_numpy())
    # never a candidate when the two clusters already hold different NI numbers
    has = pd.notna(nino_stem)
    cluster_nino = pd.Series(nino_stem[has], index=labels[has]).groupby(level=0).first()
    na, nd = c["A"].map(cluster_nino), c["D"].map(cluster_nino)
    c = c[~(na.notna() & nd.notna() & (na != nd)).to_numpy()]
    # D's own referral records must not contradict A
    referral_clusters = np.unique(labels[~is_extract])
    d_has_referrals = np.isin(c["D"].to_numpy(), referral_clusters)
    if d_has_referrals.any():
        ok = np.fromiter(((min(a, d), max(a, d)) in agreeing for a, d in zip(c["A"], c["D"], strict=True)),
                         dtype=bool, count=len(c))
        c = c[~d_has_referrals | ok]
    if c.empty:
        return empty, {}
    best = c.sort_values(["A", "D", "log2_bf", "l", "r"], ascending=[True, True, False, True, True],
                         kind="stable").drop_duplicates(["A", "D"])

    # pi groups: the referral source of A (smallest source name among its referral records)
    ref_frame = pd.DataFrame({"label": labels[~is_extract], "source": source[~is_extract]})
    group_of = ref_frame.groupby("label")["source"].min()
    best = best.assign(G=best["A"].map(group_of).to_numpy())
    extract_people = pool_of.rename("S").rename_axis("label").reset_index()
    n_people = extract_people["S"].value_counts()
    best["log2_n"] = np.log2(best["S"].map(n_people).astype(float).clip(lower=1)).to_numpy()
    # A clusters of each group that could still gain a record of extract S (do not hold one yet),
    # and extract people of S not yet joined to any referral
    at_risk: dict[tuple[str, str], int] = {}
    holding = extract_people["label"].to_numpy()
    for g, s_ in sorted(set(zip(best["G"], best["S"], strict=True))):
        members = group_of.index[group_of == g].to_numpy()
        at_risk[(g, s_)] = max(1, int(len(members) - np.isin(members, holding).sum()))
    unclaimed = {s_: max(1, int((~np.isin(extract_people.loc[extract_people["S"] == s_, "label"].to_numpy(),
                                          referral_clusters)).sum()))
                 for s_ in best["S"].unique()}
    pi = dict.fromkeys(at_risk, 0.5)
    rho = dict.fromkeys(unclaimed, 0.5)
    key = pd.MultiIndex.from_arrays([best["G"], best["S"]])
    for _ in range(em_iterations):
        p = _posterior(best, np.array([pi[k] for k in key]), best["S"].map(rho).to_numpy(dtype=float))
        by_group = pd.Series(p, index=key).groupby(level=[0, 1]).sum()
        by_extract = pd.Series(p, index=best["S"].to_numpy()).groupby(level=0).sum()
        new_pi = {k: _clamp(by_group.get(k, 0.0) / at_risk[k]) for k in pi}
        new_rho = {k: _clamp(by_extract.get(k, 0.0) / unclaimed[k]) for k in rho}
        converged = all(abs(new_pi[k] - pi[k]) < 1e-4 for k in pi) and all(abs(new_rho[k] - rho[k]) < 1e-4
                                                                            for k in rho)
        pi, rho = new_pi, new_rho
        if converged:
            break
    p = _posterior(best, np.array([pi[k] for k in key]), best["S"].map(rho).to_numpy(dtype=float))
    out = pd.DataFrame({"l": best["l"].to_numpy(), "r": best["r"].to_numpy(), "method": "probabilistic",
                        "match_probability": p, "match_weight": best["match_weight"].to_numpy()})
    priors = {f"pi {g}->{s_}": round(v, 4) for (g, s_), v in sorted(pi.items())}
    priors.update({f"rho {s_}": round(v, 4) for s_, v in sorted(rho.items())})
    return out, priors


def _clamp(value: float) -> float:
    return float(min(max(value, 1e-3), 1 - 1e-3))


def _posterior(best: pd.DataFrame, pi: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """P(A = D) against the alternatives: neither matched, A matched to another candidate, or D.

    odds(A=D : neither) = BF * pi / ((1 - pi) * (1 - rho) * N_S), the prior of one given pair in a
    one-to-one matching in which a share pi of A clusters and rho of extract people are matched.
    """
    log2_prior = np.log2(pi) - np.log2(1 - pi) - np.log2(1 - rho) - best["log2_n"].to_numpy()
    odds = np.exp2(np.clip(best["log2_bf"].to_numpy() + log2_prior, -1000, 1000))
    frame = pd.DataFrame({"A": best["A"].to_numpy(), "D": best["D"].to_numpy(), "odds": odds})
    sum_a = frame.groupby("A")["odds"].transform("sum").to_numpy()
    sum_d = frame.groupby("D")["odds"].transform("sum").to_numpy()
    return odds / (1 + sum_a + sum_d - odds)


def attribute_methods(n: int, labels: np.ndarray, edges: pd.DataFrame) -> pd.DataFrame:
    """Per record: how it is linked (best edge to its own participant), with that edge's score.

    Deterministic links rank first, then clerical, then probabilistic (highest probability).
    A record with no edge inside its participant is a ``singleton``.
    """
    out = pd.DataFrame({
        "method": np.full(n, "singleton", dtype=object),
        "match_probability": np.full(n, np.nan),
        "match_weight": np.full(n, np.nan),
    })
    if edges.empty:
        return out
    inside = edges[labels[edges["l"].to_numpy()] == labels[edges["r"].to_numpy()]]
    ends = pd.concat([
        inside[["l", "method", "match_probability", "match_weight"]].rename(columns={"l": "uid"}),
        inside[["r", "method", "match_probability", "match_weight"]].rename(columns={"r": "uid"}),
    ], ignore_index=True)
    ends["_rank"] = ends["method"].map({m: i for i, m in enumerate(ATTRIBUTION_ORDER)})
    ends = ends.sort_values(["uid", "_rank", "match_probability"], ascending=[True, True, False], kind="stable")
    best = ends.drop_duplicates("uid", keep="first")
    uid = best["uid"].to_numpy()
    out.loc[uid, "method"] = best["method"].to_numpy()
    # Edges from different stages arrive with object dtype; store plain floats.
    out.loc[uid, "match_probability"] = pd.to_numeric(best["match_probability"]).to_numpy(dtype=float)
    out.loc[uid, "match_weight"] = pd.to_numeric(best["match_weight"]).to_numpy(dtype=float)
    return out
