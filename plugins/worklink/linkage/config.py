"""The linkage settings file (``settings.yml`` next to this module), validated.

One declarative file holds every threshold, blocking rule and model choice so a reviewer can
see what the linkage does without reading code. ``WORKLINK_LINKAGE_SETTINGS`` points at another
file (tests and experiments); the default is the one in the repository.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from worklink.settings import load_settings

SETTINGS_PATH = Path(__file__).with_name("settings.yml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    accept_match_probability: float = Field(gt=0, lt=1)
    review_match_probability: float = Field(gt=0, lt=1)
    candidate_match_probability: float = Field(default=0.001, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.candidate_match_probability <= self.review_match_probability < self.accept_match_probability:
            raise ValueError("need candidate <= review < accept match probability")
        return self


class Deterministic(_Strict):
    identifiers: list[str]

    @model_validator(mode="after")
    def _known(self) -> Deterministic:
        unknown = set(self.identifiers) - {"nhs_number", "ni_number"}
        if unknown:
            raise ValueError(f"unknown deterministic identifiers {sorted(unknown)}")
        return self


class Constraints(_Strict):
    forbid_conflicting_nhs_number: bool = True
    forbid_conflicting_ni_number: bool = True


class ParticipantIds(_Strict):
    prefix: str = "WL"
    random_chars: int = Field(default=10, ge=8, le=20)


class NameComparison(_Strict):
    jaro_winkler: float = Field(default=0.92, gt=0, lt=1)
    jaro_winkler_low: float = Field(default=0.8, gt=0, lt=1)
    term_frequency_adjustments: bool = True


class AddressLineComparison(_Strict):
    enabled: bool = True
    jaro_winkler: float = Field(default=0.9, gt=0, lt=1)
    term_frequency_adjustments: bool = True


class IdentifierComparison(_Strict):
    m_when_different: float = Field(gt=0, lt=0.5)
    u_when_equal: float = Field(gt=0, lt=0.01)


class Comparisons(_Strict):
    name: NameComparison
    date_of_birth: dict = {}
    postcode: dict = {}
    sex: dict = {}
    address_line: AddressLineComparison = AddressLineComparison()
    nhs_number: IdentifierComparison
    ni_number: IdentifierComparison


class UnlabelledTraining(_Strict):
    prior_rules: list[str]
    prior_recall: float = Field(gt=0, le=1)
    em_blocking_rules: list[str] = Field(min_length=1)
    em_max_pairs: float = 1e6
    # re-estimate the prior from the scored candidate pairs (EM on the prior alone, m and u fixed)
    reestimate_prior: bool = True
    reestimate_prior_max_records: int = Field(default=300_000, ge=0)


class Training(_Strict):
    seed: int = 1
    u_max_pairs: float = 2e6
    prior_rules: list[str]
    prior_recall: float = Field(gt=0, le=1)
    m_from_identifier_labels: bool = True
    min_identifier_label_pairs: int = Field(default=200, ge=1)
    unlabelled: UnlabelledTraining
    m_unobserved: float = Field(default=0.001, gt=0, lt=0.1)
    em_blocking_rules: list[str] = []
    em_max_pairs: float = 1e6


class Model(_Strict):
    link_type: str = "dedupe_only"
    blocking_rules: list[str]
    comparisons: Comparisons
    training: Training
    retrain_when_records_grow_by: float = Field(default=4.0, gt=1)


class DerivedAttributes(_Strict):
    age_bands: dict[str, int]
    boroughs: dict[str, list[str]]
    other_borough_label: str = "other"


class DuckDBSettings(_Strict):
    threads: int = 2
    memory_limit: str = "6GB"


class LinkageConfig(_Strict):
    thresholds: Thresholds
    deterministic: Deterministic
    constraints: Constraints
    person_level_sources: list[str]
    participant_ids: ParticipantIds
    model: Model
    derived_attributes: DerivedAttributes
    duckdb: DuckDBSettings = DuckDBSettings()



def settings_path() -> Path:
    return load_settings().linkage_settings or SETTINGS_PATH


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> LinkageConfig:
    return LinkageConfig.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def load_config(path: Path | None = None) -> LinkageConfig:
    path = Path(path or settings_path())
    return _load(str(path), path.stat().st_mtime)
