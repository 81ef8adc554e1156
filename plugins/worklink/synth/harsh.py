"""A harsher, independent corruption model for testing linkage on data it was not tuned on.

The programme-year generator (``generator.py``) records each person's identity with the kinds of
noise linkage was designed around. This module re-records people with a different model, written
separately and never used for tuning: scanned-form OCR confusions (rn/m, cl/d, 1/7, 0/8), keyboard
typos, given and family names swapped, nicknames from its own list (not the one linkage uses to
canonicalise given names), new family names, missing fields, dates of birth with transposed or
misread digits, people who moved (new postcode and address) and addresses written differently
("Rd" for "Road"). It is used by ``bench/linkage_external.py``.

Everything comes from one ``numpy.random.default_rng(seed)`` stream of its own, so using it changes
no byte of what the generator writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Its own nickname list (formal -> informal), deliberately not identity/name_variants.csv.
NICKNAMES = {
    "William": ["Bill", "Billy", "Will", "Liam"], "Margaret": ["Peggy", "Maggie", "Meg", "Rita"],
    "John": ["Jack", "Johnny"], "Mary": ["Polly", "Molly", "Mae"], "Henry": ["Hal", "Harry", "Hank"],
    "Robert": ["Bob", "Bobby", "Rob", "Robbie", "Bert"], "Elizabeth": ["Betty", "Liz", "Beth", "Lisa"],
    "Richard": ["Dick", "Rick", "Richie"], "Catherine": ["Kate", "Cathy", "Kitty"],
    "James": ["Jim", "Jimmy", "Jamie"], "Susan": ["Sue", "Susie"], "Thomas": ["Tom", "Tommy"],
    "Patricia": ["Pat", "Trish", "Patsy"], "Michael": ["Mike", "Mick", "Mickey"], "Joseph": ["Joe", "Joey"],
    "Jennifer": ["Jen", "Jenny"], "Edward": ["Ted", "Eddie", "Ned"], "Alexander": ["Alex", "Sandy"],
    "Victoria": ["Vicky", "Tori"], "Samuel": ["Sam", "Sammy"], "Rebecca": ["Becky", "Becca"],
    "Matthew": ["Matt"], "Christopher": ["Chris", "Kit"], "Jessica": ["Jess", "Jessie"],
    "Daniel": ["Dan", "Danny"], "Nicholas": ["Nick", "Nicky"], "Anthony": ["Tony"], "Andrew": ["Andy", "Drew"],
    "Charlotte": ["Lottie", "Charlie"], "Benjamin": ["Ben", "Benny"], "Katherine": ["Katie", "Kath"],
    "Stephen": ["Steve"], "Steven": ["Steve"], "Jonathan": ["Jon", "Jonny"], "Timothy": ["Tim"],
    "Abigail": ["Abby"], "Deborah": ["Debbie"], "Gregory": ["Greg"], "Frederick": ["Fred", "Freddie"],
    "Samantha": ["Sam", "Sammie"], "Eleanor": ["Nell", "Ellie"], "Kenneth": ["Ken", "Kenny"],
    "Lawrence": ["Larry", "Laurie"], "Ronald": ["Ron", "Ronnie"], "Susannah": ["Sukie"],
    "Muhammad": ["Mo"], "Mohammed": ["Mo"], "Oliver": ["Ollie"], "Isabella": ["Bella", "Izzy"],
    "Alfred": ["Alfie"], "Theodore": ["Teddy", "Theo"], "Harriet": ["Hattie"], "Florence": ["Flo", "Florrie"],
}
OCR_LETTERS = [("rn", "m"), ("m", "rn"), ("cl", "d"), ("d", "cl"), ("li", "h"), ("h", "li"), ("ii", "u"),
               ("e", "c"), ("c", "e"), ("o", "a"), ("a", "o"), ("l", "I"), ("I", "l"), ("n", "h"), ("u", "v"),
               ("vv", "w"), ("w", "vv"), ("f", "t")]
OCR_DIGITS = {"1": "7", "7": "1", "0": "8", "8": "0", "3": "8", "5": "6", "6": "5", "9": "4", "4": "9"}
KEYBOARD = {c: n for c, n in zip("qwertyuiopasdfghjklzxcvbnm", "wrtyuiopoasdfghjkklxcvbnmn", strict=True)}
STREETS = ["Acacia", "Albert", "Beech", "Birch", "Brook", "Cedar", "Church", "Clarendon", "Claremont", "Cromwell",
           "Dale", "Derby", "Elm", "Fairfield", "Gordon", "Grange", "Granby", "Hall", "Hawthorn", "Heywood",
           "Highfield", "Hollin", "Kingsway", "Lansdowne", "Lime", "Linden", "Manor", "Maple", "Market", "Mill",
           "Moss", "Nelson", "Oak", "Oldham", "Orchard", "Park", "Princess", "Queen", "Rectory", "Regent",
           "Rochdale", "Rose", "Rowan", "School", "Shaw", "Springfield", "Stanley", "Station", "Stockport",
           "Victoria", "Wellington", "Westbourne", "Willow", "Windsor", "Wood", "York"]
SUFFIXES = ["Road", "Street", "Avenue", "Lane", "Close", "Drive", "Grove", "Terrace", "Crescent", "Place"]
ABBREVIATIONS = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Lane": "Ln", "Drive": "Dr", "Close": "Cl",
                 "Terrace": "Terr", "Crescent": "Cres", "Place": "Pl", "Grove": "Gr"}


@dataclass(frozen=True)
class HarshRates:
    """Per-record probabilities (each record is corrupted independently of the others)."""

    extra_records: tuple[float, float] = (0.45, 0.15)  # P(a second record), P(a third | a second)
    # For comparison, the generator records a name typo on ~1.5-2.5% of names, swaps names on 1-2%
    # of records, leaves a name out on 1.5-3% and misrecords ~1% of dates of birth. Every record
    # here is corrupted independently from the truth, so a pair carries about twice these rates.
    name_typo: float = 0.05          # per name: keyboard slip (transposition, deletion, doubled, neighbour)
    name_ocr: float = 0.04           # per name: a scanned form misread (rn/m, cl/d, li/h, e/c, ...)
    nickname: float = 0.08           # given name written informally (own list)
    names_swapped: float = 0.03
    new_family_name: float = 0.02    # marriage or a double-barrelled name
    given_missing: float = 0.03
    family_missing: float = 0.02
    dob_missing: float = 0.04
    dob_error: float = 0.06          # day/month transposed, a misread digit, year or day off by one
    moved: float = 0.12              # a later record: new postcode and address ...
    moved_locally: float = 0.6       # ... in the same postcode district (most moves are short)
    postcode_missing: float = 0.04
    address_recorded: float = 0.75
    address_typo: float = 0.08
    address_abbreviated: float = 0.35  # "Rd" for "Road"
    sex_missing: float = 0.03
    sex_wrong: float = 0.01


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    i = int(rng.integers(1, len(word)))
    kind = rng.integers(4)
    if kind == 0:  # adjacent transposition
        i = min(i, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:  # deletion
        return word[:i] + word[i + 1:]
    if kind == 2:  # doubled letter
        return word[:i] + word[i] + word[i:]
    c = word[i].lower()  # keyboard neighbour
    return word[:i] + (KEYBOARD.get(c, c) if word[i].islower() else KEYBOARD.get(c, c).upper()) + word[i + 1:]


def _ocr(rng: np.random.Generator, word: str) -> str:
    options = [(a, b) for a, b in OCR_LETTERS if a in word[1:]]
    if not options:
        return _typo(rng, word)
    a, b = options[int(rng.integers(len(options)))]
    at = word.index(a, 1)
    return word[:at] + b + word[at + len(a):]


def _dob_error(rng: np.random.Generator, iso: str) -> str | None:
    y, m, d = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
    kind = rng.integers(4)
    if kind == 0 and d <= 12 and d != m:  # American order on a form: day and month transposed
        m, d = d, m
    elif kind == 1:  # a misread digit of the year or day
        digits = list(f"{y:04d}{d:02d}")
        pos = [i for i in (2, 3, 4, 5) if digits[i] in OCR_DIGITS]
        if pos:
            i = pos[int(rng.integers(len(pos)))]
            digits[i] = OCR_DIGITS[digits[i]]
        y, d = int("".join(digits[:4])), int("".join(digits[4:]))
    elif kind == 2:
        y += int(rng.choice([-1, 1]))
    else:
        d += int(rng.choice([-1, 1]))
    try:
        return pd.Timestamp(year=y, month=m, day=d).date().isoformat()
    except ValueError:
        return None  # the form held an impossible date: the partner leaves it empty


def _address(rng: np.random.Generator) -> tuple[str, str]:
    number = str(int(rng.integers(1, 220)))
    street = f"{STREETS[int(rng.integers(len(STREETS)))]} {SUFFIXES[int(rng.integers(len(SUFFIXES)))]}"
    return number, street


def harsh_records(persons: pd.DataFrame, seed: int, rates: HarshRates = HarshRates()) -> pd.DataFrame:
    """One to three re-recorded referral identities per person.

    ``persons``: ``person_id, first_name, last_name, date_of_birth (ISO), sex, postcode``. Returns
    ``person_id, copy, first_name, last_name, date_of_birth, sex, postcode, address_line,
    house_number`` (None where not recorded).
    """
    rng = np.random.default_rng(seed)
    people = persons.reset_index(drop=True)
    n = len(people)
    homes = [_address(rng) for _ in range(n)]
    pool_postcodes = people["postcode"].dropna().to_numpy(dtype=object)
    pool_surnames = people["last_name"].dropna().to_numpy(dtype=object)
    known = people["postcode"].dropna()
    by_district = {d: g.to_numpy(dtype=object) for d, g in known.groupby(known.str.split(" ").str[0])}
    copies = 1 + (rng.random(n) < rates.extra_records[0]).astype(int)
    copies += (copies == 2) & (rng.random(n) < rates.extra_records[1])
    rows = []
    for i in range(n):
        person = people.iloc[i]
        for copy in range(int(copies[i])):
            given, family = person["first_name"], person["last_name"]
            if given in NICKNAMES and rng.random() < rates.nickname:
                options = NICKNAMES[given]
                given = options[int(rng.integers(len(options)))]
            if rng.random() < rates.new_family_name:
                other = pool_surnames[int(rng.integers(len(pool_surnames)))]
                family = f"{family}-{other}" if rng.random() < 0.5 else other
            for which in ("given", "family"):
                value = given if which == "given" else family
                if rng.random() < rates.name_typo:
                    value = _typo(rng, value)
                if rng.random() < rates.name_ocr:
                    value = _ocr(rng, value)
                given, family = (value, family) if which == "given" else (given, value)
            if rng.random() < rates.names_swapped:
                given, family = family, given
            if rng.random() < rates.given_missing:
                given = None
            if rng.random() < rates.family_missing:
                family = None
            dob = person["date_of_birth"]
            if rng.random() < rates.dob_error:
                dob = _dob_error(rng, dob)
            if rng.random() < rates.dob_missing:
                dob = None
            postcode, (number, street) = person["postcode"], homes[i]
            if copy > 0 and rng.random() < rates.moved:
                nearby = by_district.get(str(postcode).split(" ")[0]) if pd.notna(postcode) else None
                pool = nearby if nearby is not None and rng.random() < rates.moved_locally else pool_postcodes
                postcode = pool[int(rng.integers(len(pool)))]
                number, street = _address(rng)
            if rng.random() < rates.postcode_missing:
                postcode = None
            address, house = None, None
            if rng.random() < rates.address_recorded:
                if rng.random() < rates.address_abbreviated:
                    name, suffix = street.rsplit(" ", 1)
                    street = f"{name} {ABBREVIATIONS.get(suffix, suffix)}"
                if rng.random() < rates.address_typo:
                    street = _typo(rng, street)
                if rng.random() < 0.5:
                    address, house = f"{number} {street}", None
                else:
                    address, house = street, number
            sex = person["sex"]
            if rng.random() < rates.sex_wrong:
                sex = {"F": "M", "M": "F"}.get(sex, sex)
            if rng.random() < rates.sex_missing:
                sex = None
            rows.append((person["person_id"], copy, given, family, dob, sex, postcode, address, house))
    return pd.DataFrame(rows, columns=["person_id", "copy", "first_name", "last_name", "date_of_birth", "sex",
                                       "postcode", "address_line", "house_number"])
