"""Synthetic people (true identities) and the source-specific variation of how they are recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from worklink.identifiers import nhs_number_check_digit

from . import params as P
from . import pools as pool_mod

DAY = np.timedelta64(1, "D")


def to_weekday(d: np.ndarray) -> np.ndarray:
    """Move Saturday/Sunday dates forward to the next Monday (monotone, so ordering is preserved)."""
    d = d.astype("datetime64[D]")
    dow = (d.astype("int64") + 3) % 7  # Monday = 0
    shift = np.where(dow == 5, 2, np.where(dow == 6, 1, 0))
    out = d + shift * DAY
    return np.where(np.isnat(d), d, out)


def _choice(rng: np.random.Generator, values, n: int, p=None) -> np.ndarray:
    values = np.asarray(values, dtype=object)
    p = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return values[rng.choice(len(values), size=n, p=p)]


def random_dob(
    rng: np.random.Generator,
    anchor: np.ndarray,
    age_lo: int,
    age_hi: int,
    band_edges: list[int],
    band_weights: list[float],
    margin_days: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Date of birth such that the exact age at ``anchor`` is within [age_lo, age_hi] (inclusive).

    ``margin_days`` keeps the age inside the range for events up to that many days before/after ``anchor``.
    """
    n = len(anchor)
    band = rng.choice(len(band_weights), size=n, p=np.asarray(band_weights) / np.sum(band_weights))
    lo = np.asarray(band_edges[:-1])[band]
    hi = np.asarray(band_edges[1:])[band]  # exclusive upper age
    lo_days = np.ceil(np.maximum(lo, age_lo) * 365.25).astype(int) + 1 + margin_days[0]
    hi_days = np.floor(np.minimum(hi, age_hi + 1) * 365.25).astype(int) - 2 - margin_days[1]
    days = lo_days + np.floor(rng.random(n) * (hi_days - lo_days)).astype(int)
    return anchor.astype("datetime64[D]") - days * DAY


def make_postcodes(rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
    """Plausible full postcodes for the given outward codes: sector digit + two allowed inward letters."""
    n = len(districts)
    letters = np.array(pool_mod.INWARD_LETTERS, dtype=object)
    sector = rng.integers(0, 10, n).astype(str).astype(object)
    unit = letters[rng.integers(0, len(letters), n)] + letters[rng.integers(0, len(letters), n)]
    return districts.astype(object) + " " + sector + unit


def make_nhs_numbers(rng: np.random.Generator, n: int, seen: set[int] | None = None) -> np.ndarray:
    """Unique, mod-11-valid NHS numbers in the 999 range NHS England reserves for test data.

    ``seen`` (updated in place) holds numbers already issued, so several calls never share one: a
    real NHS number belongs to one person. The range holds ~909,000 valid numbers.
    """
    weights = np.arange(10, 1, -1)
    out: list[np.ndarray] = []
    seen = set() if seen is None else seen
    if n > 900_000 - len(seen):
        raise ValueError("the 999 test range has too few NHS numbers left for this many people")
    need = n
    while need > 0:
        body = rng.integers(0, 1_000_000, size=int(need * 1.3) + 10)
        digits = np.column_stack(
            [np.full_like(body, 9)] * 3 + [(body // 10**k) % 10 for k in range(5, -1, -1)]
        )
        check = 11 - (digits @ weights) % 11
        check = np.where(check == 11, 0, check)
        ok = check != 10
        nums = (999_000_000 + body[ok]) * 10 + check[ok]
        fresh = [x for x in dict.fromkeys(nums.tolist()) if x not in seen][:need]
        seen.update(fresh)
        out.append(np.array(fresh, dtype=np.int64))
        need -= len(fresh)
    result = np.concatenate(out).astype(str).astype(object)
    assert nhs_number_check_digit(result[0][:9]) == int(result[0][9])
    return result


_NINO_FIRST = list("ABCEGHJKLMNOPRSTWXYZ")
_NINO_SECOND = list("ABCEGHJKLMNPRSTWXYZ")
_NINO_PREFIXES = [
    a + b
    for a in _NINO_FIRST
    for b in _NINO_SECOND
    if a + b not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
]


def make_ninos(rng: np.random.Generator, n: int, seen: set[str] | None = None) -> np.ndarray:
    """Unique valid NINos (prefix rules respected, suffix A-D).

    Unique without the suffix too (the suffix is not part of the number; linkage compares stems), and
    never one in ``seen`` (updated in place), so several calls never give two people one NINo.
    """
    prefixes = np.array(_NINO_PREFIXES, dtype=object)
    result: list[str] = []
    seen = set() if seen is None else seen
    while len(result) < n:
        m = (n - len(result)) * 2 + 10
        pre = prefixes[rng.integers(0, len(prefixes), m)]
        num = np.char.zfill(rng.integers(0, 1_000_000, m).astype(str), 6).astype(object)
        suf = np.array(list("ABCD"), dtype=object)[rng.integers(0, 4, m)]
        for stem, x in zip((pre + num).tolist(), (pre + num + suf).tolist(), strict=True):
            if stem not in seen:
                seen.add(stem)
                result.append(x)
                if len(result) == n:
                    break
    return np.array(result, dtype=object)


def _ascii_lower(s: pd.Series) -> pd.Series:
    return (
        s.str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
        .str.lower()
        .str.replace(r"[^a-z]", "", regex=True)
    )


def make_persons(
    rng: np.random.Generator,
    names: dict[str, np.ndarray],
    *,
    n: int,
    first_id: int,
    cohort: str,
    region: str,
    anchor: np.ndarray,
    age_lo: int,
    age_hi: int,
    districts: np.ndarray,
    female_share: float,
    rates: P.Rates,
    margin_days: tuple[int, int] = (0, 0),
    issued: dict[str, set] | None = None,
) -> pd.DataFrame:
    """True identities for ``n`` people. ``anchor`` is the date at which the age range applies.

    ``issued`` ({"nhs_number": set, "ni_number": set}, updated in place) carries the identifiers
    already given to people made by earlier calls: every person's NHS number and NINo is unique.
    """
    issued = {"nhs_number": set(), "ni_number": set()} if issued is None else issued
    sex = np.where(rng.random(n) < female_share, "F", "M").astype(object)
    eth = rng.choice(
        len(pool_mod.ETHNICITIES),
        size=n,
        p=np.asarray(pool_mod.ETHNICITY_WEIGHTS[region]) / sum(pool_mod.ETHNICITY_WEIGHTS[region]),
    )
    first = np.where(
        sex == "F",
        names["F"][rng.integers(0, len(names["F"]), n)],
        names["M"][rng.integers(0, len(names["M"]), n)],
    ).astype(object)
    # surnames by their frequency (a few very common, a long tail of rare ones: pools.surname_pool)
    last = names["last"][rng.choice(len(names["last"]), size=n, p=names["last_p"])].astype(object)
    u = rng.random(n)
    for eth_idx, (special, prob) in pool_mod.ETHNICITY_NAME_POOL.items():
        m = (eth == eth_idx) & (u < prob)
        k = int(m.sum())
        if not k:
            continue
        f_pool = np.array(special["F"], dtype=object)
        m_pool = np.array(special["M"], dtype=object)
        l_pool = np.array(special["last"], dtype=object)
        first[m] = np.where(
            sex[m] == "F", f_pool[rng.integers(0, len(f_pool), k)], m_pool[rng.integers(0, len(m_pool), k)]
        )
        last[m] = l_pool[rng.integers(0, len(l_pool), k)]
    dob = random_dob(rng, anchor, age_lo, age_hi, [16, 25, 35, 50, 67], [0.10, 0.22, 0.35, 0.33], margin_days)
    postcode = make_postcodes(rng, districts)
    moved = rng.random(n) < rates.moved_postcode
    prev = np.where(moved, make_postcodes(rng, districts[rng.permutation(n)]), None)
    nhs = make_nhs_numbers(rng, n, issued["nhs_number"])
    nhs[rng.random(n) >= rates.has_nhs_number] = None
    nino = make_ninos(rng, n, issued["ni_number"])
    nino[rng.random(n) >= rates.has_nino] = None
    # Ofcom drama ranges: 07700 900000-900999, 0161 496 0000-0999, 01632 960000-960999.
    k = rng.integers(0, 1000, n).astype(str)
    k3 = np.char.zfill(k, 3).astype(object)
    k4 = np.char.zfill(k, 4).astype(object)
    landline = "0161 496 " + k4 if region == "manchester" else "01632 960" + k3
    phone = np.where(rng.random(n) < 0.75, "07700 900" + k3, landline)
    phone = np.where(rng.random(n) < rates.has_phone, phone, None)
    local = (
        _ascii_lower(pd.Series(first))
        + "."
        + _ascii_lower(pd.Series(last))
        + pd.Series(rng.integers(1, 99, n).astype(str))
    )
    domain = _choice(rng, ["example.com", "example.org", "example.net"], n)
    email = np.where(rng.random(n) < rates.has_email, (local.to_numpy(dtype=object) + "@" + domain), None)
    return pd.DataFrame(
        {
            "person_id": [f"P{i:06d}" for i in range(first_id, first_id + n)],
            "cohort": cohort,
            "first_name": first,
            "last_name": last,
            "date_of_birth": dob,
            "sex": sex,
            "ethnicity": np.array(pool_mod.ETHNICITIES, dtype=object)[eth],
            "postcode": postcode,
            "previous_postcode": prev,
            "nhs_number": nhs,
            "ni_number": nino,
            "phone": phone,
            "email": email,
        }
    )


# ---------------------------------------------------------------------------------------- record variation
_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def _typo(rng: np.random.Generator, s: str) -> str:
    if len(s) < 3:
        return s
    i = int(rng.integers(1, len(s) - 1))
    kind = int(rng.integers(0, 3))
    if kind == 0:  # drop a letter
        return s[:i] + s[i + 1 :]
    if kind == 1:  # swap adjacent letters
        return s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]
    c = _KEYBOARD[int(rng.integers(0, len(_KEYBOARD)))]  # replace a letter
    return s[:i] + (c.upper() if s[i].isupper() else c) + s[i + 1 :]


def _case_space(rng: np.random.Generator, s: str) -> str:
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return s.upper()
    if kind == 1:
        return s.lower()
    if kind == 2:
        return f" {s} " if rng.random() < 0.5 else s + "  "
    return s.replace(" ", "  ") if " " in s else s.replace("'", "")


def vary_identity(
    rng: np.random.Generator,
    first: np.ndarray,
    last: np.ndarray,
    dob: np.ndarray,
    *,
    nickname: float,
    typo: float,
    case: float,
    swap: float,
    missing: float,
    curly_apostrophe: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return recorded (first, last, dob) with realistic, non-defect variation.

    nickname/typo/case/swap/missing are per-record probabilities (missing applies to each of first name,
    last name and date of birth separately; DOB day and month are also swapped for ``typo``/4 of records).
    """
    n = len(first)
    first = first.astype(object).copy()
    last = last.astype(object).copy()
    dob = dob.astype("datetime64[D]").copy()
    for i in np.flatnonzero(rng.random(n) < nickname):
        nicks = pool_mod.NICKNAMES.get(first[i])
        if nicks:
            first[i] = nicks[int(rng.integers(0, len(nicks)))]
    for arr in (first, last):
        for i in np.flatnonzero(rng.random(n) < typo / 2):
            arr[i] = _typo(rng, arr[i])
        for i in np.flatnonzero(rng.random(n) < case / 2):
            arr[i] = _case_space(rng, arr[i])
    if curly_apostrophe:
        last = np.array([s.replace("'", "\u2019") for s in last], dtype=object)
    sw = rng.random(n) < swap
    first[sw], last[sw] = last[sw], first[sw].copy()
    # DOB day/month transposition (only when the result is a real, different date)
    for i in np.flatnonzero(rng.random(n) < typo / 4):
        y, m, d = str(dob[i]).split("-")
        if int(d) <= 12 and d != m:
            dob[i] = np.datetime64(f"{y}-{d}-{m}", "D")
    first[rng.random(n) < missing] = None
    last[rng.random(n) < missing] = None
    dob[rng.random(n) < missing] = np.datetime64("NaT")
    return first, last, dob


def format_nhs(rng: np.random.Generator, nhs: np.ndarray, spaced: float) -> np.ndarray:
    """NHS numbers as '999 123 4567' for a share ``spaced`` of records, else 10 digits."""
    out = nhs.astype(object).copy()
    for i in np.flatnonzero((rng.random(len(out)) < spaced) & pd.notna(out)):
        s = out[i]
        out[i] = f"{s[:3]} {s[3:6]} {s[6:]}"
    return out


def format_nino(rng: np.random.Generator, nino: np.ndarray, messy: float) -> np.ndarray:
    """NINos as recorded: some spaced ('AB 12 34 56 C'), lower-case or without suffix (all still valid)."""
    out = nino.astype(object).copy()
    for i in np.flatnonzero((rng.random(len(out)) < messy) & pd.notna(out)):
        s = out[i]
        kind = int(rng.integers(0, 3))
        if kind == 0:
            out[i] = f"{s[:2]} {s[2:4]} {s[4:6]} {s[6:8]} {s[8:]}".strip()
        elif kind == 1:
            out[i] = s.lower()
        else:
            out[i] = s[:8]
    return out


def format_postcode(rng: np.random.Generator, pc: np.ndarray, messy: float) -> np.ndarray:
    """Postcodes as recorded: some lower-case or without the space (still valid after normalising)."""
    out = pc.astype(object).copy()
    for i in np.flatnonzero((rng.random(len(out)) < messy) & pd.notna(out)):
        out[i] = out[i].replace(" ", "") if rng.random() < 0.5 else out[i].lower()
    return out
