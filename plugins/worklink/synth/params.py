"""All tunable rates, timelines and code lists of the synthetic generator, in one place.

Change a rate here (or pass ``rates=Rates(...)`` / ``dataclasses.replace(DEFAULT_RATES, ...)`` to
:func:`worklink.synth.generate`). Day gaps are log-normal with the given median (days) and sigma (log scale).
Every value is documented in docs/synthetic-data.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from worklink.contracts import load_code_lists, load_programmes

# ------------------------------------------------------------------------------------------------ calendar
# programme dates from contracts/_programmes.yml
_PROGRAMMES = load_programmes()
DATA_END = np.datetime64(_PROGRAMMES["gm_etb"].end, "D")  # last day covered by any landing file
ETB_START = np.datetime64(_PROGRAMMES["gm_etb"].start, "D")  # Manchester ETB delivery start (VCSE partners)
WW_START = np.datetime64(_PROGRAMMES["workwell_bwd"].start, "D")  # WorkWell BwD start (ICB feed, DWP/HMRC window)
ETB_MONTHS = [str(m) for m in np.arange(ETB_START.astype("datetime64[M]"), DATA_END.astype("datetime64[M]") + 1)]
WW_MONTHS = [str(m) for m in np.arange(WW_START.astype("datetime64[M]"), DATA_END.astype("datetime64[M]") + 1)]
ADMIN_DELIVERY = "2026-03"  # the single DWP / HMRC delivery generated (covers 2024-10 .. 2026-03)
FIXED_TIMESTAMP = dt.datetime(2026, 4, 1, 0, 0, 0)  # xlsx document properties + zip entry times

# ------------------------------------------------------------------------------------------------ code lists
# Read from contracts/_code_lists.yml (the one place a code list is written), in its order: the
# generator draws from these lists, so reordering a list there changes the sample.
_CODES = load_code_lists()
VCSE_REFERRAL_SOURCES = _CODES["referral_source"]
# the WorkWell referral routes (a subset of the list)
ICB_REFERRAL_SOURCES = [c for c in VCSE_REFERRAL_SOURCES
                        if c in {"gp", "self", "jcp", "employer", "pharmacist", "community_vcse"}]
PRIORITY_GROUPS = _CODES["priority_group"]
MAIN_CONDITIONS = _CODES["main_condition"]
ECONOMIC_STATUSES = _CODES["economic_status"]
INELIGIBLE_REASONS = _CODES["ineligible_reason"]
DID_NOT_START_REASONS = _CODES["did_not_start_reason"]
CONTACT_MODES = _CODES["contact_mode"]
ACTIVITY_TYPES = _CODES["activity_type"]
# wellbeing instruments: name -> (number of items, min, max); names as partners write them
_INSTRUMENT_ITEMS = {"wemwbs": (14, 1, 5), "swemwbs": (7, 1, 5), "ons4": (4, 0, 10), "phq9": (9, 0, 3), "gad7": (7, 0, 3)}
INSTRUMENTS = {name.upper(): _INSTRUMENT_ITEMS[name] for name in _CODES["instrument"]}
TIMEPOINTS = _CODES["timepoint"]
EVIDENCE_TYPES = _CODES["evidence_type"]
LEAVER_REASONS = _CODES["leaver_reason"]
QUALIFICATIONS = _CODES["qualification_gained"]
PLANNED_LEAVER_REASONS = {
    "completed_support",
    "entered_employment",
    "entered_education_training",
    "transferred_programme",
}
FIT_NOTE_STATUSES = _CODES["fit_note_status"]
UC_REGIMES = _CODES["uc_conditionality_regime"]
ESA_GROUPS = _CODES["esa_group"]
PAY_FREQUENCIES = _CODES["pay_frequency"]
_HOURS_BAND_MEANING = {"a": "<16", "b": "16-23.99", "c": "24-29.99", "d": "30+", "e": "other"}
HOURS_BANDS = {band.upper(): _HOURS_BAND_MEANING[band] for band in _CODES["hours_band"]}
SEXES = [code.upper() for code in _CODES["sex"]]
JOB_UPDATE_TYPES = _CODES["job_update_type"]


@dataclass(frozen=True)
class Gap:
    """Log-normal delay in days: median and sigma (log scale), clipped to [lo, hi]."""

    median: float
    sigma: float
    lo: float = 0
    hi: float = 10_000

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        days = rng.lognormal(np.log(self.median), self.sigma, n)
        return np.clip(np.round(days), self.lo, self.hi).astype("int64")


@dataclass(frozen=True)
class Rates:
    """Population mix, funnel rates and timelines. Defaults are documented in docs/synthetic-data.md;
    what differs between VCSE partners is in their partner.yml (``synthetic:``)."""

    # --- population mix
    share_workwell_bwd: float = 0.6  # of --participants: BwD WorkWell residents (rest: Manchester ETB)
    comparison_ratio: float = 0.35  # non-participant claimant comparison population, x participants
    etb_second_partner: float = 0.08  # ETB person also referred to a second VCSE partner
    etb_in_icb_feed: float = 0.12  # ETB person also referred via the MFT WorkWell extension (ICB feed)
    etb_month_weights: tuple[float, ...] = (0.35, 0.6, 0.85, 1.0, 1.1, 1.1, 0.8, 1.1, 1.1, 1.05)  # Jun..Mar
    ww_month_ramp: tuple[float, float] = (0.4, 1.0)  # first/last month weight, linear in between
    has_nhs_number: float = 0.97  # person has an NHS number at all (truth)
    has_nino: float = 0.95  # person has a NINo at all (truth)
    has_phone: float = 0.65
    has_email: float = 0.5
    moved_postcode: float = 0.12  # person moved; some sources still hold the previous postcode
    # --- how often VCSE partners record identifiers: each partner's share is in its partner.yml
    # (synthetic.records_nhs_number, records_ni_number); the share of the referrals from the WorkWell route
    vcse_records_nhs_if_icb: float = 0.8  # referred through the WorkWell/MFT route: NHS number known
    # --- ETB funnel
    eligible: float = 0.85
    first_contact_if_eligible: float = 0.82
    first_contact_if_ineligible: float = 0.5
    start_if_contacted: float = 0.86  # of eligible referrals with a first contact
    variant_b_start_uplift: float = 0.04  # second service variant: +4pp start rate (first: -4pp)
    gap_first_contact: Gap = field(default_factory=lambda: Gap(7, 0.8, 0, 90))  # referral -> first contact
    gap_start: Gap = field(default_factory=lambda: Gap(12, 0.7, 0, 120))  # first contact -> start
    gap_did_not_start: Gap = field(default_factory=lambda: Gap(21, 0.5, 3, 120))  # -> DNS decision
    job_if_started: float = 0.30  # person with a start gets a paid job (true, before censoring)
    job_if_not_started: float = 0.08  # ETB referral without a start who still gets a job (unrecorded)
    job_recorded_by_partner: float = 0.85  # job of a starter that the partner records
    gap_job: Gap = field(default_factory=lambda: Gap(90, 0.6, 14, 400))  # start -> job start
    gap_job_recorded: Gap = field(default_factory=lambda: Gap(10, 0.8, 0, 60))  # job start -> recorded
    job_short: float = 0.35  # job ends before 13 weeks
    job_medium: float = 0.15  # job lasts 13-26 weeks (rest: 26 weeks or more)
    self_employed: float = 0.08
    gap_exit: Gap = field(default_factory=lambda: Gap(120, 0.5, 14, 330))  # start -> exit (no job)
    in_work_support_days: tuple[int, int] = (14, 70)  # exit after job start, uniform
    activity_every_days: float = 10.0  # mean days between activities while on programme
    # --- qualifications gained, reported on the leaver row (its own random stream: the rest of the
    # sample is the same as before qualifications were generated)
    esol_qualification_if_esol: float = 0.35  # leaver who had ESOL sessions gains an ESOL qualification
    qualification_if_training: float = 0.30  # leaver who had a training course gains another qualification
    qualification_otherwise: float = 0.03
    # --- wellbeing
    wellbeing_baseline: float = 0.92
    wellbeing_review: float = 0.5  # of starters on programme > 90 days
    wellbeing_exit_if_planned: float = 0.8
    wellbeing_exit_if_unplanned: float = 0.15
    wellbeing_gain: float = 0.35  # latent z improvement baseline -> exit (SD units)
    wellbeing_gain_job: float = 0.35  # extra improvement for people who got a job
    # --- WorkWell (BwD) and DWP/HMRC
    ww_new_job_if_out_of_work: float = 0.30
    ww_job_lost_if_in_work: float = 0.15
    # --- WorkWell service journey (its own random stream, see synth/workwell.py)
    ww_assessed: float = 0.82  # referral assessed by a Work and Health Coach (the WorkWell start)
    ww_did_not_start_recorded: float = 0.75  # of the rest: a did-not-start row (others stay pending)
    ww_support_plan: float = 0.9  # of the assessed: a support (return-to-work) plan agreed
    ww_return_to_work_if_off_sick: float = 0.7  # signed off sick at referral: fit again / back at work
    ww_change_employer_if_in_work: float = 0.12  # in work and kept in work: changes employer
    ww_change_gap_within_allowance: float = 0.7  # of those: the new job starts within the allowance
    # the warehouse's workwell_retention_gap_days default: a new employment starting at most this
    # many days after the last day of the previous one keeps the person "retained"
    ww_retention_gap_days: int = 14
    ww_support_days_in_work: tuple[int, int] = (42, 84)  # assessment -> exit, in work at referral
    ww_support_days_out_of_work: tuple[int, int] = (84, 140)  # assessment -> exit, out of work
    comparison_job: float = 0.20
    weekly_paid: float = 0.25
    zero_hours: float = 0.05  # RTI hours band E


DEFAULT_RATES = Rates()
