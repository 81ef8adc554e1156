"""What partners report about a job after the month they recorded it: job updates and payslips.

Each recorded job start carries the partner's own job id (``JOB_ID``). Later months bring:

* ``job_updates`` rows: the job ended (after the partner recorded it; sent for
  ``P_REPORT_END`` of such jobs), hours increased, or a 5% pay rise, each keyed by the job
  id; plus a few updates naming a job id the partner never sent (``UNKNOWN_JOB_ID``), which the
  warehouse must hold with the reason ``unknown_job``, never drop;
* ``payslips`` rows: for PAYE jobs evidenced by payslips, one a month (pay date the 28th) over
  the first 26 weeks, each paying hours x hourly pay for the days since the previous payslip.

Drawn from a stream of their own, so the other landing files stay as they were. The truth counts
(``followup_counts``) say how many of each the warehouse must apply or hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import params as P
from .population import DAY

JOB_ID = "JOB-1"
UNKNOWN_JOB_ID = "JOB-9"
P_REPORT_END = 0.75  # jobs that end after being recorded: share whose end the partner reports
P_HOURS_CHANGE = 0.25
P_PAY_RISE = 0.25
UNKNOWN_JOB_UPDATES_PER_PARTNER = 2
PAYSLIP_WEEKS = 26
STREAM = 0xF0110  # entropy added to the seed: this module's own random stream

UPDATE_COLUMNS = ["partner_idx", "referral_id", "person_idx", "job_id", "update_type", "effective_date",
                  "hours_per_week", "hourly_pay_gbp", "recorded_date", "is_unknown_job"]
PAYSLIP_COLUMNS = ["partner_idx", "referral_id", "person_idx", "job_id", "pay_date", "gross_pay_gbp",
                   "recorded_date"]


def _lag(rng: np.random.Generator, dates: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return np.minimum(dates + rng.integers(lo, hi + 1, len(dates)) * DAY, P.DATA_END)


def job_followups(seed: int, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(job updates, payslips) for the recorded job starts in ``ref`` (one row per referral)."""
    rng = np.random.default_rng([seed, STREAM])
    end = P.DATA_END
    js = ref["job_start_date"].to_numpy().astype("datetime64[D]")
    je = ref["job_end_date"].to_numpy().astype("datetime64[D]")
    rec = ref["job_recorded_date"].to_numpy().astype("datetime64[D]")
    recorded = ref["job_recorded"].to_numpy(dtype=bool) & ~np.isnat(js) & (js <= end)
    hours = ref["hours_per_week"].to_numpy(dtype=float)
    pay = ref["hourly_pay_gbp"].to_numpy(dtype=float)
    base = pd.DataFrame({"partner_idx": ref["partner_idx"].to_numpy(), "referral_id": ref["referral_id"].to_numpy(),
                         "person_idx": ref["person_idx"].to_numpy(), "job_id": JOB_ID})
    parts = []

    # the job ended after the partner recorded it (so its job_starts row shows no end)
    ended = recorded & ~np.isnat(je) & (je > rec) & (je <= end) & (rng.random(len(ref)) < P_REPORT_END)
    i = np.flatnonzero(ended)
    parts.append(base.iloc[i].assign(update_type="job_ended", effective_date=je[i], hours_per_week=np.nan,
                                     hourly_pay_gbp=np.nan, recorded_date=_lag(rng, je[i], 0, 40)))

    # hours went up some weeks after the job was recorded, while still in the job
    eff = rec + rng.integers(14, 151, len(ref)) * DAY
    new_hours = np.minimum(hours + rng.integers(2, 11, len(ref)), 48.0)
    # (never for a job under the job-start hours: its truth is that it is not a job start)
    under_4 = ref["job_under_4_hours"].to_numpy(dtype=bool) if "job_under_4_hours" in ref else np.zeros(len(ref), bool)
    changed = (recorded & ~under_4 & (rng.random(len(ref)) < P_HOURS_CHANGE) & (eff <= end)
               & (np.isnat(je) | (eff < je)))
    i = np.flatnonzero(changed)
    parts.append(base.iloc[i].assign(update_type="hours_changed", effective_date=eff[i],
                                     hours_per_week=new_hours[i], hourly_pay_gbp=np.nan,
                                     recorded_date=_lag(rng, eff[i], 0, 30)))

    # a pay rise of 5% some months into the job, while still in it
    eff = rec + rng.integers(30, 181, len(ref)) * DAY
    raised = (recorded & ~np.isnan(pay) & (rng.random(len(ref)) < P_PAY_RISE) & (eff <= end)
              & (np.isnat(je) | (eff < je)))
    i = np.flatnonzero(raised)
    parts.append(base.iloc[i].assign(update_type="pay_changed", effective_date=eff[i], hours_per_week=np.nan,
                                     hourly_pay_gbp=np.round(pay[i] * 1.05, 2),
                                     recorded_date=_lag(rng, eff[i], 0, 30)))
    updates = pd.concat(parts, ignore_index=True).assign(is_unknown_job=False)

    # a few updates naming a job id the partner never sent (a typo, or a job recorded elsewhere)
    unknown = []
    for p in sorted(set(ref["partner_idx"])):
        cand = np.flatnonzero(recorded & (ref["partner_idx"].to_numpy() == p))
        if len(cand) == 0:
            continue
        pick = rng.choice(cand, size=min(UNKNOWN_JOB_UPDATES_PER_PARTNER, len(cand)), replace=False)
        when = np.minimum(js[pick] + rng.integers(30, 120, len(pick)) * DAY, end)
        unknown.append(base.iloc[pick].assign(job_id=UNKNOWN_JOB_ID, update_type="job_ended", effective_date=when,
                                              hours_per_week=np.nan, hourly_pay_gbp=np.nan,
                                              recorded_date=_lag(rng, when, 0, 20), is_unknown_job=True))
    updates = pd.concat([updates, *unknown], ignore_index=True)[UPDATE_COLUMNS]
    updates = updates.sort_values(["partner_idx", "recorded_date", "referral_id", "update_type"], kind="stable")

    # payslips: PAYE jobs evidenced by payslips, monthly on the 28th over the first 26 weeks
    slips = []
    evidence = ref["evidence_type"].to_numpy(dtype=object)
    paye = recorded & (evidence == "payslip") & (ref["self_employed"].to_numpy(dtype=object) != "Y")
    def changes(kind: str, column: str) -> dict:
        u = updates[updates["update_type"] == kind]
        return dict(zip(u["referral_id"], zip(u["effective_date"], u[column], strict=True), strict=True))

    hours_change, pay_change = changes("hours_changed", "hours_per_week"), changes("pay_changed", "hourly_pay_gbp")
    for k in np.flatnonzero(paye & ~np.isnan(pay)):
        last = min(js[k] + (PAYSLIP_WEEKS * 7 - 1) * DAY, end if np.isnat(je[k]) else min(je[k], end))
        month = js[k].astype("datetime64[M]")
        previous = js[k] - DAY
        while True:
            pay_date = month.astype("datetime64[D]") + 27 * DAY
            month += 1
            if pay_date < js[k] + 7 * DAY:
                continue
            if pay_date > last:
                break
            # the hours and pay in force on the pay date (a payslip straddling a change is paid at the new rate)
            change = hours_change.get(ref["referral_id"].iloc[k])
            h = change[1] if change is not None and pay_date >= change[0] else hours[k]
            change = pay_change.get(ref["referral_id"].iloc[k])
            p_rate = change[1] if change is not None and pay_date >= change[0] else pay[k]
            days = int((pay_date - previous) / DAY)
            slips.append((ref["partner_idx"].iloc[k], ref["referral_id"].iloc[k], ref["person_idx"].iloc[k], JOB_ID,
                          pay_date, round(float(h * p_rate * days / 7), 2)))
            previous = pay_date
    payslips = pd.DataFrame(slips, columns=PAYSLIP_COLUMNS[:-1])
    pay_dates = np.array(payslips["pay_date"].tolist(), dtype="datetime64[D]")
    payslips["pay_date"] = pay_dates
    payslips["recorded_date"] = _lag(rng, pay_dates, 0, 20)
    payslips = payslips.sort_values(["partner_idx", "recorded_date", "referral_id", "pay_date"], kind="stable")
    return updates.reset_index(drop=True), payslips.reset_index(drop=True)


def followup_counts(updates: pd.DataFrame, payslips: pd.DataFrame, partner_ids: list[str]) -> dict:
    """Truth per partner: rows sent, updates the warehouse applies (effective by the data end) or
    holds (unknown job id), and payslips it matches."""
    out = {}
    for p, pid in enumerate(partner_ids):
        u = updates[updates["partner_idx"] == p]
        known = u[~u["is_unknown_job"]]
        out[pid] = {
            "job_updates": len(u),
            "job_updates_applied": int((known["effective_date"] <= P.DATA_END).sum()),
            "job_updates_by_type": {t: int((known["update_type"] == t).sum())
                                    for t in ("job_ended", "hours_changed", "pay_changed")},
            "job_updates_held_unknown_job": int(u["is_unknown_job"].sum()),
            "payslips": int((payslips["partner_idx"] == p).sum()),
        }
    return out
