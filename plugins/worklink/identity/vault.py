"""Cleaning identifiers from the identity vault into the form they are matched in.

Ingestion already stores identifiers in a canonical spelling (NHS numbers as digits, NINos
upper-case without spaces, postcodes ``"M14 5TQ"``, ISO dates). Matching needs one more step,
done here on whole columns (vectorised; ~1M rows in a few seconds):

* **validate**: an NHS number must pass modulus 11, an NI number must have an allocatable
  prefix; temporary ``TN`` numbers, unallocated prefixes and malformed values become missing
  (``None``), never a key;
* **NI number suffix**: compared without the A-D suffix, which partners often omit
  (``nino_stem``);
* **names**: upper case, accents folded, letters only (``O’Brien``, ``o'brien`` and
  ``OBRIEN`` are one name), plus a canonical given name for common variants
  (``name_variants.csv``: Bob/Rob/Robert);
* **dates of birth**: real dates between 1900 and today, else missing;
* **postcodes**: valid UK format, else missing; the outward code is the postcode district.

Nothing here leaves the process: callers keep cleaned identifiers in memory (linkage) or in the
identity schema.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from worklink.identifiers import (
    normalise_nhs_number_series,
    normalise_nino_series,
    normalise_postcode_series,
    valid_nhs_number_mask,
    valid_nino_mask,
    valid_postcode_mask,
)

NAME_VARIANTS_PATH = Path(__file__).with_name("name_variants.csv")


def _text(series: pd.Series) -> pd.Series:
    return pd.Series(series, copy=False).astype("object").where(pd.notna(series), None)


def _missing_to_none(series: pd.Series) -> pd.Series:
    """Object dtype with None for missing (pandas 3 would otherwise infer a str dtype with NaN)."""
    values = series.to_numpy(dtype=object, na_value=None) if hasattr(series, "to_numpy") else series
    out = pd.Series(values, index=series.index, dtype=object)
    keep = out.notna() & (out != "")
    return pd.Series(np.where(keep, out, None), index=series.index, dtype=object)


def clean_nhs_number(series: pd.Series) -> pd.Series:
    """10-digit NHS number when it passes modulus 11, else None."""
    digits = normalise_nhs_number_series(series)
    valid = valid_nhs_number_mask(digits)
    return _missing_to_none(digits.where(valid))


def nino_stem(series: pd.Series) -> pd.Series:
    """First eight characters (2 letters + 6 digits) of a valid, non-temporary NINo, else None.

    ``valid_nino_mask`` rejects the TN prefix, so temporary numbers are treated as missing.
    """
    clean = normalise_nino_series(series)
    valid = valid_nino_mask(clean)
    return _missing_to_none(clean.str.slice(0, 8).where(valid))


def clean_name(series: pd.Series) -> pd.Series:
    """Upper case, accents folded to ASCII, letters only; None when nothing is left."""
    s = pd.Series(series, copy=False).astype("string")
    uniques = s.dropna().unique()
    folded = {
        v: unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode("ascii") for v in uniques
    }
    s = s.map(folded, na_action="ignore").astype("string")
    return _missing_to_none(s.str.upper().str.replace(r"[^A-Z]", "", regex=True))


@lru_cache(maxsize=1)
def name_variant_map() -> dict[str, str]:
    """Given name -> canonical form of its variant group (first group wins for a shared name)."""
    mapping: dict[str, str] = {}
    for line in NAME_VARIANTS_PATH.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names = [n.strip() for n in line.split(",") if n.strip()]
        for name in names:
            mapping.setdefault(name, names[0])
    return mapping


def canonical_given_name(cleaned: pd.Series) -> pd.Series:
    """Canonical form of an already-cleaned given name (itself when it has no variants)."""
    mapping = name_variant_map()
    return _missing_to_none(pd.Series(cleaned, copy=False).map(lambda v: mapping.get(v, v), na_action="ignore"))


def clean_date_of_birth(series: pd.Series, earliest: str = "1900-01-01", latest: date | None = None) -> pd.Series:
    """ISO ``YYYY-MM-DD`` for a real date in [earliest, latest], else None."""
    latest = latest or date.today()
    parsed = pd.to_datetime(pd.Series(series, copy=False), format="%Y-%m-%d", errors="coerce")
    ok = parsed.notna() & (parsed >= pd.Timestamp(earliest)) & (parsed <= pd.Timestamp(latest))
    return _missing_to_none(parsed.dt.strftime("%Y-%m-%d").where(ok))


def clean_postcode(series: pd.Series) -> pd.Series:
    """``"M14 5TQ"`` form when the format is a valid UK postcode, else None."""
    norm = normalise_postcode_series(series)
    valid = valid_postcode_mask(norm)
    return _missing_to_none(pd.Series(norm, index=series.index).where(valid))


def postcode_district(clean: pd.Series) -> pd.Series:
    """Outward code (postcode district) of a cleaned postcode."""
    return _missing_to_none(pd.Series(clean, copy=False).astype("string").str.split(" ").str[0])


def clean_sex(series: pd.Series) -> pd.Series:
    """``F`` / ``M`` or None."""
    s = pd.Series(series, copy=False).astype("string").str.strip().str.upper().str.slice(0, 1)
    return _missing_to_none(s.where(s.isin(["F", "M"])))


def age_in_years(dob_iso: pd.Series, at_iso: pd.Series) -> pd.Series:
    """Whole years between two ISO dates (NaN when either is missing)."""
    dob = pd.to_datetime(dob_iso, format="%Y-%m-%d", errors="coerce")
    at = pd.to_datetime(at_iso, format="%Y-%m-%d", errors="coerce")
    years = at.dt.year - dob.dt.year
    before_birthday = (at.dt.month < dob.dt.month) | ((at.dt.month == dob.dt.month) & (at.dt.day < dob.dt.day))
    return (years - before_birthday.astype("Int64")).astype("Float64")


def age_band(age: pd.Series, bands: dict[str, int]) -> pd.Series:
    """Label of the band whose lower bound is the largest one <= age; None below the first band."""
    labels = sorted(bands.items(), key=lambda kv: kv[1])
    values = pd.Series(age, copy=False).astype("float64").to_numpy()
    out = np.full(len(values), None, dtype=object)
    for label, lower in labels:
        out[np.nan_to_num(values, nan=-1) >= lower] = label
    return pd.Series(out, index=age.index, dtype=object)
