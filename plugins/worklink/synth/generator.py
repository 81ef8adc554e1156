"""Orchestration: people -> trajectories -> landing files (+ optional defects) -> ground truth."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import params as P
from . import pools as pool_mod
from .addresses import ICB_RECORDING, referral_address
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
    REQUIRED,
    PartnerSpec,
    icb_rel_path,
    vcse_partners,
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
# Per-partner recording variation of the ICB feed (not defects: nickname, typo, case/spacing, first/last
# swap, missing); each VCSE partner's is in its partner.yml (synthetic.name_variation).
_ICB_VARIATION = dict(nickname=0.0, typo=0.01, case=0.06, swap=0.003, missing=0.003)
_STREAMS = ("people", "etb", "ww", "events", "vary", "admin", "defects", "cmp", "jobs", "qual", "wwj")


def _month(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[D]").astype("datetime64[M]").astype(str)


def _iso(d: np.ndarray) -> np.ndarray:
    d = d.astype("datetime64[D]")
    return np.where(np.isnat(d), "", np.datetime_as_string(d, unit="D")).astype(object)


@dataclass
class _People:
    """The simulated people: ETB participants (by home partner), WorkWell BwD residents, comparison."""

    home: np.ndarray  # ETB person -> index of the home partner
    first_ref: np.ndarray  # ETB person -> first referral date
    etb_persons: pd.DataFrame
    etb_attr: pd.DataFrame
    etb_pa: pd.DataFrame  # persons and attributes side by side
    ww_dates: np.ndarray
    ww_persons: pd.DataFrame
    ww_attr: pd.DataFrame
    ww_pa: pd.DataFrame
    cmp_persons: pd.DataFrame

    @property
    def all(self) -> pd.DataFrame:
        return pd.concat([self.etb_persons, self.ww_persons, self.cmp_persons], ignore_index=True)


@dataclass
class _Programme:
    """The programme year's truth: ETB referrals and their outcomes, activities, wellbeing, ICB referrals."""

    ref: pd.DataFrame
    new_jobs: pd.DataFrame
    act: pd.DataFrame
    wb: pd.DataFrame
    icb: pd.DataFrame


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
    DWP/HMRC extracts. The ETB's VCSE partners are those of the configured contracts folder
    (``schema.vcse_partners``), each simulated as its partner.yml's ``synthetic:`` block says.
    Existing ``out_dir/landing`` and ``out_dir/_truth`` folders are replaced.
    Returns the summary dict also written to ``_truth/summary.json``.
    """
    if participants < 10:
        raise ValueError("participants must be at least 10")
    if not 0 <= defect_rate < 1:
        raise ValueError("defect_rate must be in [0, 1)")
    partners = list(vcse_partners().values())
    if not partners:
        raise ValueError("the contracts folder has no VCSE partner of the Trailblazer (kind vcse, programme gm_etb)")
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    for sub in ("landing", "_truth"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)

    # a new stream goes at the end: the first streams, and so the data drawn from them, stay the same
    rng = dict(zip(_STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(11)),
                   strict=True))
    n_ww = int(round(participants * rates.share_workwell_bwd))
    n_etb = participants - n_ww
    n_cmp = int(round(participants * rates.comparison_ratio))
    say(f"simulating {n_etb} ETB, {n_ww} WorkWell BwD and {n_cmp} comparison people (seed {seed})")

    people = _simulate_people(rng, seed, (n_etb, n_ww, n_cmp), rates, partners)
    prog = _simulate_programme(rng, people, rates, partners)
    jobs = _simulate_jobs(rng, seed, people, prog, rates, partners)
    say("building DWP benefits extract")
    pop = _dwp_population(rng, people, jobs)
    dwp, dwp_person = dwp_extract(rng["admin"], pop)
    say("building HMRC RTI extract")
    hmrc, hmrc_person = hmrc_extract(rng["admin"], jobs)

    files, ww_truth, followups = _landing_files(rng, seed, people, prog, jobs, rates, partners)
    defects = _inject_defects(rng["defects"], files, defect_rate, partners) if defect_rate > 0 else []
    source_parts, file_rows = _write_landing_files(out, files, say)
    for rel, frame, who, prefix, cols in ((DWP_REL_PATH, dwp, dwp_person, "dwp", DWP_COLUMNS),
                                          (HMRC_REL_PATH, hmrc, hmrc_person, "hmrc", HMRC_COLUMNS)):
        say(f"writing {rel} ({len(frame)} rows)")
        source_parts.append(_write_admin_file(out, rel, frame[cols], who, prefix))
        file_rows[rel] = len(frame)

    say("writing _truth/")
    _write_truth(out / "_truth", people, prog, source_parts, defects, ww_truth, followups, partners)
    summary = {
        "arguments": {"seed": seed, "participants": participants, "defect_rate": defect_rate},
        "seed": seed,
        "population": {
            "etb_persons": n_etb,
            "workwell_bwd_persons": n_ww,
            "comparison_persons": n_cmp,
            "persons_total": n_etb + n_ww + n_cmp,
        },
        "rows_per_file": dict(sorted(file_rows.items())),
        "rows_total": int(sum(file_rows.values())),
        "files_total": len(file_rows),
        "defects_total": len(defects),
    }
    (out / "_truth" / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


# ------------------------------------------------------------------------------------- generation steps
def _simulate_people(rng: dict[str, np.random.Generator], seed: int, sizes: tuple[int, int, int],
                     rates: P.Rates, partners: list[PartnerSpec]) -> _People:
    """ETB people (home partner, first referral, catchment), WorkWell BwD residents and the comparison
    population. Draws, in this order: etb, people, ww, people (the order keeps the bytes of a seed)."""
    n_etb, n_ww, n_cmp = sizes
    r_people, r_etb, r_ww = rng["people"], rng["etb"], rng["ww"]
    names = pool_mod.build_name_pools(seed)
    issued: dict[str, set] = {"nhs_number": set(), "ni_number": set()}  # identifiers are unique per person
    weights = np.asarray([spec.synthetic.referral_weight for spec in partners])
    home = r_etb.choice(len(partners), size=n_etb, p=weights / sum(weights))
    first_ref = month_dates(r_etb, P.ETB_MONTHS, rates.etb_month_weights, n_etb)
    catch = np.empty(n_etb, dtype=object)
    for p, spec in enumerate(partners):
        msk = home == p
        catch[msk] = r_people.choice(spec.synthetic.districts or pool_mod.MANCHESTER_DISTRICTS, int(msk.sum()))
    anywhere = r_people.random(n_etb) < 0.2
    catch[anywhere] = r_people.choice(pool_mod.MANCHESTER_DISTRICTS, int(anywhere.sum()))
    etb_persons = make_persons(r_people, names, n=n_etb, first_id=1, cohort="etb", region="manchester",
                               anchor=first_ref, age_lo=16, age_hi=64, districts=catch, female_share=0.58,
                               rates=rates, margin_days=(46, 151), issued=issued)
    etb_attr = etb_person_attributes(r_etb, home)

    ramp = np.linspace(rates.ww_month_ramp[0], rates.ww_month_ramp[1], len(P.WW_MONTHS))
    ww_dates = month_dates(r_ww, P.WW_MONTHS, ramp, n_ww)
    ww_districts = r_people.choice(pool_mod.BWD_DISTRICTS, n_ww, p=pool_mod.BWD_DISTRICT_WEIGHTS)
    ww_persons = make_persons(r_people, names, n=n_ww, first_id=n_etb + 1, cohort="workwell_bwd", region="bwd",
                              anchor=ww_dates, age_lo=16, age_hi=66, districts=ww_districts.astype(object),
                              female_share=0.5, rates=rates, issued=issued)
    ww_attr = ww_person_attributes(r_ww, n_ww)

    cmp_districts = np.where(
        r_people.random(n_cmp) < 0.6,
        r_people.choice(pool_mod.MANCHESTER_DISTRICTS, n_cmp),
        r_people.choice(pool_mod.BWD_DISTRICTS, n_cmp),
    ).astype(object)
    cmp_persons = make_persons(r_people, names, n=n_cmp, first_id=n_etb + n_ww + 1, cohort="comparison",
                               region="manchester", anchor=np.full(n_cmp, np.datetime64("2025-06-01", "D")),
                               age_lo=18, age_hi=64, districts=cmp_districts, female_share=0.5, rates=rates,
                               issued=issued)
    return _People(home=home, first_ref=first_ref, etb_persons=etb_persons, etb_attr=etb_attr,
                   etb_pa=pd.concat([etb_persons, etb_attr], axis=1), ww_dates=ww_dates, ww_persons=ww_persons,
                   ww_attr=ww_attr, ww_pa=pd.concat([ww_persons, ww_attr], axis=1), cmp_persons=cmp_persons)


def _simulate_programme(rng: dict[str, np.random.Generator], people: _People, rates: P.Rates,
                        partners: list[PartnerSpec]) -> _Programme:
    """ETB referrals and their funnel, activities, wellbeing, qualifications, and the ICB's referrals."""
    r_etb = rng["etb"]
    n_etb = len(people.etb_persons)
    in_icb = r_etb.random(n_etb) < rates.etb_in_icb_feed
    ref = simulate_etb_referrals(r_etb, people.etb_persons, people.home, people.first_ref, in_icb, rates, partners)
    ref = ref.join(people.etb_attr, on="person_idx")
    ref["via_icb"] = in_icb[ref["person_idx"].to_numpy()]
    ref, new_jobs = simulate_etb_outcomes(r_etb, ref, people.etb_pa, rates)
    act = simulate_activities(rng["events"], ref, rates, partners)
    wb = simulate_wellbeing(rng["events"], ref, rates, partners)
    ref["qualification_gained"] = simulate_qualifications(rng["qual"], ref, act, rates)

    icb_idx = np.flatnonzero(in_icb)
    icb_dates = to_weekday(
        np.maximum(people.first_ref[icb_idx] - r_etb.integers(0, 22, len(icb_idx)) * DAY, P.ETB_START)
    )
    icb = simulate_icb(rng["ww"], people.ww_persons, people.ww_attr, people.ww_dates, people.etb_persons,
                       people.etb_attr, icb_idx, icb_dates)
    return _Programme(ref=ref, new_jobs=new_jobs, act=act, wb=wb, icb=icb)


def _simulate_jobs(rng: dict[str, np.random.Generator], seed: int, people: _People, prog: _Programme,
                   rates: P.Rates, partners: list[PartnerSpec]) -> pd.DataFrame:
    """Every employment spell (new and existing, of all three populations) with the identity HMRC
    holds; adds the journeys the outcome rules must get right to ``prog`` (synth/paths.py)."""
    r_jobs, r_cmp = rng["jobs"], rng["cmp"]
    n_etb, n_ww = len(people.etb_persons), len(people.ww_persons)
    ww_pa, etb_pa = people.ww_pa, people.etb_pa
    ww_status = people.ww_attr["economic_status"].to_numpy()
    out_of_work = ~np.isin(ww_status, ["employed_off_sick", "employed_at_risk"])
    p_new = np.where(np.char.startswith(ww_status.astype(str), "unemployed"),
                     rates.ww_new_job_if_out_of_work, rates.ww_new_job_if_out_of_work * 0.5)
    ww_new = out_of_work & (r_jobs.random(n_ww) < p_new)
    ww_new_jobs = _job_spells(
        r_jobs, np.flatnonzero(ww_new),
        to_weekday(people.ww_dates[ww_new] + rates.gap_job.draw(r_jobs, int(ww_new.sum())) * DAY), ww_pa, rates)
    cmp_has, cmp_start = comparison_jobs_start(r_cmp, len(people.cmp_persons), rates)
    cmp_jobs = _job_spells(r_cmp, np.flatnonzero(cmp_has), cmp_start[cmp_has], people.cmp_persons, rates)
    etb_old = existing_jobs(r_jobs, etb_pa, np.arange(n_etb), people.etb_attr["economic_status"].to_numpy(),
                            people.first_ref, rates, lose_prob=0.25)
    ww_old = existing_jobs(r_jobs, ww_pa, np.arange(n_ww), ww_status, people.ww_dates, rates,
                           lose_prob=rates.ww_job_lost_if_in_work)
    # WorkWell: some people in work at referral change employer (a gap within the allowance or beyond)
    ww_old, ww_changed = change_employers(rng["wwj"], ww_old, ww_pa, people.ww_dates, rates)
    # journeys the outcome rules must get right: jobs under 4 hours, contradicted claims, re-referrals
    # to the same partner (a stream of their own: every draw above is unchanged)
    # people HMRC knows: an employment in the extract's window (in work, or left it in the last 12 weeks)
    has_nino = people.etb_persons["ni_number"].notna().to_numpy()
    known_to_hmrc = has_nino & np.isin(people.etb_attr["economic_status"].to_numpy(),
                                       ["unemployed_lt_12wks", "employed_off_sick", "employed_at_risk"])
    prog.ref, prog.new_jobs = add_outcome_paths(seed, prog.ref, prog.new_jobs, known_to_hmrc, has_nino, partners)
    offsets = {"etb": 0, "ww": n_etb, "cmp": n_etb + n_ww}
    job_parts = [(prog.new_jobs, "etb", True), (etb_old, "etb", False), (ww_new_jobs, "ww", True),
                 (ww_old, "ww", False), (ww_changed, "ww", False), (cmp_jobs, "cmp", True)]
    jobs = pd.concat(
        [j.assign(person_idx=j["person_idx"] + offsets[c], new_job=nj) for j, c, nj in job_parts],
        ignore_index=True,
    )
    identity_cols = ["person_id", "ni_number", "date_of_birth", "first_name", "last_name", "postcode",
                     "previous_postcode"]
    jobs = jobs.join(people.all[identity_cols], on="person_idx")
    return jobs.rename(columns={"ni_number": "nino"})


def _dwp_population(rng: dict[str, np.random.Generator], people: _People, jobs: pd.DataFrame) -> pd.DataFrame:
    """One row per person DWP knows (those with a NINo): status at referral, first new job, address."""
    r_admin, r_cmp = rng["admin"], rng["cmp"]
    n_ww, n_cmp = len(people.ww_persons), len(people.cmp_persons)
    persons_all = people.all
    status = np.concatenate([people.etb_attr["economic_status"].to_numpy(),
                             people.ww_attr["economic_status"].to_numpy(), np.full(n_cmp, "comparison")])
    prio = np.concatenate([people.etb_attr["priority_group"].to_numpy(), people.ww_attr["priority_group"].to_numpy(),
                           np.full(n_cmp, "comparison")])
    hours = np.concatenate(
        [people.etb_attr["carer_hours_per_week"].to_numpy(), np.full(n_ww, np.nan), np.full(n_cmp, np.nan)]
    )
    ref_month = np.concatenate([month_index(people.first_ref), month_index(people.ww_dates),
                                r_cmp.integers(0, 18, n_cmp)])
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
    return pop[pop["nino"].notna()].reset_index(drop=True)


def _landing_files(rng: dict[str, np.random.Generator], seed: int, people: _People, prog: _Programme,
                   jobs: pd.DataFrame, rates: P.Rates, partners: list[PartnerSpec],
                   ) -> tuple[list[LandingFile], pd.DataFrame, tuple[pd.DataFrame, pd.DataFrame]]:
    """Every partner's monthly files (VCSE, ICB, WorkWell service), the WorkWell journeys' truth and the
    job follow-ups (updates, payslips)."""
    etb_pa = people.etb_pa
    ref, act, wb = prog.ref, prog.act, prog.wb
    files: list[LandingFile] = []
    for p, spec in enumerate(partners):
        files += _vcse_files(rng["vary"], spec, ref[ref["partner_idx"] == p], etb_pa, act[act["partner_idx"] == p],
                             wb[wb["partner_idx"] == p], rates)
    files += _icb_files(rng["vary"], prog.icb, people.etb_persons, people.ww_persons)
    ww_feeds, ww_truth = simulate_workwell(rng["wwj"], prog.icb, jobs, rates)
    files += _workwell_files(ww_feeds)
    # what partners report about a job in later months (a stream of its own: the files above stay as they were)
    updates, payslips = job_followups(seed, ref)
    files += _followup_files(updates, payslips, etb_pa, partners)
    return files, ww_truth, (updates, payslips)


def _write_landing_files(out: Path, files: list[LandingFile], say) -> tuple[list[pd.DataFrame], dict[str, int]]:
    """Write every landing file; returns the truth's source-record rows and the rows per file."""
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
    return source_parts, file_rows


def _write_admin_file(out: Path, rel: str, frame: pd.DataFrame, who, prefix: str) -> pd.DataFrame:
    """Write a DWP or HMRC extract; returns its rows of the truth's source records."""
    write_csv(out / rel, frame, "utf-8", "\n")
    return pd.DataFrame({
        "file": rel,
        "row_number": np.arange(1, len(frame) + 1),
        "source_record_key": prefix + ":" + pd.Series(np.arange(1, len(frame) + 1)).astype(str),
        "person_id": who,
        "defect": "",
    })


def _write_truth(truth: Path, people: _People, prog: _Programme, source_parts: list[pd.DataFrame],
                 defects: list[dict], ww_truth: pd.DataFrame, followups: tuple[pd.DataFrame, pd.DataFrame],
                 partners: list[PartnerSpec]) -> None:
    """``_truth/``: persons, source records, defects, counts and the WorkWell journeys."""
    truth.mkdir(parents=True, exist_ok=True)
    persons_all = people.all
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
    partner_ids = [spec.partner_id for spec in partners]
    counts = _counts(prog.ref, prog.icb, prog.new_jobs, partner_ids)
    counts["workwell"] = workwell_counts(ww_truth)
    ww_truth_out = ww_truth.copy()
    for col in ("referral_date", "assessment_date", "support_plan_date", "exit_date", "return_to_work_date",
                "first_job_start_date"):
        ww_truth_out[col] = _iso(ww_truth_out[col].to_numpy())
    write_csv(truth / "workwell_journeys.csv", ww_truth_out, "utf-8", "\n")
    counts["job_followups_by_partner"] = followup_counts(*followups, partner_ids)
    (truth / "counts.json").write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8")


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


@dataclass(frozen=True)
class _PartnerRows:
    """One VCSE partner's referrals, as every feed of its files refers to them."""

    spec: PartnerSpec
    r: pd.DataFrame  # the partner's referrals (truth)
    person_ids: np.ndarray  # person index -> person id
    pidx: np.ndarray  # referral row -> person index
    rid: np.ndarray  # referral row -> referral id

    @property
    def pid(self) -> str:
        return self.spec.partner_id

    def date(self, column: str) -> np.ndarray:
        return self.r[column].to_numpy().astype("datetime64[D]")

    def files(self, feed: str, cols: dict, keys, rows: np.ndarray, event: np.ndarray) -> list[LandingFile]:
        """The feed's monthly files: ``cols`` of the referral ``rows``, placed by the ``event`` date."""
        spec = self.spec
        frame = _object_frame(cols, FEEDS[feed], keys, self.person_ids[self.pidx[rows]])

        def make(month: str, sub: pd.DataFrame) -> LandingFile:
            return LandingFile(rel_path=spec.rel_path(feed, month), partner_id=spec.partner_id, feed=feed,
                               period=month, types=FEEDS[feed], frame=sub, spec=spec,
                               encoding=spec.encoding or "utf-8", line_terminator=spec.line_terminator or "\n",
                               date_format=spec.date_format)

        return _split_months(frame, _month(event), P.ETB_MONTHS, make)


def _vcse_files(rng: np.random.Generator, spec: PartnerSpec, r: pd.DataFrame, persons: pd.DataFrame,
                act: pd.DataFrame, wb: pd.DataFrame, rates: P.Rates) -> list[LandingFile]:
    """A VCSE partner's monthly files of every feed but the job follow-ups (``_followup_files``)."""
    rows = _PartnerRows(spec=spec, r=r, person_ids=persons["person_id"].to_numpy(),
                        pidx=r["person_idx"].to_numpy(), rid=r["referral_id"].to_numpy(dtype=object))
    return (_referral_files(rng, rows, persons, rates) + _start_files(rows) + _activity_files(rows, act)
            + _wellbeing_files(rows, wb) + _job_start_files(rows) + _leaver_files(rows))


def _recorded_identity(rng: np.random.Generator, rows: _PartnerRows, persons: pd.DataFrame,
                       rates: P.Rates) -> dict[str, np.ndarray]:
    """Each referral's identifiers as this partner recorded them (partner.yml's synthetic block)."""
    sim, pid, pidx, r = rows.spec.synthetic, rows.pid, rows.pidx, rows.r
    first, last, dob = vary_identity(
        rng,
        persons["first_name"].to_numpy()[pidx],
        persons["last_name"].to_numpy()[pidx],
        persons["date_of_birth"].to_numpy()[pidx],
        **sim.name_variation.model_dump(),
    )
    pc = persons["postcode"].to_numpy(dtype=object)[pidx]
    prev = persons["previous_postcode"].to_numpy(dtype=object)[pidx]
    use_prev = pd.notna(prev) & (rng.random(len(r)) < 0.5)
    pc = np.where(use_prev, prev, pc)
    address, house = referral_address((sim.address.share, sim.address.own_box, sim.address.abbreviated),
                                      [f"{pid}:{x}" for x in rows.rid], rows.person_ids[pidx], pc)  # no rng draws
    pc = format_postcode(rng, pc, sim.postcode_messy)
    via_icb = r["via_icb"].to_numpy(dtype=bool)
    p_nhs = np.full(len(r), sim.records_nhs_number)
    p_nhs[via_icb] = rates.vcse_records_nhs_if_icb
    nhs = persons["nhs_number"].to_numpy(dtype=object)[pidx]
    nhs = np.where(rng.random(len(r)) < p_nhs, nhs, None)
    nhs = format_nhs(rng, nhs, sim.nhs_number_spaced)
    nino = persons["ni_number"].to_numpy(dtype=object)[pidx]
    nino = np.where(rng.random(len(r)) < sim.records_ni_number, nino, None)
    nino = format_nino(rng, nino, 0.25)
    sex = persons["sex"].to_numpy(dtype=object)[pidx].copy()
    sex[rng.random(len(r)) < 0.01] = None
    eth = persons["ethnicity"].to_numpy(dtype=object)[pidx].copy()
    eth[rng.random(len(r)) < 0.05] = None
    phone = np.where(rng.random(len(r)) < 0.9, persons["phone"].to_numpy(dtype=object)[pidx], None)
    email = np.where(rng.random(len(r)) < 0.9, persons["email"].to_numpy(dtype=object)[pidx], None)
    return {"first_name": first, "last_name": last, "date_of_birth": dob, "sex": sex, "ethnicity": eth,
            "postcode": pc, "address_line": address, "house_number": house, "phone": phone, "email": email,
            "nhs_number": nhs, "ni_number": nino}


def _referral_files(rng: np.random.Generator, rows: _PartnerRows, persons: pd.DataFrame,
                    rates: P.Rates) -> list[LandingFile]:
    r = rows.r
    identity = _recorded_identity(rng, rows, persons, rates)
    cols = {"referral_id": rows.rid, **identity, "referral_date": rows.date("referral_date")}
    cols.update({c: r[c].to_numpy() for c in ("referral_source", "priority_group", "main_condition",
                                              "carer_hours_per_week", "economic_status", "service_variant",
                                              "eligible", "ineligible_reason")})
    return rows.files("referrals", cols, [f"{rows.pid}:{x}" for x in rows.rid], np.arange(len(r)),
                      cols["referral_date"])


def _start_files(rows: _PartnerRows) -> list[LandingFile]:
    """Starts and did-not-start decisions."""
    rid = rows.rid
    sd, fc, dns = rows.date("start_date"), rows.date("first_contact_date"), rows.date("dns_date")
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
            is_start, None, rows.r["did_not_start_reason"].to_numpy(dtype=object)[idx]
        ),
    }
    keys = [f"{rows.pid}:{x}:{'start' if s else 'did_not_start'}" for x, s in zip(rid[idx], is_start, strict=True)]
    return rows.files("starts", cols, keys, idx, when)


def _activity_files(rows: _PartnerRows, act: pd.DataFrame) -> list[LandingFile]:
    row_of = pd.Series(np.arange(len(rows.r)), index=rows.r.index)
    ar = row_of.reindex(act["ref_row"].to_numpy()).to_numpy()
    cd = act["contact_date"].to_numpy().astype("datetime64[D]")
    cols = {
        "referral_id": rows.rid[ar],
        "activity_id": act["activity_id"].to_numpy(),
        "contact_date": cd,
        "contact_mode": act["contact_mode"].to_numpy(),
        "activity_type": act["activity_type"].to_numpy(),
        "duration_minutes": act["duration_minutes"].to_numpy(),
    }
    return rows.files("activities", cols, [f"{rows.pid}:{x}" for x in act["activity_id"]], ar, cd)


def _wellbeing_files(rows: _PartnerRows, wb: pd.DataFrame) -> list[LandingFile]:
    row_of = pd.Series(np.arange(len(rows.r)), index=rows.r.index)
    wr = row_of.reindex(wb["ref_row"].to_numpy()).to_numpy()
    wd = wb["completed_date"].to_numpy().astype("datetime64[D]")
    cols = {
        "referral_id": rows.rid[wr],
        "instrument": wb["instrument"].to_numpy(),
        "timepoint": wb["timepoint"].to_numpy(),
        "completed_date": wd,
    }
    cols.update({f"item_{i:02d}": wb[f"item_{i:02d}"].to_numpy() for i in range(1, 15)})
    keys = [
        f"{rows.pid}:{x}:wellbeing:{i}:{t}"
        for x, i, t in zip(rows.rid[wr], wb["instrument"], wb["timepoint"], strict=True)
    ]
    return rows.files("wellbeing", cols, keys, wr, wd)


def _job_start_files(rows: _PartnerRows) -> list[LandingFile]:
    """Job starts, recorded with a lag; the end date shown if the job had already ended when recorded."""
    r, rid = rows.r, rows.rid
    js, rec, je = rows.date("job_start_date"), rows.date("job_recorded_date"), rows.date("job_end_date")
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
    return rows.files("job_starts", cols, [f"{rows.pid}:{x}:job_start" for x in rid[ji]], ji, rec[ji])


def _leaver_files(rows: _PartnerRows) -> list[LandingFile]:
    r, rid = rows.r, rows.rid
    sd, ex = rows.date("start_date"), rows.date("exit_date")
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
    return rows.files("leavers", cols, [f"{rows.pid}:{x}:leaver" for x in rid[li]], li, ex[li])


def _followup_files(updates: pd.DataFrame, payslips: pd.DataFrame, persons: pd.DataFrame,
                    partners: list[PartnerSpec]) -> list[LandingFile]:
    """Monthly job_updates and payslips files of every partner (a file every month, empty or not)."""
    person_ids = persons["person_id"].to_numpy()
    files: list[LandingFile] = []
    for p, spec in enumerate(partners):
        pid = spec.partner_id
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
        **_ICB_VARIATION,
    )
    prev = pr["previous_postcode"].to_numpy(dtype=object)
    pc = np.where(pd.notna(prev) & (rng.random(len(pr)) < 0.2), prev, pr["postcode"].to_numpy(dtype=object))
    icb_address, icb_house = referral_address(ICB_RECORDING, [f"{ICB_PARTNER}:{x}" for x in icb["ww_referral_id"]],
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
def _inject_defects(rng: np.random.Generator, files: list[LandingFile], rate: float,
                    partners: list[PartnerSpec]) -> list[dict]:
    log: list[dict] = []
    vcse_ids = {spec.partner_id for spec in partners}
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
            if lf.partner_id in vcse_ids and lf.feed in ("activities", "wellbeing", "leavers", "referrals")
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


def _partner_counts(r: pd.DataFrame, windows) -> tuple[dict[str, int], dict[str, dict[str, int]], list[str]]:
    """One partner's truth counts, its counts by month, and its contradicted job-start claims."""
    end = P.DATA_END
    monthly: dict[str, dict[str, int]] = {}
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
    claims = sorted(r.loc[rows & contradicted, "referral_id"])
    rereferral = r["rereferral"].to_numpy(dtype=object)
    qualification = r["qualification_gained"].to_numpy()
    dur = (je - js).astype("int64")

    def sustained(days: int, js=js, job=job, je=je, dur=dur) -> np.ndarray:
        # N weeks = the 7N days start .. start + 7N - 1, in work on the last of them (the
        # warehouse's convention, docs/evaluation.md "Counting weeks")
        return job & (js + (days - 1) * DAY <= end) & (np.isnat(je) | (dur >= days - 1))

    counts = {
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
    monthly["referrals"] = _by_month(rd, P.ETB_MONTHS)
    monthly["starts"] = _by_month(sd, P.ETB_MONTHS)
    monthly["job_starts"] = _by_month(np.where(job, js, NAT), P.ETB_MONTHS)
    monthly["job_starts_recorded"] = _by_month(np.where(job, rec, NAT), P.ETB_MONTHS)
    monthly["job_start_rows"] = _by_month(np.where(rows, js, NAT), P.ETB_MONTHS)
    monthly["leavers"] = _by_month(np.where(started, ex, NAT), P.ETB_MONTHS)
    return counts, monthly, claims


def _counts(ref: pd.DataFrame, icb: pd.DataFrame, new_jobs: pd.DataFrame, partner_ids: list[str]) -> dict:
    end = P.DATA_END
    windows = outcome_windows()  # the dbt vars' windows (sustained_short_weeks, ...)
    by_partner: dict[str, dict[str, int]] = {}
    monthly: dict[str, dict[str, dict[str, int]]] = {
        k: {} for k in ("referrals", "starts", "job_starts", "job_starts_recorded", "job_start_rows", "leavers")
    }
    contradicted_claims: dict[str, list[str]] = {}
    for p, pid in enumerate(partner_ids):
        by_partner[pid], partner_monthly, contradicted_claims[pid] = _partner_counts(
            ref[ref["partner_idx"] == p], windows)
        for k, v in partner_monthly.items():
            monthly[k][pid] = v
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
