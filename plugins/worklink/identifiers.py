"""Validation and normalisation of UK person identifiers: NHS number, National Insurance number, postcode.

Scalar functions accept anything (``None``, numbers, NaN, strings with spaces or hyphens) and never raise.
The ``*_mask`` functions are the vectorised equivalents for pandas Series: they return a boolean Series
aligned on the input index (missing values -> False) and are fast enough for millions of rows.

Rules (NHS number: NHS Digital's modulus-11 check; NINo: HMRC National Insurance Manual NIM39110):

* **NHS number**: 10 digits once spaces/hyphens are removed. The 10th digit is a modulus-11 check digit:
  multiply digits 1-9 by weights 10..2, sum, ``11 - (sum mod 11)``; a result of 11 means check digit 0,
  a result of 10 means the number is invalid (no such NHS number is ever issued).
* **National Insurance number (NINo)**: 2 letters + 6 digits + optional suffix A-D. First letter not
  D, F, I, Q, U, V; second letter not D, F, I, O, Q, U, V; prefixes BG, GB, KN, NK, NT, TN, ZZ are never
  allocated. There is no check digit. Temporary "TN" numbers (TN + ddmmyy date of birth + M/F) are not
  identifiers and are treated as missing.
* **Postcode**: UK format (outward code A9 / A99 / AA9 / AA99 / A9A / AA9A, a space, inward code 9AA)
  with the Royal Mail letter restrictions per position. Only the *format* is checked, not existence.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
# pandas and numpy are imported by the Series functions only: this module is on the import path of
# the DAG files (contracts -> rules -> identifiers), which every Airflow task process and every DAG
# parse runs; importing them there cost each of those processes 0.4-0.5 s of CPU.

__all__ = [
    "NHS_WEIGHTS",
    "nhs_number_check_digit",
    "normalise_nhs_number",
    "is_valid_nhs_number",
    "valid_nhs_number_mask",
    "normalise_nino",
    "is_valid_nino",
    "is_temporary_nino",
    "valid_nino_mask",
    "temporary_nino_mask",
    "normalise_postcode",
    "is_valid_postcode",
    "postcode_district",
    "valid_postcode_mask",
    "normalise_postcode_series",
    "normalise_nhs_number_series",
    "normalise_nino_series",
    "IdentifierFormat",
    "FORMATS",
]

NHS_WEIGHTS = tuple(range(10, 1, -1))  # 10, 9, ..., 2

# Separators partners' systems leave inside identifiers: any whitespace, including the no-break and
# narrow spaces of text copied from web pages and spreadsheets (written as characters, not escapes, so
# Python's and Arrow's regular expressions read the same class), and hyphens (not in postcodes).
WHITESPACE_CLASS = r"\s" + "\u00a0\u2007\u202f"
SEPARATOR_PATTERN = rf"[{WHITESPACE_CLASS}\-]+"
_SEPARATORS = re.compile(SEPARATOR_PATTERN)
_NHS_RE = re.compile(r"\d{10}")

# First letter: not D F I Q U V.  Second letter: not D F I O Q U V.  Never-allocated prefixes excluded.
NINO_PATTERN = r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]?"
_NINO_RE = re.compile(NINO_PATTERN)
TEMPORARY_NINO_PATTERN = r"TN(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}[MF]"
_TEMP_NINO_RE = re.compile(TEMPORARY_NINO_PATTERN)

# UK postcode format on the normalised form "OUTWARD INWARD" (gov.uk / Royal Mail letter restrictions).
_A1 = "[A-PR-UWYZ]"  # position 1: not Q V X
_A2 = "[A-HK-Y]"  # position 2: not I J Z
_A3 = "[A-HJKPSTUW]"  # position 3 in A9A
_A4 = "[ABEHMNPRVWXY]"  # position 4 in AA9A
OUTWARD_PATTERN = rf"(?:{_A1}\d\d?|{_A1}{_A2}\d\d?|{_A1}\d{_A3}|{_A1}{_A2}\d{_A4})"
INWARD_PATTERN = r"\d[ABD-HJLNP-UW-Z]{2}"  # inward letters never C I K M O V
POSTCODE_PATTERN = rf"(?:GIR 0AA|{OUTWARD_PATTERN} {INWARD_PATTERN})"
_POSTCODE_RE = re.compile(POSTCODE_PATTERN)


def _as_text(value: Any) -> str | None:
    """Return ``value`` as a stripped string, or None for None/NaN/empty."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    pandas = sys.modules.get("pandas")  # without pandas loaded, no value can be its NA or NaT
    try:
        if pandas is not None and (value is pandas.NA or value is pandas.NaT):
            return None
    except TypeError:  # pragma: no cover - exotic types
        pass
    text = str(value).strip()
    return text or None


# --------------------------------------------------------------------------------------------- NHS number
def nhs_number_check_digit(first9: str) -> int | None:
    """Modulus-11 check digit for the first nine digits of an NHS number.

    Returns 0-9, or None when the computed value is 10 (such numbers are invalid) or the input is not
    exactly nine digits.
    """
    if first9 is None or len(first9) != 9 or not first9.isdigit():
        return None
    total = sum(int(d) * w for d, w in zip(first9, NHS_WEIGHTS, strict=True))
    check = 11 - (total % 11)
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_nhs_number(value: Any) -> str | None:
    """Strip spaces and hyphens; return the 10-digit string, or None if it is not 10 digits."""
    text = _as_text(value)
    if text is None:
        return None
    text = _SEPARATORS.sub("", text)
    return text if _NHS_RE.fullmatch(text) else None


def is_valid_nhs_number(value: Any) -> bool:
    """True if ``value`` is 10 digits (after removing spaces/hyphens) with a correct mod-11 check digit."""
    digits = normalise_nhs_number(value)
    if digits is None:
        return False
    check = nhs_number_check_digit(digits[:9])
    return check is not None and check == int(digits[9])


def _clean_series(series: pd.Series) -> pd.Series:
    """String Series with spaces/hyphens removed and upper-cased; missing -> ''."""
    import pandas as pd

    s = pd.Series(series, copy=False)
    if pd.api.types.is_float_dtype(s.dtype):  # e.g. NHS numbers read as floats
        s = s.astype("Int64")
    s = s.astype("string[pyarrow]").fillna("")
    return s.str.replace(SEPARATOR_PATTERN, "", regex=True).str.upper()


def valid_nhs_number_mask(series: pd.Series) -> pd.Series:
    """Vectorised :func:`is_valid_nhs_number` for a pandas Series (missing -> False)."""
    import numpy as np
    import pandas as pd

    clean = _clean_series(series)
    fmt_ok = clean.str.fullmatch(r"\d{10}").fillna(False).to_numpy(dtype=bool)
    result = np.zeros(len(clean), dtype=bool)
    if fmt_ok.any():
        arr = np.asarray(clean.to_numpy(dtype=object)[fmt_ok], dtype="U10")
        digits = arr.view(np.uint32).reshape(-1, 10).astype(np.int64) - ord("0")
        total = digits[:, :9] @ np.array(NHS_WEIGHTS[:9])
        check = 11 - total % 11
        check = np.where(check == 11, 0, check)
        result[fmt_ok] = (check != 10) & (check == digits[:, 9])
    return pd.Series(result, index=series.index, name=series.name)


# --------------------------------------------------------------------------------------------------- NINo
def normalise_nino(value: Any) -> str | None:
    """Upper-case and strip spaces/hyphens. Returns None for missing/empty input (no validity check)."""
    text = _as_text(value)
    if text is None:
        return None
    text = _SEPARATORS.sub("", text).upper()
    return text or None


def is_valid_nino(value: Any) -> bool:
    """True for a correctly formatted, allocatable NINo (suffix A-D optional). Temporary TN numbers -> False."""
    text = normalise_nino(value)
    return bool(text) and _NINO_RE.fullmatch(text) is not None


def is_temporary_nino(value: Any) -> bool:
    """True for a temporary reference number: TN + ddmmyy date of birth + M/F (counts as a missing NINo)."""
    text = normalise_nino(value)
    return bool(text) and _TEMP_NINO_RE.fullmatch(text) is not None


def valid_nino_mask(series: pd.Series) -> pd.Series:
    """Vectorised :func:`is_valid_nino` (missing -> False)."""
    import pandas as pd

    clean = _clean_series(series)
    result = clean.str.fullmatch(NINO_PATTERN).fillna(False).astype(bool).to_numpy()
    return pd.Series(result, index=series.index, name=series.name)


def temporary_nino_mask(series: pd.Series) -> pd.Series:
    """Vectorised :func:`is_temporary_nino` (missing -> False)."""
    import pandas as pd

    clean = _clean_series(series)
    result = clean.str.fullmatch(TEMPORARY_NINO_PATTERN).fillna(False).astype(bool).to_numpy()
    return pd.Series(result, index=series.index, name=series.name)


def normalise_nhs_number_series(series: pd.Series) -> pd.Series:
    """Vectorised normal form of NHS numbers: separators removed (validity not checked); missing stays missing."""
    import pandas as pd

    return pd.Series(series, copy=False).astype("string").str.replace(SEPARATOR_PATTERN, "", regex=True)


def normalise_nino_series(series: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_nino` (upper case, separators removed; validity not checked)."""
    import pandas as pd

    return pd.Series(series, copy=False).astype("string").str.upper().str.replace(SEPARATOR_PATTERN, "", regex=True)


# ----------------------------------------------------------------------------------------------- Postcode
def normalise_postcode(value: Any) -> str | None:
    """Upper-case, remove all whitespace, then put a single space before the 3-character inward code.

    Returns None for missing/empty input. Strings shorter than 5 characters are returned compacted and
    upper-cased (they cannot be valid postcodes).
    """
    text = _as_text(value)
    if text is None:
        return None
    compact = re.sub(rf"[{WHITESPACE_CLASS}]+", "", text).upper()
    if not compact:
        return None
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def is_valid_postcode(value: Any) -> bool:
    """True if ``value`` (after normalisation) has a valid UK postcode format."""
    text = normalise_postcode(value)
    return bool(text) and _POSTCODE_RE.fullmatch(text) is not None


def postcode_district(value: Any) -> str | None:
    """Outward code (postcode district, e.g. "M14") of a valid postcode, else None."""
    text = normalise_postcode(value)
    if not text or _POSTCODE_RE.fullmatch(text) is None:
        return None
    return text.split(" ")[0]


def normalise_postcode_series(series: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_postcode`; missing/empty -> None (object dtype)."""
    import pandas as pd

    s = pd.Series(series, copy=False).astype("string[pyarrow]").fillna("")
    compact = s.str.replace(rf"[{WHITESPACE_CLASS}]+", "", regex=True).str.upper()
    spaced = compact.str[:-3] + " " + compact.str[-3:]
    out = spaced.where(compact.str.len() >= 5, compact)
    return out.astype(object).where(compact != "", None)


def valid_postcode_mask(series: pd.Series) -> pd.Series:
    """Vectorised :func:`is_valid_postcode` (missing -> False)."""
    import pandas as pd

    norm = normalise_postcode_series(series).astype("string[pyarrow]").fillna("")
    result = norm.str.fullmatch(POSTCODE_PATTERN)
    return pd.Series(result.fillna(False).astype(bool).to_numpy(), index=series.index, name=series.name)


# ------------------------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class IdentifierFormat:
    """One identifier format: what ingestion's checks, the GX suites and linkage's cleaning all use."""

    name: str
    pattern: str  # regular expression on the normalised form (upper case; postcodes "OUTWARD INWARD")
    valid_mask: Callable[[pd.Series], pd.Series]  # the full rule (check digit, temporary numbers)


FORMATS: dict[str, IdentifierFormat] = {
    "nhs_number": IdentifierFormat("nhs_number", _NHS_RE.pattern, valid_nhs_number_mask),
    "ni_number": IdentifierFormat("ni_number", NINO_PATTERN, valid_nino_mask),
    "postcode": IdentifierFormat("postcode", POSTCODE_PATTERN, valid_postcode_mask),
}
