"""True trajectories: ETB referrals and their funnel, WorkWell (ICB) referrals, and employment spells.

Everything here is "truth": one row per real event, with dates that may lie after DATA_END (those are
censored when files are written). All steps are vectorised with numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import params as P
from . import pools as pool_mod
from .population import DAY, _choice, to_weekday
from .schema import PartnerSpec

NAT = np.datetime64("NaT", "D")


def month_dates(rng: np.random.Generator, months: list[str], weights, n: int) -> np.ndarray:
    """Random weekday dates: month drawn with ``weights``, day uniform within the month."""
    w = np.asarray(weights, dtype=float)
    idx = rng.choice(len(months), size=n, p=w / w.sum())
    start = np.array([np.datetime64(m, "D") for m in months])
    length = np.array(
        [(np.datetime64(m, "M") + 1).astype("datetime64[D]") - np.datetime64(m, "D") for m in months]
    ).astype(int)
    d = start[idx] + np.floor(rng.random(n) * length[idx]).astype(int) * DAY
    return np.minimum(to_weekday(d), P.DATA_END)


def uniform_days(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, n) * DAY


# ------------------------------------------------------------------------------------ person attributes
def etb_person_attributes(rng: np.random.Generator, home_partner: np.ndarray) -> pd.DataFrame:
    n = len(home_partner)
    carer_p = np.where(home_partner == 1, 0.5, 0.18)
    u = rng.random(n)
    dis_p = np.where(home_partner == 1, 0.15, 0.22)
    priority = np.where(u < carer_p, "carer", np.where(u < carer_p + dis_p, "disability", "health_condition"))
    cond_w = {
        "health_condition": [0.55, 0.22, 0.03, 0.04, 0.01, 0.15],
        "disability": [0.30, 0.25, 0.15, 0.05, 0.15, 0.10],
        "carer": [0.35, 0.15, 0.03, 0.03, 0.02, 0.42],
    }
    status_w = {
        "carer": [0.02, 0.03, 0.05, 0.10, 0.05, 0.70, 0.05],
        "other": [0.04, 0.03, 0.07, 0.18, 0.55, 0.03, 0.10],
    }
    cond = np.empty(n, dtype=object)
    status = np.empty(n, dtype=object)
    for g, w in cond_w.items():
        m = priority == g
        cond[m] = _choice(rng, P.MAIN_CONDITIONS, int(m.sum()), w)
        sw = status_w["carer" if g == "carer" else "other"]
        status[m] = _choice(rng, P.ECONOMIC_STATUSES, int(m.sum()), sw)
    hours = np.full(n, np.nan)
    is_carer = priority == "carer"
    hours[is_carer] = _choice(rng, [10, 15, 20, 25, 30, 35, 40, 50, 60, 70], int(is_carer.sum())).astype(
        float
    )
    some = ~is_carer & (rng.random(n) < 0.08)
    hours[some] = _choice(rng, [5, 8, 10, 15], int(some.sum())).astype(float)
    return pd.DataFrame(
        {
            "priority_group": priority.astype(object),
            "main_condition": cond,
            "economic_status": status,
            "carer_hours_per_week": hours,
        }
    )


def ww_person_attributes(rng: np.random.Generator, n: int) -> pd.DataFrame:
    cond = _choice(rng, P.MAIN_CONDITIONS, n, [0.48, 0.21, 0.04, 0.02, 0.02, 0.22])
    status = _choice(rng, P.ECONOMIC_STATUSES, n, [0.25, 0.20, 0.35, 0.05, 0.10, 0.02, 0.03])
    fit = np.where(
        status == "employed_off_sick",
        _choice(rng, ["not_fit", "may_be_fit"], n, [0.7, 0.3]),
        np.where(
            np.isin(status, ["employed_at_risk"]),
            _choice(rng, P.FIT_NOTE_STATUSES, n, [0.6, 0.1, 0.3]),
            _choice(rng, P.FIT_NOTE_STATUSES, n, [0.5, 0.35, 0.15]),
        ),
    )
    priority = np.where(cond == "learning_difficulty", "disability", "health_condition").astype(object)
    return pd.DataFrame(
        {
            "priority_group": priority,
            "main_condition": cond,
            "economic_status": status,
            "fit_note_status": fit.astype(object),
            "carer_hours_per_week": np.nan,
        }
    )


# --------------------------------------------------------------------------------------------- ETB funnel
def simulate_etb_referrals(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    home_partner: np.ndarray,
    first_ref: np.ndarray,
    in_icb: np.ndarray,
    rates: P.Rates,
    partners: list[PartnerSpec],
) -> pd.DataFrame:
    """One row per true VCSE referral (a person may have two, at different partners);
    ``home_partner`` and the rows' ``partner_idx`` index ``partners``."""
    n = len(persons)
    k = len(partners)
    second = rng.random(n) < rates.etb_second_partner
    # another partner than the home one (with a single partner: the same one)
    p2 = (home_partner + 1 + rng.integers(0, max(k - 1, 1), n)) % k
    r2 = first_ref + rng.integers(-45, 151, n) * DAY
    r2 = np.minimum(to_weekday(np.clip(r2, P.ETB_START, P.DATA_END)), P.DATA_END)
    person_idx = np.concatenate([np.arange(n), np.flatnonzero(second)])
    ref = pd.DataFrame(
        {
            "person_idx": person_idx,
            "partner_idx": np.concatenate([home_partner, p2[second]]),
            "referral_date": np.concatenate([first_ref, r2[second]]),
            "primary": np.concatenate([np.ones(n, bool), np.zeros(int(second.sum()), bool)]),
        }
    )
    m = len(ref)
    icb = in_icb[ref["person_idx"].to_numpy()]
    src_w = [0.12, 0.25, 0.12, 0.01, 0.01, 0.15, 0.12, 0.05, 0.05, 0.04, 0.05, 0.03]
    source = _choice(rng, P.VCSE_REFERRAL_SOURCES, m, src_w)
    source[icb] = _choice(
        rng, ["gp", "social_prescriber", "community_vcse"], int(icb.sum()), [0.6, 0.25, 0.15]
    )
    ref["referral_source"] = source
    variant_idx = rng.integers(0, 2, m)
    ref["variant_idx"] = variant_idx
    ref["service_variant"] = [
        partners[p].variants[v] for p, v in zip(ref["partner_idx"], variant_idx, strict=True)
    ]
    rd = ref["referral_date"].to_numpy().astype("datetime64[D]")
    eligible = rng.random(m) < rates.eligible
    ref["eligible"] = np.where(eligible, "Y", "N")
    ref["ineligible_reason"] = np.where(eligible, None, _choice(rng, P.INELIGIBLE_REASONS, m, [4, 3, 2, 1]))
    contacted = rng.random(m) < np.where(
        eligible, rates.first_contact_if_eligible, rates.first_contact_if_ineligible
    )
    fc = np.where(contacted, to_weekday(rd + rates.gap_first_contact.draw(rng, m) * DAY), NAT)
    p_start = rates.start_if_contacted + np.where(variant_idx == 1, 1, -1) * rates.variant_b_start_uplift
    started = eligible & contacted & (rng.random(m) < p_start)
    sd = np.where(started, to_weekday(fc + rates.gap_start.draw(rng, m) * DAY), NAT)
    base = np.where(contacted, fc, rd)
    dns = np.where(started, NAT, to_weekday(base + rates.gap_did_not_start.draw(rng, m) * DAY))
    dns_reason = np.where(
        ~eligible,
        "ineligible",
        np.where(
            ~contacted,
            "no_contact",
            _choice(
                rng,
                ["declined", "not_ready_health", "health_deteriorated", "referred_elsewhere", "moved_away",
                 "other"],
                m,
                [0.40, 0.20, 0.10, 0.15, 0.05, 0.10],
            ),
        ),
    )
    ref["first_contact_date"] = fc
    ref["start_date"] = sd
    ref["dns_date"] = dns
    ref["did_not_start_reason"] = np.where(started, None, dns_reason)
    # partner-specific sequential ids, in order of referral date
    ref = ref.sort_values(["partner_idx", "referral_date", "person_idx"], kind="stable").reset_index(
        drop=True
    )
    seq = ref.groupby("partner_idx").cumcount().to_numpy()
    ref["referral_id"] = [partners[p].referral_id(partners[p].synthetic.id_start + s)
                          for p, s in zip(ref["partner_idx"], seq, strict=True)]
    ref["partner_id"] = np.array([spec.partner_id for spec in partners], dtype=object)[ref["partner_idx"].to_numpy()]
    return ref


def simulate_etb_outcomes(
    rng: np.random.Generator, ref: pd.DataFrame, persons: pd.DataFrame, rates: P.Rates
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Person-level new jobs and per-referral recorded jobs and exits. Returns (ref, new_jobs)."""
    m = len(ref)
    n = len(persons)
    pidx = ref["person_idx"].to_numpy()
    sd = ref["start_date"].to_numpy().astype("datetime64[D]")
    rd = ref["referral_date"].to_numpy().astype("datetime64[D]")
    # earliest true start and earliest referral per person
    earliest_start = pd.Series(sd).groupby(pidx).min().reindex(range(n)).to_numpy().astype("datetime64[D]")
    earliest_ref = pd.Series(rd).groupby(pidx).min().reindex(range(n)).to_numpy().astype("datetime64[D]")
    has_start = ~np.isnat(earliest_start)
    employed = np.isin(persons["economic_status"].to_numpy(), ["employed_off_sick", "employed_at_risk"])
    p_job = np.where(has_start, rates.job_if_started, rates.job_if_not_started)
    job = (rng.random(n) < p_job) & ~employed
    anchor = np.where(has_start, earliest_start, earliest_ref)
    job_start = np.where(job, to_weekday(anchor + rates.gap_job.draw(rng, n) * DAY), NAT)
    new_jobs = _job_spells(rng, np.flatnonzero(job), job_start[job], persons, rates)

    # per referral: exit without a job, then a job while on programme
    base_exit = np.where(np.isnat(sd), NAT, to_weekday(sd + rates.gap_exit.draw(rng, m) * DAY))
    reasons = [r for r in P.LEAVER_REASONS if r != "entered_employment"]
    base_reason = _choice(rng, reasons, m, [0.45, 0.06, 0.08, 0.12, 0.10, 0.03, 0.13, 0.01, 0.02])
    js = job_start[pidx]
    in_prog = ~np.isnat(sd) & ~np.isnat(js) & (js >= sd) & (js <= sd + 330 * DAY)
    recorded = in_prog & (rng.random(m) < rates.job_recorded_by_partner)
    exit_date = np.where(
        recorded, to_weekday(js + uniform_days(rng, *rates.in_work_support_days, m)), base_exit
    )
    reason = np.where(recorded, "entered_employment", base_reason)
    ref["exit_date"] = exit_date
    ref["leaver_reason"] = np.where(np.isnat(sd), None, reason)
    ref["planned_exit"] = np.where(np.isin(reason, list(P.PLANNED_LEAVER_REASONS)), "Y", "N")
    ref["job_recorded"] = recorded
    ref["job_start_date"] = np.where(recorded, js, NAT)
    rec_date = np.minimum(js + rates.gap_job_recorded.draw(rng, m) * DAY, P.DATA_END)
    ref["job_recorded_date"] = np.where(recorded, rec_date, NAT)
    # attach the person's new-job attributes to the referrals that record it
    jp = new_jobs.set_index("person_idx").reindex(pidx)
    ref["job_end_date"] = np.where(recorded, jp["end_date"].to_numpy().astype("datetime64[D]"), NAT)
    ref["hours_per_week"] = np.where(recorded, jp["hours_per_week"].to_numpy(dtype=float), np.nan)
    ref["hourly_pay_gbp"] = np.where(recorded, jp["hourly_pay_gbp"].to_numpy(dtype=float), np.nan)
    ref["self_employed"] = np.where(recorded, jp["self_employed"].to_numpy(dtype=object), None)
    ref["evidence_type"] = np.where(recorded, _choice(rng, P.EVIDENCE_TYPES, m, [0.45, 0.25, 0.2, 0.1]), None)
    ref["job_person_has_job"] = job[pidx]
    return ref, new_jobs


# ------------------------------------------------------------------------------------------------- jobs
def nlw(age_years: np.ndarray, on: np.ndarray) -> np.ndarray:
    """National Living/Minimum Wage (GBP/hour) for age on date (rates from April 2024 and April 2025)."""
    new = on >= np.datetime64("2025-04-01")
    adult = np.where(new, 12.21, 11.44)
    young = np.where(new, 10.00, 8.60)
    u18 = np.where(new, 7.55, 6.40)
    return np.where(age_years >= 21, adult, np.where(age_years >= 18, young, u18))


def _job_spells(
    rng: np.random.Generator,
    person_idx: np.ndarray,
    start: np.ndarray,
    persons: pd.DataFrame,
    rates: P.Rates,
    end: np.ndarray | None = None,
    self_employed_ok: bool = True,
) -> pd.DataFrame:
    """Job spells with duration mix, hours, pay, frequency and employer. ``end`` overrides the duration."""
    k = len(person_idx)
    if end is None:
        u = rng.random(k)
        dur = np.where(
            u < rates.job_short,
            rng.integers(7, 91, k),
            np.where(
                u < rates.job_short + rates.job_medium, rng.integers(91, 182, k), rng.integers(182, 900, k)
            ),
        )
        end = start + dur * DAY
    dob = persons["date_of_birth"].to_numpy().astype("datetime64[D]")[person_idx]
    age = (start - dob).astype(int) / 365.25
    hours = _choice(
        rng, [8, 10, 12, 15, 16, 18, 20, 22.5, 25, 30, 35, 37.5], k, [4, 5, 6, 6, 10, 6, 10, 6, 8, 10, 14, 15]
    ).astype(float)
    premium = np.clip(rng.lognormal(0.06, 0.12, k), 1.0, 2.2)
    pay = np.round(nlw(age, start) * premium, 2)
    se = (rng.random(k) < rates.self_employed) if self_employed_ok else np.zeros(k, bool)
    employer = np.array(
        [
            f"{o:03d}/{c}{d:05d}"
            for o, c, d in zip(
                rng.integers(100, 990, k),
                _choice(rng, list("ABCDEFGHJKLMNPRSTWXYZ"), k),
                rng.integers(0, 100000, k),
                strict=True,
            )
        ],
        dtype=object,
    )
    return pd.DataFrame(
        {
            "person_idx": person_idx,
            "start_date": start.astype("datetime64[D]"),
            "end_date": end.astype("datetime64[D]"),
            "hours_per_week": hours,
            "hourly_pay_gbp": pay,
            "self_employed": np.where(se, "Y", "N"),
            "employer_ref": employer,
            "pay_frequency": np.where(rng.random(k) < rates.weekly_paid, "weekly", "monthly"),
            "zero_hours": rng.random(k) < rates.zero_hours,
        }
    )


def existing_jobs(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    idx: np.ndarray,
    status: np.ndarray,
    ref_date: np.ndarray,
    rates: P.Rates,
    lose_prob: float,
) -> pd.DataFrame:
    """Jobs held before referral: employed people (some lose the job), recently unemployed (job ended)."""
    frames = []
    emp = np.isin(status, ["employed_off_sick", "employed_at_risk"])
    if emp.any():
        k = int(emp.sum())
        start = ref_date[emp] - rng.integers(180, 5000, k) * DAY
        lose = rng.random(k) < lose_prob
        end = np.where(lose, ref_date[emp] + rng.integers(10, 200, k) * DAY, ref_date[emp] + 20000 * DAY)
        frames.append(_job_spells(rng, idx[emp], start, persons, rates, end=end, self_employed_ok=False))
    rec = status == "unemployed_lt_12wks"
    if rec.any():
        k = int(rec.sum())
        end = ref_date[rec] - rng.integers(1, 84, k) * DAY
        start = end - rng.integers(60, 3000, k) * DAY
        frames.append(_job_spells(rng, idx[rec], start, persons, rates, end=end, self_employed_ok=False))
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else _job_spells(rng, np.array([], int), np.array([], "datetime64[D]"), persons, rates)
    )


# ------------------------------------------------------------------------------------------- activities
_ACTIVITY_DURATION = {
    "keyworker_session": 60,
    "action_plan_review": 45,
    "physio": 45,
    "counselling": 50,
    "cv_job_search": 60,
    "digital_skills": 90,
    "esol": 120,
    "money_advice": 60,
    "peer_group": 120,
    "physical_activity": 60,
    "volunteering_placement": 180,
    "training_course": 180,
}


def simulate_activities(rng: np.random.Generator, ref: pd.DataFrame, rates: P.Rates,
                        partners: list[PartnerSpec]) -> pd.DataFrame:
    """Activities of every started referral; types drawn from each partner's ``synthetic.activity_mix``."""
    sd = ref["start_date"].to_numpy().astype("datetime64[D]")
    ok = ~np.isnat(sd) & (sd <= P.DATA_END)
    rows = np.flatnonzero(ok)
    exit_d = ref["exit_date"].to_numpy().astype("datetime64[D]")[rows]
    stop = np.where(np.isnat(exit_d), P.DATA_END, np.minimum(exit_d, P.DATA_END))
    span = (stop - sd[rows]).astype(int)
    span = np.maximum(span, 0)
    count = 1 + rng.poisson(span / rates.activity_every_days * rng.uniform(0.6, 1.4, len(rows)))
    rep = np.repeat(np.arange(len(rows)), count)
    first = np.r_[0, np.cumsum(count)[:-1]]
    offs = np.floor(rng.random(len(rep)) * (span[rep] + 1)).astype(int)
    offs[first] = 0
    d = np.minimum(to_weekday(sd[rows][rep] + offs * DAY), stop[rep])
    partner_idx = ref["partner_idx"].to_numpy()[rows][rep]
    atype = np.empty(len(rep), dtype=object)
    for p, spec in enumerate(partners):
        msk = partner_idx == p
        mix = spec.synthetic.activity_mix
        atype[msk] = _choice(rng, P.ACTIVITY_TYPES, int(msk.sum()), [mix.get(a, 0) for a in P.ACTIVITY_TYPES])
    atype[first] = "keyworker_session"
    mode = _choice(rng, P.CONTACT_MODES, len(rep), [0.55, 0.30, 0.12, 0.03])
    mode[np.isin(atype, ["peer_group", "training_course"])] = "group"
    mode[np.isin(atype, ["physio", "physical_activity", "volunteering_placement", "esol"])] = "face_to_face"
    base = np.array([_ACTIVITY_DURATION[a] for a in atype])
    dur = (np.round(base * _choice(rng, [0.5, 0.75, 1, 1, 1.25], len(rep)).astype(float) / 5) * 5).astype(int)
    act = pd.DataFrame(
        {
            "ref_row": rows[rep],
            "partner_idx": partner_idx,
            "contact_date": d,
            "contact_mode": mode,
            "activity_type": atype,
            "duration_minutes": dur,
        }
    )
    act = act.sort_values(["partner_idx", "contact_date", "ref_row"], kind="stable").reset_index(drop=True)
    seq = act.groupby("partner_idx").cumcount().to_numpy()
    act["activity_id"] = [partners[p].activity_id(partners[p].synthetic.activity_id_start + s)
                          for p, s in zip(act["partner_idx"], seq, strict=True)]
    return act


def simulate_qualifications(
    rng: np.random.Generator, ref: pd.DataFrame, act: pd.DataFrame, rates: P.Rates
) -> np.ndarray:
    """The qualification each leaver reports at exit (P.QUALIFICATIONS), None for everyone else.

    People who had ESOL sessions may gain an ESOL qualification; people who had a training course
    (or, rarely, anyone) another one. Decided after the activities, from a stream of its own.
    """
    sd = ref["start_date"].to_numpy().astype("datetime64[D]")
    ex = ref["exit_date"].to_numpy().astype("datetime64[D]")
    leaver = ~np.isnat(sd) & ~np.isnat(ex) & (ex <= P.DATA_END)
    had = {kind: np.zeros(len(ref), bool) for kind in ("esol", "training_course")}
    for kind, mask in had.items():
        mask[act.loc[act["activity_type"] == kind, "ref_row"].to_numpy()] = True
    draw_esol, draw_other = rng.random(len(ref)), rng.random(len(ref))
    esol = had["esol"] & (draw_esol < rates.esol_qualification_if_esol)
    other = draw_other < np.where(had["training_course"], rates.qualification_if_training, rates.qualification_otherwise)
    gained = np.where(esol, "esol", np.where(other, "other", "none")).astype(object)
    gained[~leaver] = None
    return gained


# -------------------------------------------------------------------------------------------- wellbeing
def _items(rng: np.random.Generator, instrument: str, z: np.ndarray) -> np.ndarray:
    k, lo, hi = P.INSTRUMENTS[instrument]
    n = len(z)
    if instrument in ("WEMWBS", "SWEMWBS"):
        raw = 3.6 + 0.8 * z[:, None] + rng.normal(0, 0.6, (n, k))
    elif instrument == "ONS4":
        raw = 7.2 + 1.5 * z[:, None] + rng.normal(0, 1.2, (n, k))
        raw[:, 3] = 3.2 - 1.5 * z + rng.normal(0, 1.2, n)  # anxiety: higher is worse
    else:  # PHQ9 / GAD7: higher is worse
        raw = 0.6 - 0.6 * z[:, None] + rng.normal(0, 0.5, (n, k))
    return np.clip(np.round(raw), lo, hi).astype(int)


def simulate_wellbeing(rng: np.random.Generator, ref: pd.DataFrame, rates: P.Rates,
                       partners: list[PartnerSpec]) -> pd.DataFrame:
    sd = ref["start_date"].to_numpy().astype("datetime64[D]")
    rows = np.flatnonzero(~np.isnat(sd) & (sd <= P.DATA_END))
    m = len(rows)
    start = sd[rows]
    exit_d = ref["exit_date"].to_numpy().astype("datetime64[D]")[rows]
    left = ~np.isnat(exit_d) & (exit_d <= P.DATA_END)
    stop = np.where(left, exit_d, P.DATA_END)
    z0 = rng.normal(-0.8, 0.8, m)
    job = ref["job_recorded"].to_numpy()[rows]
    gain = rates.wellbeing_gain + rates.wellbeing_gain_job * job + rng.normal(0, 0.4, m)
    planned = ref["planned_exit"].to_numpy()[rows] == "Y"
    frames = []
    tp_specs = [
        (
            "baseline",
            rng.random(m) < rates.wellbeing_baseline,
            np.minimum(start + rng.integers(0, 8, m) * DAY, stop),
            z0,
        ),
        (
            "review",
            ((stop - start).astype(int) > 90) & (rng.random(m) < rates.wellbeing_review),
            np.minimum(to_weekday(start + rng.integers(60, 91, m) * DAY), stop),
            z0 + gain / 2,
        ),
        (
            "exit",
            left
            & (
                rng.random(m)
                < np.where(planned, rates.wellbeing_exit_if_planned, rates.wellbeing_exit_if_unplanned)
            ),
            np.maximum(exit_d - rng.integers(0, 8, m) * DAY, start),
            z0 + gain,
        ),
    ]
    partner_idx = ref["partner_idx"].to_numpy()[rows]
    mental = ref["main_condition"].to_numpy()[rows] == "mental_health"
    for tp, mask, date, z in tp_specs:
        for p, spec in enumerate(partners):
            for inst in spec.instruments:
                sel = mask & (partner_idx == p)
                if inst in ("PHQ9", "GAD7"):
                    sel &= mental
                if not sel.any():
                    continue
                items = _items(rng, inst, z[sel])
                frame = pd.DataFrame(
                    {
                        "ref_row": rows[sel],
                        "partner_idx": p,
                        "instrument": inst,
                        "timepoint": tp,
                        "completed_date": date[sel],
                    }
                )
                for i in range(14):
                    frame[f"item_{i + 1:02d}"] = items[:, i] if i < items.shape[1] else np.nan
                frames.append(frame)
    wb = pd.concat(frames, ignore_index=True)
    order = {"baseline": 0, "review": 1, "exit": 2}
    wb["_tp"] = wb["timepoint"].map(order)
    return (
        wb.sort_values(["partner_idx", "completed_date", "ref_row", "_tp", "instrument"], kind="stable")
        .drop(columns="_tp")
        .reset_index(drop=True)
    )


# ------------------------------------------------------------------------------------------- WorkWell ICB
def simulate_icb(
    rng: np.random.Generator,
    ww_persons: pd.DataFrame,
    ww_attr: pd.DataFrame,
    ww_ref_dates: np.ndarray,
    etb_persons: pd.DataFrame,
    etb_attr: pd.DataFrame,
    etb_icb_idx: np.ndarray,
    etb_icb_dates: np.ndarray,
) -> pd.DataFrame:
    """All ICB WorkWell referrals (BwD residents plus Manchester residents via the MFT extension)."""
    n_ww = len(ww_persons)
    k = len(etb_icb_idx)
    src = _choice(rng, P.ICB_REFERRAL_SOURCES, n_ww, [0.28, 0.27, 0.24, 0.10, 0.03, 0.08])
    bwd = pd.DataFrame(
        {
            "person_id": ww_persons["person_id"].to_numpy(),
            "person_row": np.arange(n_ww),
            "cohort": "workwell_bwd",
            "referral_date": ww_ref_dates,
            "referral_source": src,
            "main_condition": ww_attr["main_condition"].to_numpy(),
            "fit_note_status": ww_attr["fit_note_status"].to_numpy(),
            "employment_status_at_referral": ww_attr["economic_status"].to_numpy(),
            "gp_practice_code": _choice(rng, pool_mod.BWD_PRACTICES, n_ww),
        }
    )
    status = etb_attr["economic_status"].to_numpy()[etb_icb_idx]
    mft = pd.DataFrame(
        {
            "person_id": etb_persons["person_id"].to_numpy()[etb_icb_idx],
            "person_row": etb_icb_idx,
            "cohort": "etb",
            "referral_date": etb_icb_dates,
            "referral_source": _choice(rng, ["gp", "self", "community_vcse"], k, [0.7, 0.15, 0.15]),
            "main_condition": etb_attr["main_condition"].to_numpy()[etb_icb_idx],
            "fit_note_status": np.where(
                status == "employed_off_sick",
                "not_fit",
                _choice(rng, P.FIT_NOTE_STATUSES, k, [0.6, 0.3, 0.1]),
            ),
            "employment_status_at_referral": status,
            "gp_practice_code": _choice(rng, pool_mod.MANCHESTER_PRACTICES, k),
        }
    )
    icb = pd.concat([bwd, mft], ignore_index=True)
    icb = icb.sort_values(["referral_date", "person_id"], kind="stable").reset_index(drop=True)
    icb["ww_referral_id"] = [f"WW{i:06d}" for i in range(1, len(icb) + 1)]
    return icb
