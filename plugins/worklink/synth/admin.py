"""DWP benefit-status and HMRC RTI-style employment extracts, fully vectorised (person x month grids)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import params as P
from .population import DAY, vary_identity

MONTHS = np.arange(np.datetime64("2024-10"), np.datetime64("2026-04"))  # 18 months
N_MONTHS = len(MONTHS)
NEVER = 10_000  # month index meaning "not within the window"

_P_CLAIM = {
    "employed_off_sick": 0.25,
    "employed_at_risk": 0.15,
    "unemployed_lt_12wks": 0.70,
    "unemployed_12wks_plus": 0.85,
    "inactive_long_term_sick": 0.90,
    "inactive_looking_after_home": 0.75,
    "inactive_other": 0.60,
    "comparison": 1.0,
}
_REGIME_W = {  # searching, working_with, no_work_req, working_no, planning, preparing
    "employed_off_sick": [0, 0.6, 0.1, 0.3, 0, 0],
    "employed_at_risk": [0, 0.6, 0, 0.4, 0, 0],
    "unemployed_lt_12wks": [0.85, 0, 0.05, 0, 0.05, 0.05],
    "unemployed_12wks_plus": [0.75, 0, 0.1, 0, 0.05, 0.10],
    "inactive_long_term_sick": [0, 0, 0.65, 0, 0, 0.35],
    "inactive_looking_after_home": [0.05, 0, 0.65, 0, 0.30, 0],
    "inactive_other": [0.3, 0, 0.3, 0, 0.2, 0.2],
    "comparison": [0.45, 0.1, 0.3, 0.02, 0.05, 0.08],
}
_P_PIP = {"disability": 0.55, "health_condition": 0.30, "carer": 0.10, "comparison": 0.25}


def month_index(d: np.ndarray) -> np.ndarray:
    """Month index of dates relative to 2024-10 (NaT -> NEVER)."""
    d = d.astype("datetime64[D]")
    idx = (d.astype("datetime64[M]") - MONTHS[0]).astype("int64")
    return np.where(np.isnat(d), NEVER, idx)


def dwp_extract(rng: np.random.Generator, pop: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Monthly benefit status for everyone in ``pop`` who is on a benefit in at least one month.

    Returns (rows, person_id of each row).

    ``pop`` columns: person_id, nino, date_of_birth, surname, postcode (the address DWP holds), status
    (economic status or "comparison"),
    priority_group ("comparison" for the comparison population), carer_hours_per_week, ref_month,
    job_month (first new-job month index, NEVER if none), job_hours.
    """
    n = len(pop)
    status = pop["status"].to_numpy()
    claims = rng.random(n) < pd.Series(status).map(_P_CLAIM).to_numpy(dtype=float)
    regime = np.zeros(n, dtype=np.int8)
    for st, w in _REGIME_W.items():
        msk = status == st
        regime[msk] = rng.choice(6, size=int(msk.sum()), p=np.asarray(w) / np.sum(w)) + 1
    ref_month = np.clip(pop["ref_month"].to_numpy(), 0, N_MONTHS - 1)
    late = rng.random(n) < 0.25
    claim_start = np.where(late, np.floor(rng.random(n) * (ref_month + 1)).astype(int), 0)
    claim_end = np.where(rng.random(n) < 0.08, rng.integers(1, N_MONTHS + 6, n), NEVER)
    job_month = pop["job_month"].to_numpy()
    full_time = pop["job_hours"].to_numpy(dtype=float) >= 30
    ends_after_job = rng.random(n) < np.where(full_time, 0.8, 0.4)
    claim_end = np.where(
        (job_month < NEVER) & ends_after_job,
        np.minimum(claim_end, job_month + rng.integers(1, 7, n)),
        claim_end,
    )
    working_regime = np.where(rng.random(n) < 0.6, 2, 4).astype(np.int8)  # with / no requirements
    esa = claims & (status == "inactive_long_term_sick") & (rng.random(n) < 0.15)
    esa = esa | (claims & (status == "comparison") & (rng.random(n) < 0.08))
    migrate = rng.integers(0, 30, n)  # managed migration ESA -> UC
    esa_group = np.where(rng.random(n) < 0.6, 2, 1).astype(np.int8)  # support_group / wrag
    prio = pop["priority_group"].to_numpy()
    pip = rng.random(n) < pd.Series(prio).map(_P_PIP).fillna(0.2).to_numpy(dtype=float) * np.where(
        np.isin(status, ["employed_off_sick", "employed_at_risk"]), 0.5, 1.0
    )
    pip_start = np.where(rng.random(n) < 0.8, 0, rng.integers(0, N_MONTHS, n))
    hours = pop["carer_hours_per_week"].to_numpy(dtype=float)
    ca = ((hours >= 35) & (rng.random(n) < 0.65)) | ((status == "comparison") & (rng.random(n) < 0.05))
    ca_start = np.where(rng.random(n) < 0.85, 0, rng.integers(0, N_MONTHS, n))

    m = np.arange(N_MONTHS)[None, :]
    on_claim = claims[:, None] & (m >= claim_start[:, None]) & (m < claim_end[:, None])
    on_esa = on_claim & esa[:, None] & (m < migrate[:, None]) & (m < job_month[:, None])
    on_uc = on_claim & ~on_esa
    reg = np.where(m >= job_month[:, None], working_regime[:, None], regime[:, None])
    reg = np.where(esa[:, None] & (m >= migrate[:, None]) & (m < job_month[:, None]), 3, reg)  # migrated
    reg = np.where(on_uc, reg, 0)
    on_pip = pip[:, None] & (m >= pip_start[:, None])
    on_ca = ca[:, None] & (m >= ca_start[:, None])
    keep = (on_uc | on_esa | on_pip | on_ca).any(axis=1)
    order = np.flatnonzero(keep)
    order = order[np.argsort(pop["nino"].to_numpy()[order], kind="stable")]
    k = len(order)
    yn = np.array(["N", "Y"], dtype=object)
    regimes = np.array([""] + P.UC_REGIMES, dtype=object)
    groups = np.array(["", "wrag", "support_group"], dtype=object)
    dob = np.datetime_as_string(pop["date_of_birth"].to_numpy().astype("datetime64[D]"), unit="D")
    out = pd.DataFrame(
        {
            "nino": np.repeat(pop["nino"].to_numpy(dtype=object)[order], N_MONTHS),
            "date_of_birth": np.repeat(dob.astype(object)[order], N_MONTHS),
            "surname": np.repeat(pop["surname"].to_numpy(dtype=object)[order], N_MONTHS),
            "postcode": np.repeat(pop["postcode"].to_numpy(dtype=object)[order], N_MONTHS),
            "month": np.tile(MONTHS.astype(str).astype(object), k),
            "uc_claimant": yn[on_uc[order].ravel().astype(int)],
            "uc_conditionality_regime": regimes[reg[order].ravel()],
            "esa_claimant": yn[on_esa[order].ravel().astype(int)],
            "esa_group": groups[(on_esa[order] * esa_group[order][:, None]).ravel()],
            "pip_claimant": yn[on_pip[order].ravel().astype(int)],
            "carers_allowance": yn[on_ca[order].ravel().astype(int)],
        }
    )
    return out, np.repeat(pop["person_id"].to_numpy(dtype=object)[order], N_MONTHS)


def hmrc_extract(rng: np.random.Generator, jobs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """RTI-style payment rows for PAYE jobs (not self-employment) overlapping Oct 2024 - Mar 2026.

    Returns (rows, person_id of each row).

    ``jobs`` columns: person_id, nino, date_of_birth, first_name, last_name, postcode,
    previous_postcode, start_date, end_date, hours_per_week, hourly_pay_gbp, self_employed,
    employer_ref, pay_frequency, zero_hours.

    Like a real RTI Full Payment Submission, each row carries the employee's name and postcode as
    the employer's payroll holds them (one spelling per job): mostly the legal name, sometimes a
    nickname or a keying error; a mover's employer may still hold the previous postcode.
    """
    jobs = jobs[(jobs["self_employed"] != "Y") & jobs["nino"].notna()].reset_index(drop=True)
    fore, sur, _ = vary_identity(
        rng,
        jobs["first_name"].to_numpy(dtype=object),
        jobs["last_name"].to_numpy(dtype=object),
        jobs["date_of_birth"].to_numpy(),
        nickname=0.05,
        typo=0.02,
        case=0.10,
        swap=0.003,
        missing=0.005,
    )
    prev = jobs["previous_postcode"].to_numpy(dtype=object)
    postcode = jobs["postcode"].to_numpy(dtype=object).copy()
    old = pd.notna(prev) & (rng.random(len(jobs)) < 0.5)
    postcode[old] = prev[old]
    postcode[rng.random(len(jobs)) < 0.02] = None
    start = jobs["start_date"].to_numpy().astype("datetime64[D]")
    end = jobs["end_date"].to_numpy().astype("datetime64[D]")
    ws = np.maximum(start, P.WW_START)
    we = np.minimum(end, P.DATA_END)
    weekly = jobs["pay_frequency"].to_numpy() == "weekly"
    dow = (ws.astype("int64") + 3) % 7
    first_fri = ws + ((4 - dow) % 7) * DAY
    n_week = np.where(first_fri <= we, (we - first_fri).astype(int) // 7 + 1, 0)
    m0 = ws.astype("datetime64[M]")
    n_month = np.where(we >= ws, (we.astype("datetime64[M]") - m0).astype(int) + 1, 0)
    count = np.where(weekly, n_week, n_month)
    rep = np.repeat(np.arange(len(jobs)), count)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
    wk = first_fri[rep] + 7 * k * DAY
    mon = (m0[rep] + k).astype("datetime64[D]") + 24 * DAY  # the 25th ...
    mdow = (mon.astype("int64") + 3) % 7
    mon = mon - np.where(mdow == 5, 1, np.where(mdow == 6, 2, 0)) * DAY  # ... or the Friday before
    pay_date = np.where(weekly[rep], wk, mon)
    valid = (pay_date >= ws[rep]) & (pay_date <= we[rep])
    rep, pay_date = rep[valid], pay_date[valid]
    hours = jobs["hours_per_week"].to_numpy(dtype=float)[rep]
    rate = jobs["hourly_pay_gbp"].to_numpy(dtype=float)[rep]
    zero = jobs["zero_hours"].to_numpy(dtype=bool)[rep]
    noise = np.where(zero, rng.uniform(0.3, 1.3, len(rep)), rng.uniform(0.95, 1.05, len(rep)))
    gross = hours * rate * np.where(weekly[rep], 1.0, 52 / 12) * noise
    band = np.select([zero, hours < 16, hours < 24, hours < 30], ["E", "A", "B", "C"], "D").astype(object)
    end_str = np.where(end <= P.DATA_END, np.datetime_as_string(end, unit="D"), "").astype(object)
    out = pd.DataFrame(
        {
            "nino": jobs["nino"].to_numpy(dtype=object)[rep],
            "date_of_birth": np.datetime_as_string(
                jobs["date_of_birth"].to_numpy().astype("datetime64[D]"), unit="D"
            ).astype(object)[rep],
            "forename": fore[rep],
            "surname": sur[rep],
            "postcode": postcode[rep],
            "employer_ref": jobs["employer_ref"].to_numpy(dtype=object)[rep],
            "payment_date": np.datetime_as_string(pay_date, unit="D").astype(object),
            "pay_frequency": jobs["pay_frequency"].to_numpy(dtype=object)[rep],
            "gross_pay_gbp": np.char.mod("%.2f", gross).astype(object),
            "hours_band": band,
            "employment_start_date": np.datetime_as_string(start, unit="D").astype(object)[rep],
            "employment_end_date": end_str[rep],
            "_person_id": jobs["person_id"].to_numpy(dtype=object)[rep],
        }
    )
    out = out.sort_values(["nino", "payment_date", "employer_ref"], kind="stable").reset_index(drop=True)
    person = out.pop("_person_id").to_numpy()
    return out, person


def comparison_jobs_start(rng: np.random.Generator, n: int, rates: P.Rates) -> tuple[np.ndarray, np.ndarray]:
    """Which comparison people get a job in the window, and when (uniform over the window)."""
    has = rng.random(n) < rates.comparison_job
    span = int((P.DATA_END - P.WW_START).astype(int))
    start = P.WW_START + rng.integers(0, span, n) * DAY
    return has, start
