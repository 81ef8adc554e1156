"""Orchestration: people -> trajectories -> landing files (+ optional defects) -> ground truth."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from . import params as P
from . import pools as pool_mod
from .addresses import referral_address
from .admin import comparison_jobs_start, dwp_extract, hmrc_extract, month_index
from .followups import JOB_ID, followup_counts, job_followups
from .output import LandingFile, inject_row_defects, to_python, write_csv, write_landing
from .paths import add_outcome_paths
from .population import (
    DAY,
    format_nhs,
    format_nino,
    format_postcode,
    make_persons,
    to_weekday,
    vary_identity,
)
from .programme import (
    NAT,
    _job_spells,
    etb_person_attributes,
    existing_jobs,
    month_dates,
    simulate_activities,
    simulate_etb_outcomes,
    simulate_etb_referrals,
    simulate_icb,
    simulate_qualifications,
    simulate_wellbeing,
    ww_person_attributes,
)
from .schema import (
    DWP_COLUMNS,
    DWP_REL_PATH,
    FEEDS,
    HMRC_COLUMNS,
    HMRC_REL_PATH,
    ICB_COLUMNS,
    ICB_PARTNER,
    PARTNER_IDS,
    PARTNERS,
    REQUIRED,
    icb_rel_path,
)
from .windows import outcome_windows
from .workwell import (
    CONTACTS_COLUMNS as WW_CONTACTS_COLUMNS,
)
from .workwell import (
    EXITS_COLUMNS as WW_EXITS_COLUMNS,
)
from .workwell import (
    FIT_NOTES_COLUMNS as WW_FIT_NOTES_COLUMNS,
)
from .workwell import (
    STARTS_COLUMNS as WW_STARTS_COLUMNS,
)
from .workwell import (
    change_employers,
    simulate_workwell,
    workwell_counts,
)

DEFAULT_SEED = 20250601
DEFAULT_PARTICIPANTS = 2500
Progress = Callable[[str], None] | None

# Per-partner recording variation (not defects): nickname, typo, case/spacing, first/last swap, missing.
_VARIATION = {
    "ancoats_trust": dict(nickname=0.08, typo=0.04, case=0.08, swap=0.015, missing=0.02),
    "mossside_carers": dict(
        nickname=0.10, typo=0.05, case=0.12, swap=0.02, missing=0.03, curly_apostrophe=True
    ),
    "wythenshawe_wellbeing": dict(nickname=0.06, typo=0.03, case=0.05, swap=0.01, missing=0.015),
    ICB_PARTNER: dict(nickname=0.0, typo=0.01, case=0.06, swap=0.003, missing=0.003),
}


def _month(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[D]").astype("datetime64[M]").astype(str)


def _iso(d: np.ndarray) -> np.ndarray:
    d = d.astype("datetime64[D]")
    return np.where(np.isnat(d), "", np.datetime_as_string(d, unit="D")).astype(object)


def generate(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    participants: int = DEFAULT_PARTICIPANTS,
    defect_rate: float = 0.0,
    progress: Progress = None,
    rates: P.Rates = P.DEFAULT_RATES,
) -> dict:
    """Generate landing files and ground truth under ``out_dir``. Same arguments -> byte-identical files.

    ``participants`` is the number of programme participants (Manchester ETB + BwD WorkWell people); a
    non-participant comparison population of ``rates.comparison_ratio`` x participants is added to the
    DWP/HMRC extracts. Existing ``out_dir/landing`` and ``out_dir/_truth`` folders are replaced.
    Returns the summary dict also written to ``_truth/summary.json``.
    """
    if participants < 10:
        raise ValueError("participants must be at least 10")
    if not 0 <= defect_rate < 1:
        raise ValueError("defect_rate must be in [0, 1)")
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    for sub in ("landing", "_truth"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)

    # a new stream goes at the end: the first streams, and so the data drawn from them, stay the same
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(11)]
    r_people, r_etb, r_ww, r_events, r_vary, r_admin, r_defects, r_cmp, r_jobs, r_qual, r_wwj = streams
    names = pool_mod.build_name_pools(seed)
    issued: dict[str, set] = {"nhs_number": set(), "ni_number": set()}  # identifiers are unique per person

    n_ww = int(round(participants * rates.share_workwell_bwd))
    n_etb = participants - n_ww
    n_cmp = int(round(participants * rates.comparison_ratio))
    say(f"simulating {n_etb} ETB, {n_ww} WorkWell BwD and {n_cmp} comparison people (seed {seed})")

    # ------------------------------------------------------------------------------------------ people
    home = r_etb.choice(3, size=n_etb, p=np.asarray(rates.partner_weights) / sum(rates.partner_weights))
    first_ref = month_dates(r_etb, P.ETB_MONTHS, rates.etb_month_weights, n_etb)
    catch = np.empty(n_etb, dtype=object)
    for p, pid in enumerate(PARTNER_IDS):
        msk = home == p
        catch[msk] = r_people.choice(pool_mod.PARTNER_DISTRICTS[pid], int(msk.sum()))
    anywhere = r_people.random(n_etb) < 0.2
    catch[anywhere] = r_people.choice(pool_mod.MANCHESTER_DISTRICTS, int(anywhere.sum()))
    etb_persons = make_persons(
        r_people,
        names,
        n=n_etb,
        first_id=1,
        cohort="etb",
        region="manchester",
        anchor=first_ref,
        age_lo=16,
        age_hi=64,
        districts=catch,
        female_share=0.58,
        rates=rates,
        margin_days=(46, 151),
        issued=issued,
    )
    etb_attr = etb_person_attributes(r_etb, home)
    etb_pa = pd.concat([etb_persons, etb_attr], axis=1)

    ramp = np.linspace(rates.ww_month_ramp[0], rates.ww_month_ramp[1], len(P.WW_MONTHS))
    ww_dates = month_dates(r_ww, P.WW_MONTHS, ramp, n_ww)
    ww_districts = r_people.choice(pool_mod.BWD_DISTRICTS, n_ww, p=pool_mod.BWD_DISTRICT_WEIGHTS)
    ww_persons = make_persons(
        r_people,
        names,
        n=n_ww,
        first_id=n_etb + 1,
        cohort="workwell_bwd",
        region="bwd",
        anchor=ww_dates,
        age_lo=16,
        age_hi=66,
        districts=ww_districts.astype(object),
        female_share=0.5,
        rates=rates,
        issued=issued,
    )
    ww_attr = ww_person_attributes(r_ww, n_ww)
    ww_pa = pd.concat([ww_persons, ww_attr], axis=1)

    cmp_districts = np.where(
        r_people.random(n_cmp) < 0.6,
        r_people.choice(pool_mod.MANCHESTER_DISTRICTS, n_cmp),
        r_people.choice(pool_mod.BWD_DISTRICTS, n_cmp),
    ).astype(object)
    cmp_persons = make_persons(
        r_people,
        names,
        n=n_cmp,
        first_id=n_etb + n_ww + 1,
        cohort="comparison",
        region="manchester",
        anchor=np.full(n_cmp, np.datetime64("2025-06-01", "D")),
        age_lo=18,
        age_hi=64,
        districts=cmp_districts,
        female_share=0.5,
        rates=rates,
        issued=issued,
    )

    # ------------------------------------------------------------------------------------ trajectories
    in_icb = r_etb.random(n_etb) < rates.etb_in_icb_feed
    ref = simulate_etb_referrals(r_etb, etb_persons, home, first_ref, in_icb, rates)
    ref = ref.join(etb_attr, on="person_idx")
    ref["via_icb"] = in_icb[ref["person_idx"].to_numpy()]
    ref, new_jobs = simulate_etb_outcomes(r_etb, ref, etb_pa, rates)
    act = simulate_activities(r_events, ref, rates)
    wb = simulate_wellbeing(r_events, ref, rates)
    ref["qualification_gained"] = simulate_qualifications(r_qual, ref, act, rates)

    icb_idx = np.flatnonzero(in_icb)
    icb_dates = to_weekday(
        np.maximum(first_ref[icb_idx] - r_etb.integers(0, 22, len(icb_idx)) * DAY, P.ETB_START)
    )
    icb = simulate_icb(r_ww, ww_persons, ww_attr, ww_dates, etb_persons, etb_attr, icb_idx, icb_dates)

    # ----------------------------------------------------------------------------------------- jobs
    ww_status = ww_attr["economic_status"].to_numpy()
    out_of_work = ~np.isin(ww_status, ["employed_off_sick", "employed_at_risk"])
    p_new = np.where(
        np.char.startswith(ww_status.astype(str), "unemployed"),
        rates.ww_new_job_if_out_of_work,
        rates.ww_new_job_if_out_of_work * 0.5,
    )
    ww_new = out_of_work & (r_jobs.random(n_ww) < p_new)
    ww_new_jobs = _job_spells(
        r_jobs,
        np.flatnonzero(ww_new),
        to_weekday(ww_dates[ww_new] + rates.gap_job.draw(r_jobs, int(ww_new.sum())) * DAY),
        ww_pa,
        rates,
    )
    cmp_has, cmp_start = comparison_jobs_start(r_cmp, n_cmp, rates)
    cmp_jobs = _job_spells(r_cmp, np.flatnonzero(cmp_has), cmp_start[cmp_has], cmp_persons, rates)
    etb_old = existing_jobs(
        r_jobs,
        etb_pa,
        np.arange(n_etb),
        etb_attr["economic_status"].to_numpy(),
        first_ref,
        rates,
        lose_prob=0.25,
    )
    ww_old = existing_jobs(
        r_jobs, ww_pa, np.arange(n_ww), ww_status, ww_dates, rates, lose_prob=rates.ww_job_lost_if_in_work
    )
    # WorkWell: some people in work at referral change employer (a gap within the allowance or beyond)
    ww_old, ww_changed = change_employers(r_wwj, ww_old, ww_pa, ww_dates, rates)
    # journeys the outcome rules must get right: jobs under 4 hours, contradicted claims, re-referrals
    # to the same partner (a stream of their own: every draw above is unchanged)
    # people HMRC knows: an employment in the extract's window (in work, or left it in the last 12 weeks)
    known_to_hmrc = (np.isin(etb_attr["economic_status"].to_numpy(),
                             ["unemployed_lt_12wks", "employed_off_sick", "employed_at_risk"])
                     & etb_persons["ni_number"].notna().to_numpy())
    ref, new_jobs = add_outcome_paths(seed, ref, new_jobs, known_to_hmrc, etb_persons["ni_number"].notna().to_numpy())
    persons_all = pd.concat([etb_persons, ww_persons, cmp_persons], ignore_index=True)
    offsets = {"etb": 0, "ww": n_etb, "cmp": n_etb + n_ww}
    job_parts = [
        (new_jobs, "etb", True),
        (etb_old, "etb", False),
        (ww_new_jobs, "ww", True),
        (ww_old, "ww", False),
        (ww_changed, "ww", False),
        (cmp_jobs, "cmp", True),
    ]
    jobs = pd.concat(
        [j.assign(person_idx=j["person_idx"] + offsets[c], new_job=nj) for j, c, nj in job_parts],
        ignore_index=True,
    )
    identity_cols = ["person_id", "ni_number", "date_of_birth", "first_name", "last_name", "postcode",
                     "previous_postcode"]
    jobs = jobs.join(persons_all[identity_cols], on="person_idx")
    jobs = jobs.rename(columns={"ni_number": "nino"})

    # ------------------------------------------------------------------------------------ DWP population
    status = np.concatenate([etb_attr["economic_status"].to_numpy(), ww_status, np.full(n_cmp, "comparison")])
    prio = np.concatenate(
        [
            etb_attr["priority_group"].to_numpy(),
            ww_attr["priority_group"].to_numpy(),
            np.full(n_cmp, "comparison"),
        ]
    )
    hours = np.concatenate(
        [etb_attr["carer_hours_per_week"].to_numpy(), np.full(n_ww, np.nan), np.full(n_cmp, np.nan)]
    )
    ref_month = np.concatenate([month_index(first_ref), month_index(ww_dates), r_cmp.integers(0, 18, n_cmp)])
    nj = jobs[jobs["new_job"] & (jobs["start_date"] <= P.DATA_END)].sort_values("start_date", kind="stable")
    nj = nj.drop_duplicates("person_idx")
    job_month = np.full(len(persons_all), 10_000)
    job_month[nj["person_idx"].to_numpy()] = month_index(nj["start_date"].to_numpy())
    job_hours = np.zeros(len(persons_all))
    job_hours[nj["person_idx"].to_numpy()] = nj["hours_per_week"].to_numpy()
    pop = pd.DataFrame(
        {
            "person_id": persons_all["person_id"],
            "nino": persons_all["ni_number"],
            "date_of_birth": persons_all["date_of_birth"],
            "surname": persons_all["last_name"].str.upper(),
            # the address DWP holds: a mover's may still be the previous one
            "postcode": np.where(
                persons_all["previous_postcode"].notna() & (r_admin.random(len(persons_all)) < 0.3),
                persons_all["previous_postcode"],
                persons_all["postcode"],
            ),
            "status": status,
            "priority_group": prio,
            "carer_hours_per_week": hours,
            "ref_month": ref_month,
            "job_month": job_month,
            "job_hours": job_hours,
        }
    )
    pop = pop[pop["nino"].notna()].reset_index(drop=True)
    say("building DWP benefits extract")
    dwp, dwp_person = dwp_extract(r_admin, pop)
    say("building HMRC RTI extract")
    hmrc, hmrc_person = hmrc_extract(r_admin, jobs)

    # ---------------------------------------------------------------------------------- landing files
    files: list[LandingFile] = []
    for p, pid in enumerate(PARTNER_IDS):
        files += _vcse_files(
            r_vary,
            pid,
            ref[ref["partner_idx"] == p],
            etb_pa,
            act[act["partner_idx"] == p],
            wb[wb["partner_idx"] == p],
            rates,
            p,
        )
    files += _icb_files(r_vary, icb, etb_persons, ww_persons)
    ww_feeds, ww_truth = simulate_workwell(r_wwj, icb, jobs, rates)
    files += _workwell_files(ww_feeds)
    # what partners report about a job in later months (a stream of its own: the files above stay as they were)
    updates, payslips = job_followups(seed, ref)
    files += _followup_files(updates, payslips, etb_pa)

    defects: list[dict] = []
    if defect_rate > 0:
        defects = _inject_defects(r_defects, files, defect_rate)

    source_parts: list[pd.DataFrame] = []
    file_rows: dict[str, int] = {}
    for lf in files:
        n_rows = write_landing(out, lf)
        say(f"writing {lf.rel_path} ({n_rows} rows)")
        file_rows[lf.rel_path] = n_rows
        if n_rows:
            fr = lf.frame
            source_parts.append(
                pd.DataFrame(
                    {
                        "file": lf.rel_path,
                        "row_number": np.arange(1, n_rows + 1),
                        "source_record_key": fr["_key"].to_numpy(),
                        "person_id": fr["_person"].to_numpy(),
                        "defect": fr["_defect"].where(fr["_defect"] != "", lf.file_defect).to_numpy()
                        if lf.file_defect
                        else fr["_defect"].to_numpy(),
                    }
                )
            )
    for rel, frame, who, prefix in (
        (DWP_REL_PATH, dwp, dwp_person, "dwp"),
        (HMRC_REL_PATH, hmrc, hmrc_person, "hmrc"),
    ):
        say(f"writing {rel} ({len(frame)} rows)")
        cols = DWP_COLUMNS if prefix == "dwp" else HMRC_COLUMNS
        write_csv(out / rel, frame[cols], "utf-8", "\n")
        file_rows[rel] = len(frame)
        source_parts.append(
            pd.DataFrame(
                {
                    "file": rel,
                    "row_number": np.arange(1, len(frame) + 1),
                    "source_record_key": prefix + ":" + pd.Series(np.arange(1, len(frame) + 1)).astype(str),
                    "person_id": who,
                    "defect": "",
                }
            )
        )

    # ----------------------------------------------------------------------------------------- truth
    truth = out / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    say("writing _truth/")
    persons_out = pd.DataFrame(
        {
            "person_id": persons_all["person_id"],
            "cohort": persons_all["cohort"],
            "first_name": persons_all["first_name"],
            "last_name": persons_all["last_name"],
            "date_of_birth": _iso(persons_all["date_of_birth"].to_numpy()),
            "sex": persons_all["sex"],
            "ethnicity": persons_all["ethnicity"],
            "postcode": persons_all["postcode"],
            "previous_postcode": persons_all["previous_postcode"],
            "nhs_number": persons_all["nhs_number"],
            "ni_number": persons_all["ni_number"],
        }
    )
    write_csv(truth / "persons.csv", persons_out, "utf-8", "\n")
    write_csv(truth / "source_records.csv", pd.concat(source_parts, ignore_index=True), "utf-8", "\n")
    defects_df = pd.DataFrame(defects, columns=["file", "row_number", "column", "defect_type", "description"])
    defects_df["row_number"] = defects_df["row_number"].astype("Int64")
    write_csv(truth / "defects.csv", defects_df, "utf-8", "\n")
    counts = _counts(ref, icb, new_jobs, etb_persons)
    counts["workwell"] = workwell_counts(ww_truth)
    ww_truth_out = ww_truth.copy()
    for col in ("referral_date", "assessment_date", "support_plan_date", "exit_date", "return_to_work_date",
                "first_job_start_date"):
        ww_truth_out[col] = _iso(ww_truth_out[col].to_numpy())
    write_csv(truth / "workwell_journeys.csv", ww_truth_out, "utf-8", "\n")
    counts["job_followups_by_partner"] = followup_counts(updates, payslips, PARTNER_IDS)
    (truth / "counts.json").write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    summary = {
        "arguments": {"seed": seed, "participants": participants, "defect_rate": defect_rate},
        "seed": seed,
        "population": {
            "etb_persons": n_etb,
            "workwell_bwd_persons": n_ww,
            "comparison_persons": n_cmp,
            "persons_total": len(persons_all),
        },
        "rows_per_file": dict(sorted(file_rows.items())),
        "rows_total": int(sum(file_rows.values())),
        "files_total": len(file_rows),
        "defects_total": len(defects),
    }
    (truth / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


# --------------------------------------------------------------------------------------------- builders
def _split_months(frame: pd.DataFrame, months: np.ndarray, all_months: list[str], make) -> list[LandingFile]:
    out = []
    for m in all_months:
        sub = frame[months == m].reset_index(drop=True)
        out.append(make(m, sub))
    return out


def _object_frame(cols: dict[str, np.ndarray], types: dict[str, str], key, person) -> pd.DataFrame:
    data = {c: to_python(cols[c], types[c]) for c in types}
    frame = pd.DataFrame(data, dtype=object)
    frame["_key"] = np.asarray(key, dtype=object)
    frame["_person"] = np.asarray(person, dtype=object)
    frame["_defect"] = ""
    return frame


def _vcse_files(
    rng: np.random.Generator,
    pid: str,
    r: pd.DataFrame,
    persons: pd.DataFrame,
    act: pd.DataFrame,
    wb: pd.DataFrame,
    rates: P.Rates,
    p: int,
) -> list[LandingFile]:
    spec = PARTNERS[pid]
    files: list[LandingFile] = []

    def maker(feed: str):
        def make(month: str, frame: pd.DataFrame) -> LandingFile:
            return LandingFile(
                rel_path=spec.rel_path(feed, month),
                partner_id=pid,
                feed=feed,
                period=month,
                types=FEEDS[feed],
                frame=frame,
                spec=spec,
                encoding=spec.encoding or "utf-8",
                line_terminator=spec.line_terminator or "\n",
                date_format=spec.date_format,
            )

        return make

    person_ids = persons["person_id"].to_numpy()
    pidx = r["person_idx"].to_numpy()
    rid = r["referral_id"].to_numpy(dtype=object)
    # referrals: identity as this partner recorded it
    first, last, dob = vary_identity(
        rng,
        persons["first_name"].to_numpy()[pidx],
        persons["last_name"].to_numpy()[pidx],
        persons["date_of_birth"].to_numpy()[pidx],
        **_VARIATION[pid],
    )
    pc = persons["postcode"].to_numpy(dtype=object)[pidx]
    prev = persons["previous_postcode"].to_numpy(dtype=object)[pidx]
    use_prev = pd.notna(prev) & (rng.random(len(r)) < 0.5)
    pc = np.where(use_prev, prev, pc)
    address, house = referral_address(pid, [f"{pid}:{x}" for x in rid], person_ids[pidx], pc)  # no rng draws
    pc = format_postcode(rng, pc, 0.03 if pid == "wythenshawe_wellbeing" else 0.12)
    via_icb = r["via_icb"].to_numpy(dtype=bool)
    p_nhs = np.full(len(r), rates.vcse_records_nhs[p])
    p_nhs[via_icb] = rates.vcse_records_nhs_if_icb
    nhs = persons["nhs_number"].to_numpy(dtype=object)[pidx]
    nhs = np.where(rng.random(len(r)) < p_nhs, nhs, None)
    nhs = format_nhs(rng, nhs, 0.7 if pid == "ancoats_trust" else 0.1)
    nino = persons["ni_number"].to_numpy(dtype=object)[pidx]
    nino = np.where(rng.random(len(r)) < rates.vcse_records_nino[p], nino, None)
    nino = format_nino(rng, nino, 0.25)
    sex = persons["sex"].to_numpy(dtype=object)[pidx].copy()
    sex[rng.random(len(r)) < 0.01] = None
    eth = persons["ethnicity"].to_numpy(dtype=object)[pidx].copy()
    eth[rng.random(len(r)) < 0.05] = None
    phone = np.where(rng.random(len(r)) < 0.9, persons["phone"].to_numpy(dtype=object)[pidx], None)
    email = np.where(rng.random(len(r)) < 0.9, persons["email"].to_numpy(dtype=object)[pidx], None)
    rd = r["referral_date"].to_numpy().astype("datetime64[D]")
    cols = {
        "referral_id": rid,
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "sex": sex,
        "ethnicity": eth,
        "postcode": pc,
        "address_line": address,
        "house_number": house,
        "phone": phone,
        "email": email,
        "nhs_number": nhs,
        "ni_number": nino,
        "referral_date": rd,
        "referral_source": r["referral_source"].to_numpy(),
        "priority_group": r["priority_group"].to_numpy(),
        "main_condition": r["main_condition"].to_numpy(),
        "carer_hours_per_week": r["carer_hours_per_week"].to_numpy(),
        "economic_status": r["economic_status"].to_numpy(),
        "service_variant": r["service_variant"].to_numpy(),
        "eligible": r["eligible"].to_numpy(),
        "ineligible_reason": r["ineligible_reason"].to_numpy(),
    }
    frame = _object_frame(cols, FEEDS["referrals"], [f"{pid}:{x}" for x in rid], person_ids[pidx])
    files += _split_months(frame, _month(rd), P.ETB_MONTHS, maker("referrals"))

    # starts and did-not-start decisions
    sd = r["start_date"].to_numpy().astype("datetime64[D]")
    fc = r["first_contact_date"].to_numpy().astype("datetime64[D]")
    dns = r["dns_date"].to_numpy().astype("datetime64[D]")
    s_ok = ~np.isnat(sd) & (sd <= P.DATA_END)
    d_ok = ~np.isnat(dns) & (dns <= P.DATA_END)
    idx = np.concatenate([np.flatnonzero(s_ok), np.flatnonzero(d_ok)])
    is_start = np.r_[np.ones(s_ok.sum(), bool), np.zeros(d_ok.sum(), bool)]
    when = np.where(is_start, sd[idx], dns[idx])
    order = np.lexsort((rid[idx].astype(str), when))
    idx, is_start, when = idx[order], is_start[order], when[order]
    cols = {
        "referral_id": rid[idx],
        "first_contact_date": fc[idx],
        "start_date": np.where(is_start, sd[idx], NAT),
        "did_not_start_reason": np.where(
            is_start, None, r["did_not_start_reason"].to_numpy(dtype=object)[idx]
        ),
    }
    keys = [f"{pid}:{x}:{'start' if s else 'did_not_start'}" for x, s in zip(rid[idx], is_start, strict=True)]
    frame = _object_frame(cols, FEEDS["starts"], keys, person_ids[pidx[idx]])
    files += _split_months(frame, _month(when), P.ETB_MONTHS, maker("starts"))

    # activities
    row_of = pd.Series(np.arange(len(r)), index=r.index)
    ar = row_of.reindex(act["ref_row"].to_numpy()).to_numpy()
    cd = act["contact_date"].to_numpy().astype("datetime64[D]")
    cols = {
        "referral_id": rid[ar],
        "activity_id": act["activity_id"].to_numpy(),
        "contact_date": cd,
        "contact_mode": act["contact_mode"].to_numpy(),
        "activity_type": act["activity_type"].to_numpy(),
        "duration_minutes": act["duration_minutes"].to_numpy(),
    }
    frame = _object_frame(
        cols, FEEDS["activities"], [f"{pid}:{x}" for x in act["activity_id"]], person_ids[pidx[ar]]
    )
    files += _split_months(frame, _month(cd), P.ETB_MONTHS, maker("activities"))

    # wellbeing
    wr = row_of.reindex(wb["ref_row"].to_numpy()).to_numpy()
    wd = wb["completed_date"].to_numpy().astype("datetime64[D]")
    cols = {
        "referral_id": rid[wr],
        "instrument": wb["instrument"].to_numpy(),
        "timepoint": wb["timepoint"].to_numpy(),
        "completed_date": wd,
    }
    cols.update({f"item_{i:02d}": wb[f"item_{i:02d}"].to_numpy() for i in range(1, 15)})
    keys = [
        f"{pid}:{x}:wellbeing:{i}:{t}"
        for x, i, t in zip(rid[wr], wb["instrument"], wb["timepoint"], strict=True)
    ]
    frame = _object_frame(cols, FEEDS["wellbeing"], keys, person_ids[pidx[wr]])
    files += _split_months(frame, _month(wd), P.ETB_MONTHS, maker("wellbeing"))

    # job starts (recorded with a lag; end date shown if already ended when recorded)
    js = r["job_start_date"].to_numpy().astype("datetime64[D]")
    rec = r["job_recorded_date"].to_numpy().astype("datetime64[D]")
    je = r["job_end_date"].to_numpy().astype("datetime64[D]")
    j_ok = r["job_recorded"].to_numpy() & ~np.isnat(js) & (js <= P.DATA_END)
    ji = np.flatnonzero(j_ok)
    ji = ji[np.lexsort((rid[ji].astype(str), js[ji], rec[ji]))]
    cols = {
        "referral_id": rid[ji],
        "job_id": np.full(len(ji), JOB_ID, dtype=object),
        "job_start_date": js[ji],
        "hours_per_week": r["hours_per_week"].to_numpy()[ji],
        "hourly_pay_gbp": r["hourly_pay_gbp"].to_numpy()[ji],
        "self_employed": r["self_employed"].to_numpy()[ji],
        "evidence_type": r["evidence_type"].to_numpy()[ji],
        "job_end_date": np.where(je[ji] <= rec[ji], je[ji], NAT),
    }
    frame = _object_frame(
        cols, FEEDS["job_starts"], [f"{pid}:{x}:job_start" for x in rid[ji]], person_ids[pidx[ji]]
    )
    files += _split_months(frame, _month(rec[ji]), P.ETB_MONTHS, maker("job_starts"))

    # leavers
    ex = r["exit_date"].to_numpy().astype("datetime64[D]")
    l_ok = ~np.isnat(sd) & ~np.isnat(ex) & (ex <= P.DATA_END)
    li = np.flatnonzero(l_ok)
    li = li[np.lexsort((rid[li].astype(str), ex[li]))]
    cols = {
        "referral_id": rid[li],
        "exit_date": ex[li],
        "leaver_reason": r["leaver_reason"].to_numpy()[li],
        "planned_exit": r["planned_exit"].to_numpy()[li],
        "qualification_gained": r["qualification_gained"].to_numpy()[li],
    }
    frame = _object_frame(
        cols, FEEDS["leavers"], [f"{pid}:{x}:leaver" for x in rid[li]], person_ids[pidx[li]]
    )
    files += _split_months(frame, _month(ex[li]), P.ETB_MONTHS, maker("leavers"))
    return files


def _followup_files(updates: pd.DataFrame, payslips: pd.DataFrame, persons: pd.DataFrame) -> list[LandingFile]:
    """Monthly job_updates and payslips files of every partner (a file every month, empty or not)."""
    person_ids = persons["person_id"].to_numpy()
    files: list[LandingFile] = []
    for p, pid in enumerate(PARTNER_IDS):
        spec = PARTNERS[pid]
        u = updates[updates["partner_idx"] == p]
        s = payslips[payslips["partner_idx"] == p]
        keyed = (
            ("job_updates", u, [f"{pid}:{r}:{j}:{t}:{d}" for r, j, t, d in zip(
                u["referral_id"], u["job_id"], u["update_type"], _iso(u["effective_date"].to_numpy()), strict=True)]),
            ("payslips", s, [f"{pid}:{r}:{j}:payslip:{d}" for r, j, d in zip(
                s["referral_id"], s["job_id"], _iso(s["pay_date"].to_numpy()), strict=True)]),
        )
        for feed, frame, keys in keyed:
            cols = {c: frame[c].to_numpy() for c in FEEDS[feed]}
            obj = _object_frame(cols, FEEDS[feed], keys, person_ids[frame["person_idx"].to_numpy(dtype=int)])

            def make(month: str, sub: pd.DataFrame, feed=feed, spec=spec, pid=pid) -> LandingFile:
                return LandingFile(rel_path=spec.rel_path(feed, month), partner_id=pid, feed=feed, period=month,
                                   types=FEEDS[feed], frame=sub, spec=spec, encoding=spec.encoding or "utf-8",
                                   line_terminator=spec.line_terminator or "\n", date_format=spec.date_format)

            files += _split_months(obj, _month(frame["recorded_date"].to_numpy().astype("datetime64[D]")),
                                   P.ETB_MONTHS, make)
    return files


def _icb_files(
    rng: np.random.Generator, icb: pd.DataFrame, etb_persons: pd.DataFrame, ww_persons: pd.DataFrame
) -> list[LandingFile]:
    persons = pd.concat([etb_persons, ww_persons], ignore_index=True).set_index("person_id")
    pr = persons.loc[icb["person_id"]]
    first, last, dob = vary_identity(
        rng,
        pr["first_name"].to_numpy(),
        pr["last_name"].to_numpy(),
        pr["date_of_birth"].to_numpy(),
        **_VARIATION[ICB_PARTNER],
    )
    prev = pr["previous_postcode"].to_numpy(dtype=object)
    pc = np.where(pd.notna(prev) & (rng.random(len(pr)) < 0.2), prev, pr["postcode"].to_numpy(dtype=object))
    icb_address, icb_house = referral_address(ICB_PARTNER, [f"{ICB_PARTNER}:{x}" for x in icb["ww_referral_id"]],
                                              icb["person_id"].to_numpy(), pc)
    rd = icb["referral_date"].to_numpy().astype("datetime64[D]")
    cols = {
        "ww_referral_id": icb["ww_referral_id"].to_numpy(),
        "nhs_number": pr["nhs_number"].to_numpy(dtype=object),
        "forename": first,
        "surname": last,
        "date_of_birth": dob,
        "sex": pr["sex"].to_numpy(dtype=object),
        "postcode": pc,
        "address_line_1": icb_address,
        "house_number": icb_house,
        "gp_practice_code": icb["gp_practice_code"].to_numpy(),
        "referral_date": rd,
        "referral_source": icb["referral_source"].to_numpy(),
        "main_condition": icb["main_condition"].to_numpy(),
        "fit_note_status": icb["fit_note_status"].to_numpy(),
        "employment_status_at_referral": icb["employment_status_at_referral"].to_numpy(),
    }
    frame = _object_frame(
        cols, ICB_COLUMNS, [f"{ICB_PARTNER}:{x}" for x in icb["ww_referral_id"]], icb["person_id"].to_numpy()
    )

    def make(month: str, sub: pd.DataFrame) -> LandingFile:
        return LandingFile(
            rel_path=icb_rel_path(month),
            partner_id=ICB_PARTNER,
            feed="icb_referrals",
            period=month,
            types=ICB_COLUMNS,
            frame=sub,
        )

    return _split_months(frame, _month(rd), P.WW_MONTHS, make)


_WW_FEEDS = {"icb_starts", "icb_contacts", "icb_exits", "icb_fit_notes"}


def _workwell_files(feeds: dict[str, pd.DataFrame]) -> list[LandingFile]:
    """The WorkWell service's own monthly feeds (starts, contacts, exits, fit notes), one CSV a month."""
    files: list[LandingFile] = []
    for feed, types in (("starts", WW_STARTS_COLUMNS), ("contacts", WW_CONTACTS_COLUMNS),
                        ("exits", WW_EXITS_COLUMNS), ("fit_notes", WW_FIT_NOTES_COLUMNS)):
        rows = feeds[feed]
        key_col = "ww_contact_id" if feed == "contacts" else "ww_fit_note_id" if feed == "fit_notes" \
            else "ww_referral_id"
        frame = _object_frame({c: rows[c].to_numpy() for c in types}, types,
                               [f"{ICB_PARTNER}:{feed}:{x}" for x in rows[key_col]], rows["_person"].to_numpy())
        event = rows["_event"].to_numpy().astype("datetime64[D]")

        def make(month: str, sub: pd.DataFrame, feed=feed, types=types) -> LandingFile:
            return LandingFile(rel_path=icb_rel_path(month, feed), partner_id=ICB_PARTNER, feed=f"icb_{feed}",
                               period=month, types=types, frame=sub)

        files += _split_months(frame, _month(event), P.WW_MONTHS, make)
    return files


# ---------------------------------------------------------------------------------------------- defects
def _inject_defects(rng: np.random.Generator, files: list[LandingFile], rate: float) -> list[dict]:
    log: list[dict] = []
    with_rows = [lf for lf in files if len(lf.frame)]

    def pick(cands: list[LandingFile]) -> LandingFile | None:
        cands = [c for c in cands if not c.file_defect]
        return cands[int(rng.integers(0, len(cands)))] if cands else None

    target = pick([lf for lf in with_rows if lf.partner_id == "mossside_carers" and lf.feed == "referrals"])
    if target is not None:
        target.file_defect, target.encoding = "wrong_encoding", "utf-16"
        log.append(
            {
                "file": target.rel_path,
                "row_number": None,
                "column": "",
                "defect_type": "wrong_encoding",
                "description": "Windows-1252 partner file delivered as UTF-16 (with BOM)",
            }
        )
    non_ascii = [
        lf
        for lf in with_rows
        if lf.partner_id == "wythenshawe_wellbeing"
        and lf.feed == "referrals"
        and any(
            isinstance(v, str) and not v.isascii()
            for v in lf.frame[["first_name", "last_name"]].to_numpy().ravel()
        )
    ]
    target = pick(non_ascii)
    if target is not None:
        target.file_defect, target.encoding = "wrong_encoding", "cp1252"
        log.append(
            {
                "file": target.rel_path,
                "row_number": None,
                "column": "",
                "defect_type": "wrong_encoding",
                "description": "UTF-8 file containing invalid bytes (accented names written as Windows-1252)",
            }
        )
    target = pick(
        [
            lf
            for lf in with_rows
            if lf.partner_id in PARTNERS and lf.feed in ("activities", "wellbeing", "leavers", "referrals")
        ]
    )
    if target is not None:
        col = next(c for c in REQUIRED[target.feed] if c != "referral_id")
        target.file_defect, target.drop_column = "missing_required_column", col
        header = target.headers[col]
        log.append(
            {
                "file": target.rel_path,
                "row_number": None,
                "column": "",
                "defect_type": "missing_required_column",
                "description": f"required column {col} (header {header!r}) missing from the file",
            }
        )
    # the WorkWell service's feeds (added later) are left out, so the file-level defects and the
    # row defects drawn after them stay those of earlier versions for the same seed
    target = pick([lf for lf in with_rows if lf.partner_id != "ancoats_trust" and lf.feed not in _WW_FEEDS])
    if target is not None:
        target.file_defect = "empty_file"
        log.append(
            {
                "file": target.rel_path,
                "row_number": None,
                "column": "",
                "defect_type": "empty_file",
                "description": f"zero-byte file: {len(target.frame)} data rows not delivered",
            }
        )
    for lf in files:
        if not lf.file_defect:
            log += inject_row_defects(rng, lf, rate)
    return log


# ------------------------------------------------------------------------------------------------ counts
def _by_month(dates: np.ndarray, months: list[str]) -> dict[str, int]:
    d = dates.astype("datetime64[D]")
    d = d[~np.isnat(d) & (d <= P.DATA_END)]
    vc = pd.Series(_month(d)).value_counts()
    return {m: int(vc.get(m, 0)) for m in months}


def _counts(ref: pd.DataFrame, icb: pd.DataFrame, new_jobs: pd.DataFrame, etb_persons: pd.DataFrame) -> dict:
    end = P.DATA_END
    windows = outcome_windows()  # the dbt vars' windows (sustained_short_weeks, ...)
    by_partner: dict[str, dict[str, int]] = {}
    monthly: dict[str, dict[str, dict[str, int]]] = {
        k: {} for k in ("referrals", "starts", "job_starts", "job_starts_recorded", "job_start_rows", "leavers")
    }
    contradicted_claims: dict[str, list[str]] = {}
    for p, pid in enumerate(PARTNER_IDS):
        r = ref[ref["partner_idx"] == p]
        rd = r["referral_date"].to_numpy().astype("datetime64[D]")
        fc = r["first_contact_date"].to_numpy().astype("datetime64[D]")
        sd = r["start_date"].to_numpy().astype("datetime64[D]")
        dns = r["dns_date"].to_numpy().astype("datetime64[D]")
        js = r["job_start_date"].to_numpy().astype("datetime64[D]")
        je = r["job_end_date"].to_numpy().astype("datetime64[D]")
        rec = r["job_recorded_date"].to_numpy().astype("datetime64[D]")
        ex = r["exit_date"].to_numpy().astype("datetime64[D]")
        started = ~np.isnat(sd) & (sd <= end)
        decided = ~np.isnat(dns) & (dns <= end)
        rows = r["job_recorded"].to_numpy() & ~np.isnat(js) & (js <= end)  # rows of the job_starts feed
        under_4 = r["job_under_4_hours"].to_numpy(dtype=bool)
        contradicted = r["job_contradicted"].to_numpy(dtype=bool)
        # job starts: recorded jobs of at least 4 hours that the DWP/HMRC evidence does not contradict
        job = rows & ~under_4 & ~contradicted
        contradicted_claims[pid] = sorted(r.loc[rows & contradicted, "referral_id"])
        rereferral = r["rereferral"].to_numpy(dtype=object)
        qualification = r["qualification_gained"].to_numpy()
        dur = (je - js).astype("int64")

        def sustained(days: int, js=js, job=job, je=je, dur=dur) -> np.ndarray:
            # N weeks = the 7N days start .. start + 7N - 1, in work on the last of them (the
            # warehouse's convention, docs/evaluation.md "Counting weeks")
            return job & (js + (days - 1) * DAY <= end) & (np.isnat(je) | (dur >= days - 1))

        by_partner[pid] = {
            "referrals": len(r),
            "eligible": int((r["eligible"] == "Y").sum()),
            "first_contacts": int((~np.isnat(fc) & (fc <= end) & (started | decided)).sum()),
            "first_contacts_incl_pending": int((~np.isnat(fc) & (fc <= end)).sum()),
            "starts": int(started.sum()),
            "did_not_start": int(decided.sum()),
            "pending_decision": int((~started & ~decided).sum()),
            "job_starts": int(job.sum()),
            "job_start_rows": int(rows.sum()),
            "job_starts_under_4_hours": int((rows & under_4).sum()),
            "contradicted_job_start_claims": int((rows & contradicted).sum()),
            "job_changes_with_gap": int((rows & r["job_change_gap_days"].notna().to_numpy()).sum()),
            "rereferrals_same_partner_inside_window": int((rereferral == "inside_window").sum()),
            "rereferrals_same_partner_outside_window": int((rereferral == "outside_window").sum()),
            "sustained_short": int(sustained(windows.sustained_days["short"]).sum()),
            "sustained_long": int(sustained(windows.sustained_days["long"]).sum()),
            "leavers": int((started & ~np.isnat(ex) & (ex <= end)).sum()),
            "qualifications_gained": int(np.isin(qualification, ["esol", "other"]).sum()),
            "esol_qualifications_gained": int((qualification == "esol").sum()),
            "persons": int(r["person_idx"].nunique()),
        }
        monthly["referrals"][pid] = _by_month(rd, P.ETB_MONTHS)
        monthly["starts"][pid] = _by_month(sd, P.ETB_MONTHS)
        monthly["job_starts"][pid] = _by_month(np.where(job, js, NAT), P.ETB_MONTHS)
        monthly["job_starts_recorded"][pid] = _by_month(np.where(job, rec, NAT), P.ETB_MONTHS)
        monthly["job_start_rows"][pid] = _by_month(np.where(rows, js, NAT), P.ETB_MONTHS)
        monthly["leavers"][pid] = _by_month(np.where(started, ex, NAT), P.ETB_MONTHS)
    totals = {k: int(sum(v[k] for v in by_partner.values())) for k in next(iter(by_partner.values()))}
    totals["persons"] = int(ref["person_idx"].nunique())
    persons_2 = int((ref.groupby("person_idx")["partner_idx"].nunique() > 1).sum())
    nj = new_jobs[new_jobs["start_date"] <= end]
    icb_rd = icb["referral_date"].to_numpy().astype("datetime64[D]")
    return {
        "data_end_date": str(end),
        "referrals_by_partner_month": monthly["referrals"],
        "starts_by_partner_month": monthly["starts"],
        "job_starts_by_partner_month": monthly["job_starts"],
        "job_starts_by_partner_recorded_month": monthly["job_starts_recorded"],
        "job_start_rows_by_partner_month": monthly["job_start_rows"],
        "contradicted_job_start_claims_by_partner": contradicted_claims,
        "leavers_by_partner_month": monthly["leavers"],
        "by_partner": by_partner,
        "totals": totals,
        "etb_persons_referred_to_two_partners": persons_2,
        "etb_persons_with_new_job": int(nj["person_idx"].nunique()),
        "etb_persons_with_new_paye_job": int(nj.loc[nj["self_employed"] == "N", "person_idx"].nunique()),
        "nhs_referrals_by_month": _by_month(icb_rd, P.WW_MONTHS),
        "nhs_referrals_by_cohort": {k: int(v) for k, v in icb["cohort"].value_counts().sort_index().items()},
        "nhs_referrals_total": len(icb),
    }
