"""WorkWell service journeys with ground truth (the ICB's own starts, contacts, exits and fit notes).

WorkWell serves people in work but off sick or at risk of falling out of work, and people who left
work recently (Blackburn with Darwen: in the last 12 weeks). Each ICB referral may be assessed by a
Work and Health Coach (the WorkWell start), agree a support plan, have contacts, fit-note changes
and an exit. The truth per referral says whether a person in work at referral was retained in work
for the short and long windows from the start (dbt vars ``workwell_retention_short_weeks`` and
``workwell_retention_long_weeks``, see synth/windows.py; PAYE employment with any employer, a change of employer joined
when the new job starts at most ``rates.ww_retention_gap_days`` days after the old one ended; a
person off sick must also be back at work by the end of the window), their return-to-work date,
and, for people out of work at referral, their first job start after the start.

Everything here draws from its own random stream, so the rest of the sample stays the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import params as P
from .population import DAY, _choice, to_weekday
from .programme import _job_spells
from .windows import outcome_windows

NAT = np.datetime64("NaT", "D")
IN_WORK = ("employed_off_sick", "employed_at_risk")
FAR = np.datetime64("2100-01-01", "D")

STARTS_COLUMNS = {
    "ww_referral_id": "str",
    "assessment_date": "date",
    "support_plan_date": "date",
    "work_status_at_assessment": "str",
    "employment_status_at_assessment": "str",
    "did_not_start_reason": "str",
}
CONTACTS_COLUMNS = {
    "ww_contact_id": "str",
    "ww_referral_id": "str",
    "contact_date": "date",
    "contact_mode": "str",
    "contact_type": "str",
    "duration_minutes": "int",
}
EXITS_COLUMNS = {"ww_referral_id": "str", "exit_date": "date", "exit_reason": "str", "work_status_at_exit": "str"}
FIT_NOTES_COLUMNS = {"ww_fit_note_id": "str", "ww_referral_id": "str", "change_date": "date", "fit_note_status": "str"}
CONTACT_TYPES = ["keyworker_session", "action_plan_review", "physio", "counselling", "cv_job_search", "money_advice"]


def change_employers(
    rng: np.random.Generator, old_jobs: pd.DataFrame, persons: pd.DataFrame, ref_date: np.ndarray, rates: P.Rates
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Some people in work at referral who keep their job move to another employer.

    ``old_jobs``: jobs held at referral (person_idx into ``persons``/``ref_date``). A job still open
    long after the data end is kept in work; with probability ``ww_change_employer_if_in_work`` it
    ends 30-150 days after referral and a new job with another employer starts 1 day to the
    allowance later (within), or allowance + 1 to allowance + 40 days later (beyond).
    Returns (old jobs with the changed ends, the new jobs).
    """
    old = old_jobs.copy()
    kept = np.flatnonzero(old["end_date"].to_numpy().astype("datetime64[D]") > P.DATA_END + 3650 * DAY)
    change = kept[rng.random(len(kept)) < rates.ww_change_employer_if_in_work]
    pidx = old["person_idx"].to_numpy()[change]
    end = to_weekday(ref_date[pidx] + rng.integers(30, 151, len(change)) * DAY)
    allowance = rates.ww_retention_gap_days
    within = rng.random(len(change)) < rates.ww_change_gap_within_allowance
    gap = np.where(within, rng.integers(1, allowance + 1, len(change)),
                   rng.integers(allowance + 1, allowance + 41, len(change)))
    end_col = old["end_date"].to_numpy().astype("datetime64[D]").copy()
    end_col[change] = end
    old["end_date"] = end_col
    new = _job_spells(rng, pidx, end + gap * DAY, persons, rates, end=np.full(len(change), FAR),
                      self_employed_ok=False)
    new["employer_change_gap_days"] = gap  # truth: days from the old job's last day to the new start
    return old, new


def _islands(spells: list[tuple[np.datetime64, np.datetime64]], gap_days: int) -> list[list[np.datetime64]]:
    """Employment spells joined when one starts at most gap_days after the previous ones ended."""
    out: list[list[np.datetime64]] = []
    for start, end in sorted(spells):
        if out and start <= out[-1][1] + gap_days * DAY:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def simulate_workwell(
    rng: np.random.Generator, icb: pd.DataFrame, jobs: pd.DataFrame, rates: P.Rates
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The WorkWell service feeds' rows (by feed) and the truth, one row per ICB referral.

    ``jobs``: every true job (person_id, nino, start_date, end_date, self_employed, new_job).
    """
    windows = outcome_windows()  # the dbt vars' retention and follow-up windows
    n = len(icb)
    rd = icb["referral_date"].to_numpy().astype("datetime64[D]")
    status = icb["employment_status_at_referral"].to_numpy().astype(str)
    in_work = np.isin(status, IN_WORK)
    off_sick = status == "employed_off_sick"

    assessed = rng.random(n) < rates.ww_assessed
    assessment = to_weekday(rd + rng.integers(3, 30, n) * DAY)
    dns_recorded = ~assessed & (rng.random(n) < rates.ww_did_not_start_recorded)
    dns_date = to_weekday(rd + rng.integers(7, 43, n) * DAY)
    dns_reason = _choice(rng, ["declined", "no_contact", "not_ready_health", "referred_elsewhere", "other"], n,
                         [0.35, 0.3, 0.15, 0.12, 0.08])
    started = assessed & (assessment <= P.DATA_END)
    decided = dns_recorded & (dns_date <= P.DATA_END)
    plan = started & (rng.random(n) < rates.ww_support_plan)
    plan_date = to_weekday(assessment + rng.integers(0, 22, n) * DAY)
    plan &= plan_date <= P.DATA_END

    lo_in, hi_in = rates.ww_support_days_in_work
    lo_out, hi_out = rates.ww_support_days_out_of_work
    length = np.where(in_work, rng.integers(lo_in, hi_in + 1, n), rng.integers(lo_out, hi_out + 1, n))
    exit_date = to_weekday(assessment + length * DAY)
    exited = started & (exit_date <= P.DATA_END)

    returned = started & off_sick & (rng.random(n) < rates.ww_return_to_work_if_off_sick)
    rtw = to_weekday(assessment + rng.integers(7, 121, n) * DAY)
    returned &= rtw <= P.DATA_END
    may_be_fit_first = rng.random(n) < 0.5
    renewal = to_weekday(assessment + 28 * DAY)

    # truth: employment from the true jobs (PAYE only: HMRC shows nothing else), per person
    paye = jobs[(jobs["self_employed"] != "Y") & jobs["nino"].notna()]
    by_person: dict[str, list[tuple]] = {}
    for pid, s, e, new in zip(paye["person_id"], paye["start_date"].to_numpy().astype("datetime64[D]"),
                              paye["end_date"].to_numpy().astype("datetime64[D]"), paye["new_job"], strict=True):
        by_person.setdefault(pid, []).append((s, e, bool(new)))
    gap = rates.ww_retention_gap_days
    truth_rows = []
    for i, pid in enumerate(icb["person_id"].to_numpy()):
        spells = by_person.get(pid, [])
        islands = _islands([(s, e) for s, e, _ in spells], gap)
        row = {"retained_short": "", "retained_long": "", "first_job_start_date": NAT}
        if started[i] and in_work[i]:
            for role, weeks in windows.retention_weeks.items():
                last = assessment[i] + (7 * weeks - 1) * DAY
                if last > P.DATA_END:
                    continue
                employed = any(a <= assessment[i] and b >= last for a, b in islands)
                back = not off_sick[i] or (returned[i] and rtw[i] <= last)
                row[f"retained_{role}"] = "Y" if employed and back else "N"
        if started[i] and not in_work[i]:
            followup = windows.outcome_followup_days_after_exit * DAY
            until = min(exit_date[i] + followup, P.DATA_END) if exited[i] else P.DATA_END
            firsts = sorted(s for s, _, new in spells if new and assessment[i] <= s <= until)
            if firsts:
                row["first_job_start_date"] = firsts[0]
        truth_rows.append(row)
    outcome = pd.DataFrame(truth_rows)
    job_start = ~np.isnat(outcome["first_job_start_date"].to_numpy().astype("datetime64[D]"))

    exit_reason = np.where(
        in_work,
        np.where(returned & (rtw <= exit_date), "returned_to_work",
                 np.where(off_sick, "completed_support", "retained_in_work")),
        np.where(job_start & (outcome["first_job_start_date"].to_numpy().astype("datetime64[D]") <= exit_date),
                 "entered_employment", "completed_support"),
    ).astype(object)
    drop = rng.random(n) < 0.15
    exit_reason[drop] = _choice(rng, ["withdrew", "lost_contact", "health_deteriorated"], int(drop.sum()))

    ids = icb["ww_referral_id"].to_numpy(dtype=object)
    work_status = np.where(in_work, "in_work", "out_of_work").astype(object)
    srow = started | decided
    starts = pd.DataFrame({
        "ww_referral_id": ids[srow],
        "assessment_date": np.where(started, assessment, NAT)[srow],
        "support_plan_date": np.where(plan, plan_date, NAT)[srow],
        "work_status_at_assessment": np.where(started, work_status, None)[srow],
        "employment_status_at_assessment": np.where(started, status.astype(object), None)[srow],
        "did_not_start_reason": np.where(started, None, dns_reason)[srow],
        # the row is sent in the month of the latest date it carries (the support plan may be
        # agreed in the month after the assessment)
        "_event": np.where(started, np.where(plan, np.maximum(plan_date, assessment), assessment), dns_date)[srow],
        "_person": icb["person_id"].to_numpy()[srow],
    })
    exits = pd.DataFrame({
        "ww_referral_id": ids[exited],
        "exit_date": exit_date[exited],
        "exit_reason": exit_reason[exited],
        "work_status_at_exit": np.where(
            in_work, np.where(exit_reason == "returned_to_work", "in_work", work_status),
            np.where(exit_reason == "entered_employment", "in_work", "out_of_work"))[exited].astype(object),
        "_event": exit_date[exited],
        "_person": icb["person_id"].to_numpy()[exited],
    })

    contact_rows = []
    n_contacts = rng.integers(2, 10, n)
    for i in np.flatnonzero(started):
        stop = min(exit_date[i], P.DATA_END)
        span = max(int((stop - assessment[i]).astype(int)), 0)
        days = np.sort(rng.integers(0, span + 1, n_contacts[i]))
        for d in days:
            contact_rows.append((ids[i], icb["person_id"].iat[i], to_weekday(np.array([assessment[i] + d * DAY]))[0]))
    contacts = pd.DataFrame(contact_rows, columns=["ww_referral_id", "_person", "contact_date"])
    contacts = contacts[contacts["contact_date"].to_numpy().astype("datetime64[D]") <= P.DATA_END]
    contacts = contacts.sort_values(["contact_date", "ww_referral_id"], kind="stable").reset_index(drop=True)
    k = len(contacts)
    contacts.insert(0, "ww_contact_id", [f"WWK{i:07d}" for i in range(1, k + 1)])
    contacts["contact_mode"] = _choice(rng, P.CONTACT_MODES, k) if k else np.array([], dtype=object)
    contacts["contact_type"] = _choice(rng, CONTACT_TYPES, k, [0.4, 0.2, 0.12, 0.12, 0.08, 0.08]) if k else \
        np.array([], dtype=object)
    contacts["duration_minutes"] = rng.integers(20, 91, k)
    contacts["_event"] = contacts["contact_date"]

    fit_rows = []
    for i in np.flatnonzero(started & off_sick):
        person = icb["person_id"].iat[i]
        if returned[i]:
            if may_be_fit_first[i] and rtw[i] - assessment[i] > 14 * DAY:
                mid = to_weekday(np.array([assessment[i] + (rtw[i] - assessment[i]) // 2]))[0]
                fit_rows.append((ids[i], person, mid, "may_be_fit"))
            fit_rows.append((ids[i], person, rtw[i], "returned_to_work"))
        elif renewal[i] <= P.DATA_END:
            fit_rows.append((ids[i], person, renewal[i], "not_fit"))
    fit_notes = pd.DataFrame(fit_rows, columns=["ww_referral_id", "_person", "change_date", "fit_note_status"])
    fit_notes = fit_notes.sort_values(["change_date", "ww_referral_id"], kind="stable").reset_index(drop=True)
    fit_notes.insert(0, "ww_fit_note_id", [f"WWF{i:07d}" for i in range(1, len(fit_notes) + 1)])
    fit_notes["_event"] = fit_notes["change_date"]

    change_gap = (jobs.dropna(subset=["employer_change_gap_days"]).groupby("person_id")["employer_change_gap_days"]
                  .first() if "employer_change_gap_days" in jobs else pd.Series(dtype=float))
    truth = pd.DataFrame({
        "ww_referral_id": ids,
        "person_id": icb["person_id"].to_numpy(),
        "work_status_at_referral": work_status,
        "off_sick_at_referral": np.where(off_sick, "Y", "N"),
        "referral_date": rd,
        "assessment_date": np.where(started, assessment, NAT),
        "support_plan_date": np.where(plan, plan_date, NAT),
        "did_not_start": np.where(decided, "Y", "N"),
        "exit_date": np.where(exited, exit_date, NAT),
        "exit_reason": np.where(exited, exit_reason, None),
        "return_to_work_date": np.where(returned, rtw, NAT),
        "retained_short": outcome["retained_short"].to_numpy(),
        "retained_long": outcome["retained_long"].to_numpy(),
        "first_job_start_date": outcome["first_job_start_date"].to_numpy().astype("datetime64[D]"),
        "employer_change_gap_days": icb["person_id"].map(change_gap)
        .map(lambda v: "" if pd.isna(v) else str(int(v))).to_numpy(dtype=object),
    })
    feeds = {"starts": starts, "contacts": contacts, "exits": exits, "fit_notes": fit_notes}
    return feeds, truth


def workwell_counts(truth: pd.DataFrame) -> dict:
    """Truth totals for the WorkWell funnel and outcomes (counts.json "workwell")."""
    started = truth["assessment_date"].notna()
    in_work = truth["work_status_at_referral"] == "in_work"
    counts = {
        "referrals": len(truth),
        "starts": int(started.sum()),
        "support_plans": int(truth["support_plan_date"].notna().sum()),
        "did_not_start": int((truth["did_not_start"] == "Y").sum()),
        "leavers": int(truth["exit_date"].notna().sum()),
        "starts_in_work": int((started & in_work).sum()),
        "starts_out_of_work": int((started & ~in_work).sum()),
        "returned_to_work": int(truth["return_to_work_date"].notna().sum()),
        "job_starts_out_of_work": int(truth["first_job_start_date"].notna().sum()),
    }
    for role in ("short", "long"):
        col = truth[f"retained_{role}"]
        counts[f"retained_{role}_due"] = int((col != "").sum())
        counts[f"retained_{role}"] = int((col == "Y").sum())
    return counts
