"""What analysis needs from the identifiers, derived before they are left behind in the vault.

``linkage.source_record_attributes`` has one row per source record:

| column                | from                                   | why not more precise                  |
|-----------------------|----------------------------------------|---------------------------------------|
| sex                   | the record (F / M)                     |                                       |
| age_band_at_referral  | date of birth and referral date        | birth year + district + sex narrows a |
| age_band_at_extract   | DWP/HMRC: date of birth, extract month | person down too far; bands suffice    |
| postcode_district     | outward code of a valid postcode       | a full postcode is an address         |
| borough               | district -> main local authority       | LSOA/IMD need the ONS directory       |
| has_nhs_number / has_ni_number | a valid identifier was recorded | data-quality reporting                |

No date of birth, birth year, full postcode or name is written.
"""

from __future__ import annotations

import pandas as pd

from worklink.identity import vault
from worklink.linkage.config import LinkageConfig

ATTRIBUTE_COLUMNS = [
    "source_record_key", "source_system", "sex", "age_band_at_referral", "age_band_at_extract",
    "postcode_district", "borough", "has_nhs_number", "has_ni_number",
]


def borough_of(district: pd.Series, config: LinkageConfig) -> pd.Series:
    lookup = {d: name for name, districts in config.derived_attributes.boroughs.items() for d in districts}
    other = config.derived_attributes.other_borough_label
    values = [None if pd.isna(d) else lookup.get(d, other) for d in district]
    return pd.Series(values, index=district.index, dtype=object)


def _period_end(period: pd.Series) -> pd.Series:
    start = pd.to_datetime(period.astype("string") + "-01", format="%Y-%m-%d", errors="coerce")
    return (start + pd.offsets.MonthEnd(0)).dt.strftime("%Y-%m-%d")


def derive_attributes(records: pd.DataFrame, config: LinkageConfig) -> pd.DataFrame:
    bands = config.derived_attributes.age_bands
    district = vault.postcode_district(records["postcode"])
    at_referral = vault.age_in_years(records["dob"], records["record_date"])
    at_extract = vault.age_in_years(records["dob"], _period_end(records["extract_period"]))
    out = pd.DataFrame({
        "source_record_key": records["source_record_key"],
        "source_system": records["source_system"],
        "sex": records["sex"],
        "age_band_at_referral": vault.age_band(at_referral, bands),
        "age_band_at_extract": vault.age_band(at_extract, bands),
        "postcode_district": district,
        "borough": borough_of(district, config),
        "has_nhs_number": records["nhs_number"].notna(),
        "has_ni_number": records["nino_stem"].notna(),
    })
    return out[ATTRIBUTE_COLUMNS]
