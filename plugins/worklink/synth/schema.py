"""Landing-file contracts: canonical feeds, partner header mappings, formats and file names.

A partner's name, file names, format, encoding, date format and headers, and how the generator
simulates it (partner.yml's ``synthetic:`` block: share of referrals, id format, service variants,
wellbeing instruments, recording habits) are read from its folder in contracts/ (``vcse_partners``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from worklink.contracts import Contract, Synthetic, load_contracts

from . import params as P

# canonical column -> type: str | date | int | float
FEEDS: dict[str, dict[str, str]] = {
    "referrals": {
        "referral_id": "str",
        "first_name": "str",
        "last_name": "str",
        "date_of_birth": "date",
        "sex": "str",
        "ethnicity": "str",
        "postcode": "str",
        "address_line": "str",
        "house_number": "str",
        "phone": "str",
        "email": "str",
        "nhs_number": "str",
        "ni_number": "str",
        "referral_date": "date",
        "referral_source": "str",
        "priority_group": "str",
        "main_condition": "str",
        "carer_hours_per_week": "int",
        "economic_status": "str",
        "service_variant": "str",
        "eligible": "str",
        "ineligible_reason": "str",
    },
    "starts": {
        "referral_id": "str",
        "first_contact_date": "date",
        "start_date": "date",
        "did_not_start_reason": "str",
    },
    "activities": {
        "referral_id": "str",
        "activity_id": "str",
        "contact_date": "date",
        "contact_mode": "str",
        "activity_type": "str",
        "duration_minutes": "int",
    },
    "wellbeing": {
        "referral_id": "str",
        "instrument": "str",
        "timepoint": "str",
        "completed_date": "date",
        **{f"item_{i:02d}": "int" for i in range(1, 15)},
    },
    "job_starts": {
        "referral_id": "str",
        "job_id": "str",
        "job_start_date": "date",
        "hours_per_week": "float",
        "hourly_pay_gbp": "float",
        "self_employed": "str",
        "evidence_type": "str",
        "job_end_date": "date",
    },
    "leavers": {
        "referral_id": "str",
        "exit_date": "date",
        "leaver_reason": "str",
        "planned_exit": "str",
        "qualification_gained": "str",
    },
    "job_updates": {
        "referral_id": "str",
        "job_id": "str",
        "update_type": "str",
        "effective_date": "date",
        "hours_per_week": "float",
        "hourly_pay_gbp": "float",
    },
    "payslips": {
        "referral_id": "str",
        "job_id": "str",
        "pay_date": "date",
        "gross_pay_gbp": "float",
    },
}
VCSE_FEEDS = list(FEEDS)

ICB_COLUMNS: dict[str, str] = {
    "ww_referral_id": "str",
    "nhs_number": "str",
    "forename": "str",
    "surname": "str",
    "date_of_birth": "date",
    "sex": "str",
    "postcode": "str",
    "address_line_1": "str",
    "house_number": "str",
    "gp_practice_code": "str",
    "referral_date": "date",
    "referral_source": "str",
    "main_condition": "str",
    "fit_note_status": "str",
    "employment_status_at_referral": "str",
}
DWP_COLUMNS = [
    "nino",
    "date_of_birth",
    "surname",
    "postcode",
    "month",
    "uc_claimant",
    "uc_conditionality_regime",
    "esa_claimant",
    "esa_group",
    "pip_claimant",
    "carers_allowance",
]
HMRC_COLUMNS = [
    "nino",
    "date_of_birth",
    "forename",
    "surname",
    "postcode",
    "employer_ref",
    "payment_date",
    "pay_frequency",
    "gross_pay_gbp",
    "hours_band",
    "employment_start_date",
    "employment_end_date",
]

# Required columns (a row with an empty value here is a defect; other fields may legitimately be empty).
REQUIRED: dict[str, list[str]] = {
    "referrals": ["referral_id", "referral_date", "referral_source", "priority_group", "eligible"],
    "starts": ["referral_id"],
    "activities": ["referral_id", "activity_id", "contact_date", "contact_mode", "activity_type"],
    "wellbeing": ["referral_id", "instrument", "timepoint", "completed_date"],
    "job_starts": ["referral_id", "job_start_date", "hours_per_week", "evidence_type"],
    "leavers": ["referral_id", "exit_date", "leaver_reason"],
    "job_updates": ["referral_id", "job_id", "update_type", "effective_date"],
    "payslips": ["referral_id", "job_id", "pay_date", "gross_pay_gbp"],
    "icb_referrals": ["ww_referral_id", "referral_date", "referral_source"],
    "icb_starts": ["ww_referral_id"],
    "icb_contacts": ["ww_contact_id", "ww_referral_id", "contact_date", "contact_mode", "contact_type"],
    "icb_exits": ["ww_referral_id", "exit_date", "exit_reason"],
    "icb_fit_notes": ["ww_fit_note_id", "ww_referral_id", "change_date", "fit_note_status"],
}
# The date that places a row in a monthly file ("the month it was recorded").
EVENT_DATE = {
    "referrals": "referral_date",
    "starts": "start_date",
    "activities": "contact_date",
    "wellbeing": "completed_date",
    "job_starts": "job_start_date",
    "leavers": "exit_date",
    "job_updates": "effective_date",
    "payslips": "pay_date",
    "icb_referrals": "referral_date",
    "icb_starts": "assessment_date",
    "icb_contacts": "contact_date",
    "icb_exits": "exit_date",
    "icb_fit_notes": "change_date",
}
CODE_LISTS: dict[str, list[str]] = {
    "sex": P.SEXES,
    "referral_source": P.VCSE_REFERRAL_SOURCES,
    "priority_group": P.PRIORITY_GROUPS,
    "main_condition": P.MAIN_CONDITIONS,
    "economic_status": P.ECONOMIC_STATUSES,
    "employment_status_at_referral": P.ECONOMIC_STATUSES,
    "eligible": ["Y", "N"],
    "ineligible_reason": P.INELIGIBLE_REASONS,
    "did_not_start_reason": P.DID_NOT_START_REASONS,
    "contact_mode": P.CONTACT_MODES,
    "activity_type": P.ACTIVITY_TYPES,
    "instrument": list(P.INSTRUMENTS),
    "timepoint": P.TIMEPOINTS,
    "self_employed": ["Y", "N"],
    "evidence_type": P.EVIDENCE_TYPES,
    "leaver_reason": P.LEAVER_REASONS,
    "planned_exit": ["Y", "N"],
    "qualification_gained": P.QUALIFICATIONS,
    "fit_note_status": P.FIT_NOTE_STATUSES,
    "update_type": P.JOB_UPDATE_TYPES,
}
ICB_CODE_LISTS = {**CODE_LISTS, "referral_source": P.ICB_REFERRAL_SOURCES}


@dataclass(frozen=True)
class PartnerSpec:
    partner_id: str
    name: str
    file_prefix: str
    file_format: str  # "xlsx" or "csv"
    encoding: str | None  # CSV encoding
    date_format: str | None  # strftime for CSV dates; None for xlsx (real Excel dates)
    header_row: int  # 1-based row number of the header line (xlsx: rows above it are titles)
    headers: dict[str, dict[str, str]]  # feed -> canonical column -> partner header
    synthetic: Synthetic  # the generator's own facts: partner.yml's ``synthetic:`` block (or its defaults)

    @property
    def line_terminator(self) -> str:
        return self.synthetic.line_terminator

    @property
    def variants(self) -> tuple[str, str]:
        """The two service variants the partner tests."""
        return self.synthetic.service_variants

    @property
    def id_prefix(self) -> str:
        return self.synthetic.referral_id_prefix(self.partner_id)

    @property
    def instruments(self) -> tuple[str, ...]:
        """Wellbeing instruments the partner uses."""
        return tuple(self.synthetic.instruments)

    def referral_id(self, number: int) -> str:
        return f"{self.id_prefix}{number:0{self.synthetic.id_digits}d}"

    def activity_id(self, number: int) -> str:
        sim = self.synthetic
        return f"{sim.activity_id_prefix or self.id_prefix + 'A-'}{number:0{sim.activity_id_digits}d}"

    @property
    def rereferral_id_base(self) -> int:
        """Re-referrals (synth/paths.py) count up from 9 followed by zeros: 900000 for six digits."""
        return 9 * 10 ** (self.synthetic.id_digits - 1)

    def file_name(self, feed: str, period: str) -> str:
        return f"{self.file_prefix}_{feed}_{period}.{self.file_format}"

    def rel_path(self, feed: str, period: str) -> str:
        return f"landing/{self.partner_id}/{feed}/{self.file_name(feed, period)}"


def _partner_spec(feeds: dict[str, Contract]) -> PartnerSpec:
    """A VCSE partner's sample files as its folder in contracts/ agrees them (name, file names, format,
    encoding, date format, header row, its own headers, and partner.yml's ``synthetic:`` block)."""
    referrals = feeds["referrals"]
    csv = referrals.file.format == "csv"
    headers = {}
    for feed, columns in FEEDS.items():
        source = {column.name: column.source for column in feeds[feed].columns}
        headers[feed] = {column: source[column] for column in columns}
    return PartnerSpec(
        partner_id=referrals.partner.id,
        name=referrals.partner.name,
        file_prefix=referrals.file.pattern.split(f"_{referrals.feed}_")[0],
        file_format=referrals.file.format,
        encoding=referrals.file.encoding if csv else None,
        date_format=referrals.file.date_format if csv else None,
        header_row=referrals.file.header_row,
        headers=headers,
        synthetic=referrals.partner.synthetic,
    )


def vcse_partners(contracts_dir: Path | None = None) -> dict[str, PartnerSpec]:
    """The Trailblazer's VCSE partners (kind vcse, programme gm_etb) of ``contracts_dir`` (default: the
    configured contracts folder), by id. Their order is the order of the generator's draws."""
    by_partner: dict[str, dict[str, Contract]] = {}
    for contract in load_contracts(contracts_dir):
        if contract.partner.kind == "vcse" and contract.partner.programme == ETB_PROGRAMME:
            by_partner.setdefault(contract.partner.id, {})[contract.feed] = contract
    missing = {pid: sorted(set(FEEDS) - set(feeds)) for pid, feeds in by_partner.items() if set(FEEDS) - set(feeds)}
    if missing:
        raise ValueError(f"VCSE partners without a contract for every generated feed: {missing}")
    return {pid: _partner_spec(by_partner[pid]) for pid in sorted(by_partner)}


ETB_PROGRAMME = "gm_etb"
# the partners of the contracts folder configured when this module was imported (for tests and docs;
# worklink.synth.generate reads the folder again at each call)
PARTNERS: dict[str, PartnerSpec] = vcse_partners()
PARTNER_IDS = list(PARTNERS)

ICB_PARTNER = "icb_workwell"
ICB_FEED = "referrals"


def icb_rel_path(period: str, feed: str = ICB_FEED) -> str:
    return f"landing/{ICB_PARTNER}/{feed}/ICB_WW_{feed}_{period}.csv"


DWP_REL_PATH = f"landing/dwp/benefits/DWP_benefits_{P.ADMIN_DELIVERY}.csv"
HMRC_REL_PATH = f"landing/hmrc/employment/HMRC_RTI_{P.ADMIN_DELIVERY}.csv"
