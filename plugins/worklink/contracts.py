"""Feed contracts: one YAML file per partner feed, validated by this schema.

A contract says everything the platform needs to take a partner's file: where it
lands and how it is named, how to read it, how the partner's headers map to our
canonical columns, each column's type and privacy class, the code lists, who at the
partner hears about data-quality problems, and how severe each check is. Adding a
partner is adding contracts (``contracts/<partner_id>/<feed>.yml``), not code.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from worklink.rules import RULES, Severity
from worklink.settings import load_settings

_ID = r"^[a-z][a-z0-9_]*$"


class Privacy(StrEnum):
    direct_identifier = "direct_identifier"  # names, DOB, address, NHS number, NINo, phone, email
    quasi_identifier = "quasi_identifier"  # e.g. sex, ethnicity, postcode district
    none = "none"


class ColumnType(StrEnum):
    string = "string"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    flag = "flag"  # Y/N


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(Strict):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    name: str | None = None


class Programme(Strict):
    """A programme, declared once in ``contracts/_programmes.yml``."""

    name: str
    start: date = Field(description="first day of delivery: earlier dates are rejected as before the programme")
    end: date | None = Field(default=None, description="last day of delivery (none: open-ended)")
    outcomes: list[str] = Field(default_factory=list, description="the outcomes the programme is judged on")

    @model_validator(mode="after")
    def _ordered(self) -> Programme:
        if self.end is not None and self.end < self.start:
            raise ValueError("programme end is before its start")
        return self


class Grant(Strict):
    reference: str
    start: date
    end: date
    amount_gbp: int = Field(ge=0)
    note: str = ""


# Partner kinds that deliver a programme (rows in the delivery_partners seed); the others supply
# administrative data (DWP benefits, HMRC RTI).
DELIVERY_KINDS = ("vcse", "nhs_icb")


class NameVariation(Strict):
    """How often the partner's staff record a name or date of birth differently from the truth
    (not defects: the linkage must still find the person)."""

    nickname: float = Field(default=0.08, ge=0, le=1, description="a nickname for the first name")
    typo: float = Field(default=0.04, ge=0, le=1, description="one mistyped letter")
    case: float = Field(default=0.08, ge=0, le=1, description="upper case or stray spaces")
    swap: float = Field(default=0.015, ge=0, le=1, description="first and last name swapped")
    missing: float = Field(default=0.02, ge=0, le=1, description="date of birth left empty")
    curly_apostrophe: bool = Field(default=False, description="O'Brien typed as O’Brien (a word processor)")


class AddressRecording(Strict):
    """How the partner's form records the first line of an address."""

    share: float = Field(default=0.7, ge=0, le=1, description="share of referrals with an address")
    own_box: bool = Field(default=False, description="house number in a box of its own")
    abbreviated: float = Field(default=0.3, ge=0, le=1, description="share writing 'Rd' for 'Road'")


# a one-to-one employment support service's activities, relative frequencies (the Ancoats Community
# Trust's synthetic mix)
DEFAULT_ACTIVITY_MIX = {"keyworker_session": 30, "action_plan_review": 10, "physio": 3, "counselling": 4,
                        "cv_job_search": 10, "digital_skills": 8, "esol": 5, "money_advice": 6, "peer_group": 12,
                        "physical_activity": 5, "volunteering_placement": 4, "training_course": 3}


class Synthetic(Strict):
    """``synthetic:`` in partner.yml: how the sample generator (worklink.synth) simulates a VCSE
    partner of the Trailblazer (kind vcse). Optional, like every field in it: a copied folder without
    the block gets these defaults (docs/synthetic-data.md "Partners")."""

    referral_weight: float = Field(
        default=0.33, gt=0, description="relative share of the ETB people referred to this partner "
                                        "(weights of all VCSE partners are normalised)")
    id_prefix: str | None = Field(
        default=None, pattern=r"^[A-Z][A-Z0-9-]*$",
        description="referral id prefix (none: the initials of the id's words, upper case, and '-')")
    id_digits: int = Field(default=6, ge=3, le=9, description="digits after the prefix, zero-padded "
                                                              "(re-referrals count up from 9 followed by zeros)")
    id_start: int = Field(default=1, ge=0, description="number of the first referral")
    service_variants: tuple[str, str] = Field(
        default=("standard", "enhanced"),
        description="the two delivery models tested; the second starts more people (Rates.variant_b_start_uplift)")
    instruments: list[str] = Field(default=["WEMWBS"], min_length=1,
                                   description="wellbeing instruments used (code list instrument, upper case)")
    records_nhs_number: float = Field(default=0.30, ge=0, le=1, description="share of referrals with an NHS number")
    records_ni_number: float = Field(default=0.45, ge=0, le=1, description="share of referrals with a NINo")
    nhs_number_spaced: float = Field(default=0.1, ge=0, le=1, description="NHS numbers written '999 123 4567'")
    postcode_messy: float = Field(default=0.12, ge=0, le=1, description="postcodes lower case or without space")
    line_terminator: Literal["\n", "\r\n"] = Field(default="\n", description="CSV line ending")
    activity_id_prefix: str | None = Field(
        default=None, pattern=r"^[A-Z][A-Z0-9-]*$", description="activity id prefix (none: the referral id "
                                                                "prefix and 'A-')")
    activity_id_digits: int = Field(default=6, ge=3, le=9)
    activity_id_start: int = Field(default=1, ge=0, description="number of the first activity")
    activity_mix: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_ACTIVITY_MIX),
        description="relative frequency of each activity type (code list activity_type; absent: never)")
    districts: list[str] | None = Field(
        default=None, description="postcode districts of the main catchment (80% of its people; none: all of "
                                  "Manchester)")
    name_variation: NameVariation = NameVariation()
    address: AddressRecording = AddressRecording()

    @field_validator("instruments")
    @classmethod
    def _known_instruments(cls, value: list[str]) -> list[str]:
        known = [code.upper() for code in load_code_lists()["instrument"]]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown wellbeing instruments {unknown}; known: {known}")
        return value

    @field_validator("activity_mix")
    @classmethod
    def _known_activities(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(load_code_lists()["activity_type"]))
        if unknown or not any(w > 0 for w in value.values()) or any(w < 0 for w in value.values()):
            raise ValueError(f"activity_mix needs weights >= 0 (one > 0) of activity types only; unknown: {unknown}")
        return value

    def referral_id_prefix(self, partner_id: str) -> str:
        """``id_prefix``, or the initials of ``partner_id``'s words: salford_allies -> 'SA-'."""
        return self.id_prefix or "".join(word[0] for word in partner_id.split("_")).upper() + "-"


class Partner(Strict):
    """``contracts/<partner_id>/partner.yml``: the partner's facts, shared by all its feeds."""

    id: str = Field(pattern=_ID)
    name: str
    programme: str = Field(pattern=_ID, description="a programme of contracts/_programmes.yml")
    kind: Literal["vcse", "nhs_icb", "dwp", "hmrc"]
    borough: str | None = Field(default=None, pattern=_ID, description="local authority the partner serves")
    owner: str = Field(description="Platform team or person accountable for this feed")
    dq_contacts: list[Contact] = Field(min_length=1)
    dq_webhook_url: str | None = None
    delivery_cadence: Literal["monthly"] = Field(
        default="monthly", description="one file per feed per month (the feed's file.due_days_after_period "
                                       "says when it is late)")
    grants: list[Grant] = Field(default_factory=list, description="funding, for cost per outcome")
    synthetic: Synthetic = Field(default_factory=Synthetic,
                                 description="how the sample generator simulates the partner (kind vcse)")

    @model_validator(mode="after")
    def _delivery_partner_complete(self) -> Partner:
        if self.kind in DELIVERY_KINDS and self.borough is None:
            raise ValueError(f"partner {self.id}: a delivery partner ({self.kind}) needs a borough")
        return self


class FileSpec(Strict):
    pattern: str = Field(description="glob, relative to landing/<partner>/<feed>/")
    period_regex: str = Field(description="regex with a named group 'period' (YYYY-MM) applied to the file name")
    format: Literal["csv", "xlsx"]
    encoding: str = "utf-8"
    delimiter: str = ","
    date_format: str = "%Y-%m-%d"
    sheet: str | None = None
    header_row: int = Field(default=1, ge=1, description="1-based line/row holding the headers")
    due_days_after_period: int = Field(
        default=10, ge=0, description="a file for period P is late when received after P's last day + this"
    )
    last_period: str | None = Field(
        default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="the last month a file is expected for (YYYY-MM); none: every month until now")
    # Limits that keep one hostile or mistaken file from exhausting the machine. The defaults fit a
    # national DWP extract (~0.75 GB at ten times Greater Manchester's volume) with room to spare.
    max_file_bytes: int = Field(default=1 << 30, ge=1, description="a larger file is kept but not read")
    max_unpacked_bytes: int = Field(
        default=512 << 20, ge=1, description="an .xlsx whose parts unpack to more is refused (zip bombs)")
    max_cell_chars: int = Field(
        default=32_767, ge=1, description="a longer cell holds its row back (32,767 is Excel's own cell limit)")
    resubmit_within_days: int = Field(
        default=10, ge=1, description="a partner's alert asks for corrected files within this many days")
    min_resend_fraction: float = Field(
        default=0.5, ge=0, le=1,
        description="a new version of a month with fewer rows than this share of the current version's is "
                    "held as needs_confirmation instead of replacing it (a truncated or header-only re-send)")

    @field_validator("period_regex")
    @classmethod
    def _has_period_group(cls, value: str) -> str:
        if "period" not in re.compile(value).groupindex:
            raise ValueError("period_regex needs a named group 'period'")
        return value

    @model_validator(mode="after")
    def _encoding_known(self) -> FileSpec:
        "x".encode(self.encoding)  # LookupError for an unknown codec
        return self


class Column(Strict):
    name: str = Field(pattern=_ID, description="canonical column name")
    source: str = Field(description="the partner's own header")
    type: ColumnType = ColumnType.string
    required: bool = False
    recommended: bool = Field(
        default=False, description="optional, but an empty value is reported back as a warning (row still loads)"
    )
    privacy: Privacy = Privacy.none
    code_list: str | None = None
    rules: list[str] = Field(default_factory=list, description="extra row rules, e.g. nhs_number")
    min: float | None = None
    max: float | None = None
    description: str | None = None


class InstrumentRange(Strict):
    items: int = Field(ge=1)
    min: float
    max: float


class InstrumentItems(Strict):
    """Questionnaire items whose valid range depends on the instrument named in another column."""

    instrument_column: str
    item_prefix: str
    instruments: dict[str, InstrumentRange]


class CrossFeedOrder(Strict):
    """Dates in this feed that must not precede a date already loaded from another feed.

    Looked up by the partner's record id among current rows of ``raw.<table>``, e.g. a
    start must not precede its referral. Rows whose counterpart is not loaded yet are not
    judged (the warehouse reports orphans).
    """

    table: str = Field(pattern=_ID)
    date: str = Field(pattern=_ID)
    columns: list[str] = Field(min_length=1)


class Retention(Strict):
    """How long a feed's identifiable data (vault rows, quarantined rows, the received file) is kept.

    Counted from ``counted_from``: ``file_receipt`` (when the platform received the file),
    ``programme_end`` (the programme's end date in the platform's retention config) or
    ``last_activity`` (the latest file received with any record of the same participant).
    ``keep_for_months`` null means the evaluation period of the platform's retention config
    (worklink.platform.retention; 24 months by default). Pseudonymous rows in ``raw`` and the marts
    are kept: retention removes identifiers and files, not the evaluation's data.
    """

    counted_from: Literal["file_receipt", "programme_end", "last_activity"] = "programme_end"
    keep_for_months: int | None = Field(default=None, ge=0)


# A feed without a ``retention`` block: its identifiers are kept until the programme's end plus
# the evaluation period (UK GDPR Art. 5(1)(e), storage limitation: no longer than the purpose,
# which is the programme and its evaluation).
DEFAULT_RETENTION = Retention()


class Contract(Strict):
    contract_version: Literal[1] = 1
    partner: Partner
    feed: str = Field(pattern=_ID)
    description: str
    target_table: str = Field(pattern=_ID, description="raw table shared by every partner sending this feed")
    record_id_column: str | None = Field(
        description="the partner's own id for a row, quoted in alerts (null when rows have no own id)"
    )
    file: FileSpec
    columns: list[Column] = Field(min_length=1)
    date_order: list[list[str]] = Field(
        default_factory=list, description="pairs [earlier, later] that must be in order when both are set"
    )
    severity: dict[str, Severity] = Field(default_factory=dict, description="overrides of DEFAULT_SEVERITY")
    instrument_items: InstrumentItems | None = None
    cross_feed_order: list[CrossFeedOrder] = Field(default_factory=list)
    key_fields: list[str] | None = Field(
        default=None, description="columns whose completeness is scored (default: every non-identifier column)"
    )
    retention: Retention = Field(
        default=DEFAULT_RETENTION, description="how long identifiable data is kept (default: DEFAULT_RETENTION)")

    @property
    def scored_fields(self) -> list[str]:
        if self.key_fields is not None:
            return self.key_fields
        return [c.name for c in self.columns if c.privacy != Privacy.direct_identifier]

    @property
    def key(self) -> str:
        return f"{self.partner.id}__{self.feed}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def header_map(self) -> dict[str, str]:
        return {c.source: c.name for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def severity_of(self, rule_id: str) -> Severity:
        return self.severity.get(rule_id, DEFAULT_SEVERITY.get(rule_id, Severity.quarantine_row))

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError("duplicate canonical column names")
        sources = [c.source for c in self.columns]
        if len(set(sources)) != len(sources):
            raise ValueError("duplicate source headers")
        if self.record_id_column is not None and self.record_id_column not in names:
            raise ValueError(f"record_id_column {self.record_id_column!r} is not a column")
        for pair in self.date_order:
            if len(pair) != 2 or any(p not in names for p in pair):
                raise ValueError(f"date_order entry {pair} must name two columns of this contract")
        unknown_rules = {r for c in self.columns for r in c.rules} - set(COLUMN_RULES)
        if unknown_rules:
            raise ValueError(f"unknown column rules {sorted(unknown_rules)}; known: {sorted(COLUMN_RULES)}")
        if self.instrument_items:
            spec = self.instrument_items
            items = [n for n in names if n.startswith(spec.item_prefix)]
            if spec.instrument_column not in names or not items:
                raise ValueError("instrument_items must name an instrument column and item columns of this contract")
            if max(r.items for r in spec.instruments.values()) > len(items):
                raise ValueError("an instrument has more items than the contract has item columns")
        for rule in self.cross_feed_order:
            if set(rule.columns) - set(names) or self.record_id_column is None:
                raise ValueError(f"cross_feed_order {rule.table}: columns must be this contract's, with a record id")
        if self.key_fields and set(self.key_fields) - set(names):
            raise ValueError(f"key_fields not in columns: {sorted(set(self.key_fields) - set(names))}")
        unknown_sev = set(self.severity) - set(DEFAULT_SEVERITY)
        if unknown_sev:
            raise ValueError(f"severity given for unknown rules {sorted(unknown_sev)}")
        if self.partner.programme not in load_programmes():
            raise ValueError(f"unknown programme {self.partner.programme!r}; known: {sorted(load_programmes())}")
        codes = load_code_lists()
        for c in self.columns:
            if c.code_list and c.code_list not in codes:
                raise ValueError(f"column {c.name}: unknown code list {c.code_list!r}")
        return self


# Read from the rule registry (worklink.rules): rules a column can opt into, and every check's
# default severity (contracts may override).
COLUMN_RULES: dict[str, str] = {r.id: r.column_rule for r in RULES.values() if r.column_rule}
DEFAULT_SEVERITY: dict[str, Severity] = {r.id: r.severity for r in RULES.values()}


@lru_cache(maxsize=4)
def _load_code_lists(path: Path) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    return {name: [str(v) for v in values] for name, values in (data or {}).items()}


def load_code_lists(contracts_dir: Path | None = None) -> dict[str, list[str]]:
    contracts_dir = contracts_dir or load_settings().contracts_dir
    return _load_code_lists(contracts_dir / "_code_lists.yml")


@lru_cache(maxsize=4)
def _load_programmes(path: Path) -> dict[str, Programme]:
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    return {name: Programme.model_validate(spec) for name, spec in (data or {}).items()}


def load_programmes(contracts_dir: Path | None = None) -> dict[str, Programme]:
    """Programme id -> its declaration in ``contracts/_programmes.yml``."""
    contracts_dir = contracts_dir or load_settings().contracts_dir
    return _load_programmes(contracts_dir / "_programmes.yml")


def programme_start(programme: str, contracts_dir: Path | None = None) -> date:
    return load_programmes(contracts_dir)[programme].start


PARTNER_FILE = "partner.yml"


def load_partner(folder: Path) -> Partner:
    """``<folder>/partner.yml``; its id must be the folder's name."""
    partner = Partner.model_validate(yaml.safe_load((folder / PARTNER_FILE).read_text()))
    if partner.id != folder.name:
        raise ValueError(f"{folder / PARTNER_FILE}: id {partner.id!r} differs from its folder name {folder.name!r}")
    return partner


def load_partners(contracts_dir: Path | None = None) -> list[Partner]:
    contracts_dir = contracts_dir or load_settings().contracts_dir
    return [load_partner(p.parent) for p in sorted(contracts_dir.glob(f"*/{PARTNER_FILE}"))]


def load_contract(path: Path) -> Contract:
    """A feed file, with the partner block of the ``partner.yml`` beside it."""
    data = yaml.safe_load(path.read_text())
    if "partner" in data:
        raise ValueError(f"{path}: the partner block belongs in {PARTNER_FILE} beside the feed, not in the feed")
    data["partner"] = load_partner(path.parent).model_dump()
    return Contract.model_validate(data)


def feed_files(contracts_dir: Path) -> list[Path]:
    return sorted(p for p in contracts_dir.glob("*/*.yml") if p.name != PARTNER_FILE)


def load_contracts(contracts_dir: Path | None = None) -> list[Contract]:
    contracts_dir = contracts_dir or load_settings().contracts_dir
    return [load_contract(p) for p in feed_files(contracts_dir)]


def contract_for_file(path: Path, landing_dir: Path, contracts: list[Contract]) -> Contract | None:
    """The contract whose landing folder and file pattern match ``path``."""
    try:
        rel = path.resolve().relative_to(landing_dir.resolve())
    except ValueError:
        rel = None
    for contract in contracts:
        if rel is not None and rel.parts[:2] != (contract.partner.id, contract.feed):
            continue
        if rel is None and path.parent.parts[-2:] != (contract.partner.id, contract.feed):
            continue
        if path.match(contract.file.pattern):
            return contract
    return None
