"""Journeys the outcome rules must get right, added to the simulated programme with their truth.

* **Jobs under the job-start hours**: some recorded jobs are 3 hours a week (HMRC pay follows the
  same hours), so they are recorded but are not job starts (IPS Grow: 4 hours).
* **Contradicted claims**: a partner records a PAYE job for a started participant whom HMRC knows
  (an employment in the extract's window, so linked to the DWP/HMRC extracts) but who has no such
  new job: HMRC's
  extract covers the claimed start, so the warehouse must mark the claim contradicted and never
  count it.
* **Job changes with a gap**: a recorded PAYE job that ends is followed, 10-30 days later (more than
  the 7-day restart gap), by a job with another employer that only HMRC shows (people with a NINo): the first job's
  continuous spell must stop at its end (in-work sustained rule), while the earnings test counts
  both jobs.
* **Re-referrals to the same partner**: a referral that did not start is followed, after its
  decision, by a second referral of the same person to the same partner 60 days after the first
  episode's end (its first contact, else its referral: inside the 90-day re-referral window, one
  episode) or at least 150 days after it (outside: a new episode); the second one does not start
  either.

Drawn from a stream of their own after every other draw of the programme year, so the rest of the
simulation is unchanged. Unverified claims (self-employment, people without a NINo) already arise
in the main simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import params as P
from .population import DAY
from .schema import PartnerSpec

STREAM = 0x9A7115
SHARE_UNDER_4_HOURS = 0.15
UNDER_4_HOURS = 3.0
SHARE_CONTRADICTED = 0.25  # of the candidates: started, known to HMRC, no new job
REREFERRAL_DAYS = {"inside_window": 60, "outside_window": 150}  # after the first episode's end
SHARE_REREFERRED = 0.25
SHARE_JOB_CHANGE = 0.5  # of the recorded PAYE jobs that end with time to spare before the data end
JOB_CHANGE_GAP_DAYS = (10, 30)
HMRC_LAG_DAYS = 35  # the warehouse's hmrc_reporting_lag_days: a claim must be older to be contradicted


def _pick(rng: np.random.Generator, candidates: np.ndarray, share: float, groups: np.ndarray) -> np.ndarray:
    """A share of the candidates in each group, at least one where a group has any (so a small
    sample still has every path)."""
    chosen = np.zeros(len(candidates), bool)
    for g in np.unique(groups[candidates]):
        idx = np.flatnonzero(candidates & (groups == g))
        k = max(1, int(round(share * len(idx))))
        chosen[rng.choice(idx, size=k, replace=False)] = True
    return chosen


def add_outcome_paths(seed: int, ref: pd.DataFrame, new_jobs: pd.DataFrame, known_to_hmrc: np.ndarray,
                      has_nino: np.ndarray, partners: list[PartnerSpec]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ref, new_jobs) with the paths above; ``ref`` gains ``job_under_4_hours``, ``job_contradicted``,
    ``job_change_gap_days`` and ``rereferral`` (``inside_window`` / ``outside_window`` / None) columns
    for the truth."""
    rng = np.random.default_rng([seed, STREAM])
    ref = ref.copy()
    new_jobs = new_jobs.copy()
    end = P.DATA_END
    ref["job_under_4_hours"] = False
    ref["job_contradicted"] = False
    ref["rereferral"] = None
    ref["job_change_gap_days"] = np.nan

    # jobs under 4 hours: the person's new job is 3 hours a week, wherever it is recorded
    js = ref["job_start_date"].to_numpy().astype("datetime64[D]")
    recorded = ref["job_recorded"].to_numpy(dtype=bool) & ~np.isnat(js) & (js <= end)
    people = np.unique(ref.loc[recorded, "person_idx"].to_numpy())
    short = people[rng.random(len(people)) < SHARE_UNDER_4_HOURS]
    new_jobs.loc[new_jobs["person_idx"].isin(short), "hours_per_week"] = UNDER_4_HOURS
    mask = recorded & ref["person_idx"].isin(short).to_numpy()
    ref.loc[mask, "hours_per_week"] = UNDER_4_HOURS
    ref.loc[mask, "job_under_4_hours"] = True

    # job changes with a gap: the person's next job, with another employer, seen by HMRC only
    je = ref["job_end_date"].to_numpy().astype("datetime64[D]")
    paye = recorded & ~ref["job_under_4_hours"].to_numpy(dtype=bool) & (ref["self_employed"].to_numpy() == "N")
    # (people with a NINo: HMRC's extract holds only them)
    ends = paye & ~np.isnat(je) & (je + 60 * DAY <= end) & has_nino[ref["person_idx"].to_numpy()]
    first_row = ref.loc[ends].drop_duplicates("person_idx")
    movers = first_row["person_idx"].to_numpy()[
        _pick(rng, np.ones(len(first_row), bool), SHARE_JOB_CHANGE, first_row["partner_idx"].to_numpy())]
    first = new_jobs[new_jobs["person_idx"].isin(movers)].drop_duplicates("person_idx")
    gap = rng.integers(JOB_CHANGE_GAP_DAYS[0], JOB_CHANGE_GAP_DAYS[1] + 1, len(first))
    second = first.copy()
    second["start_date"] = first["end_date"].to_numpy().astype("datetime64[D]") + (gap + 1) * DAY
    # an end like every simulated spell's (mostly after the data end: still in work then)
    second["end_date"] = second["start_date"].to_numpy().astype("datetime64[D]") + rng.integers(150, 600, len(first)) * DAY
    second["employer_ref"] = [f"{e[:4]}Z{int(g):02d}{e[-3:]}" for e, g in zip(first["employer_ref"], gap, strict=True)]
    new_jobs = pd.concat([new_jobs, second], ignore_index=True)
    gap_of = dict(zip(first["person_idx"], gap, strict=True))
    mask = ends & ref["person_idx"].isin(movers).to_numpy()
    ref.loc[mask, "job_change_gap_days"] = [gap_of[p] for p in ref.loc[mask, "person_idx"]]

    # contradicted claims: a started referral of a person HMRC knows, with no new job, claims one
    sd = ref["start_date"].to_numpy().astype("datetime64[D]")
    has_new_job = ref["person_idx"].isin(new_jobs["person_idx"]).to_numpy()
    claim_start = sd + rng.integers(20, 91, len(ref)) * DAY
    cand = (~np.isnat(sd) & ~recorded & ~has_new_job & known_to_hmrc[ref["person_idx"].to_numpy()]
            & (claim_start + HMRC_LAG_DAYS * DAY <= end))
    claim = _pick(rng, cand, SHARE_CONTRADICTED, ref["partner_idx"].to_numpy())
    i = np.flatnonzero(claim)
    ref.loc[ref.index[i], "job_recorded"] = True
    ref.loc[ref.index[i], "job_start_date"] = claim_start[i]
    ref.loc[ref.index[i], "job_recorded_date"] = np.minimum(claim_start[i] + rng.integers(0, 30, len(i)) * DAY, end)
    ref.loc[ref.index[i], "job_end_date"] = np.datetime64("NaT")
    ref.loc[ref.index[i], "hours_per_week"] = 16.0
    ref.loc[ref.index[i], "hourly_pay_gbp"] = 12.50
    ref.loc[ref.index[i], "self_employed"] = "N"
    ref.loc[ref.index[i], "evidence_type"] = "self_declared"
    ref.loc[ref.index[i], "job_contradicted"] = True

    # re-referrals to the same partner after a did-not-start decision
    dns = ref["dns_date"].to_numpy().astype("datetime64[D]")
    fc = ref["first_contact_date"].to_numpy().astype("datetime64[D]")
    rd = ref["referral_date"].to_numpy().astype("datetime64[D]")
    episode_end = np.where(np.isnat(fc), rd, fc)  # the warehouse's end of a did-not-start episode
    # people referred once (so no other partner's referral joins or splits their episodes)
    once = (ref.groupby("person_idx")["person_idx"].transform("size") == 1).to_numpy()
    decided = ~np.isnat(dns) & np.isnat(sd) & (ref["eligible"].to_numpy() == "Y") & once
    kind = rng.choice(list(REREFERRAL_DAYS), len(ref), p=[0.4, 0.6])  # outside needs an early first referral
    new_rd = episode_end + np.array([REREFERRAL_DAYS[k] for k in kind]) * DAY
    # always after the first decision; inside the window only if that decision came early enough
    new_rd = np.where(kind == "outside_window", np.maximum(new_rd, dns + DAY), new_rd)
    ok = (new_rd > dns) & (new_rd + 30 * DAY <= end)
    pick = np.flatnonzero(decided & ok & (rng.random(len(ref)) < SHARE_REREFERRED))
    again = ref.iloc[pick].copy()
    again["referral_date"] = new_rd[pick]
    again["first_contact_date"] = new_rd[pick] + 3 * DAY
    again["dns_date"] = new_rd[pick] + 20 * DAY
    again["did_not_start_reason"] = rng.choice(["declined", "health_deteriorated"], len(pick))
    again["rereferral"] = kind[pick]
    seq = again.groupby("partner_idx").cumcount().to_numpy()
    # ids after the partner's own series: 9 followed by zeros at its id width (PartnerSpec.rereferral_id_base)
    again["referral_id"] = [partners[p].referral_id(partners[p].rereferral_id_base + s)
                            for p, s in zip(again["partner_idx"], seq, strict=True)]
    # new index labels after the existing ones (activities and wellbeing rows point at ref's labels)
    again.index = pd.RangeIndex(ref.index.max() + 1, ref.index.max() + 1 + len(again))
    ref = pd.concat([ref, again]).sort_values(["partner_idx", "referral_date", "person_idx"], kind="stable")
    return ref, new_jobs
