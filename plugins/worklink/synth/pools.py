"""Value pools: names (Faker en_GB plus small hand-made pools), nicknames, postcode districts, ethnicity.

Faker is called only here, a few thousand times, to build pools; rows are then sampled with numpy.
All names are Windows-1252 encodable (Moss Side Carers delivers cp1252 CSVs).
"""

from __future__ import annotations

import numpy as np
from faker import Faker

# Formal first name -> nicknames used in some sources (about 50 entries).
NICKNAMES: dict[str, list[str]] = {
    "Robert": ["Bob", "Rob", "Bobby"],
    "William": ["Bill", "Will", "Billy"],
    "Elizabeth": ["Liz", "Beth", "Lizzie"],
    "Margaret": ["Maggie", "Peggy"],
    "James": ["Jim", "Jimmy"],
    "John": ["Jack", "Johnny"],
    "Richard": ["Rick", "Rich"],
    "Michael": ["Mike", "Mick"],
    "Thomas": ["Tom", "Tommy"],
    "Christopher": ["Chris"],
    "Anthony": ["Tony"],
    "Daniel": ["Dan", "Danny"],
    "David": ["Dave"],
    "Edward": ["Ed", "Ted", "Eddie"],
    "Stephen": ["Steve"],
    "Steven": ["Steve"],
    "Andrew": ["Andy"],
    "Matthew": ["Matt"],
    "Joseph": ["Joe"],
    "Benjamin": ["Ben"],
    "Samuel": ["Sam"],
    "Alexander": ["Alex"],
    "Nicholas": ["Nick"],
    "Jonathan": ["Jon"],
    "Timothy": ["Tim"],
    "Patrick": ["Pat", "Paddy"],
    "Peter": ["Pete"],
    "Charles": ["Charlie"],
    "Henry": ["Harry"],
    "Frederick": ["Fred"],
    "Philip": ["Phil"],
    "Kenneth": ["Ken"],
    "Ronald": ["Ron"],
    "Gregory": ["Greg"],
    "Muhammad": ["Mo"],
    "Katherine": ["Kate", "Kathy"],
    "Catherine": ["Cath", "Kate"],
    "Jennifer": ["Jen", "Jenny"],
    "Rebecca": ["Becky", "Becca"],
    "Victoria": ["Vicky"],
    "Susan": ["Sue"],
    "Deborah": ["Debbie"],
    "Patricia": ["Pat", "Trish"],
    "Alexandra": ["Alex"],
    "Samantha": ["Sam"],
    "Christine": ["Chris"],
    "Jessica": ["Jess"],
    "Abigail": ["Abbie"],
    "Eleanor": ["Ellie"],
    "Joanne": ["Jo"],
    "Amanda": ["Mandy"],
    "Gillian": ["Jill"],
    "Kimberley": ["Kim"],
    "Natalie": ["Nat"],
    "Josephine": ["Jo"],
}
_FORMAL_FEMALE = [
    "Elizabeth",
    "Margaret",
    "Katherine",
    "Catherine",
    "Jennifer",
    "Rebecca",
    "Victoria",
    "Susan",
    "Deborah",
    "Patricia",
    "Alexandra",
    "Samantha",
    "Christine",
    "Jessica",
    "Abigail",
    "Eleanor",
    "Joanne",
    "Amanda",
    "Gillian",
    "Kimberley",
    "Natalie",
    "Josephine",
]
_FORMAL_MALE = [k for k in NICKNAMES if k not in _FORMAL_FEMALE]

# Small culturally specific pools, sampled for matching ONS ethnic groups (with some probability).
SOUTH_ASIAN = {
    "F": [
        "Ayesha",
        "Fatima",
        "Zainab",
        "Aisha",
        "Amina",
        "Sana",
        "Nadia",
        "Saima",
        "Priya",
        "Anjali",
        "Shabana",
        "Rukhsana",
        "Farzana",
        "Nasreen",
        "Sadia",
        "Hina",
        "Meera",
        "Kiran",
    ],
    "M": [
        "Muhammad",
        "Mohammed",
        "Imran",
        "Bilal",
        "Hamza",
        "Usman",
        "Asif",
        "Tariq",
        "Zubair",
        "Adeel",
        "Raj",
        "Sanjay",
        "Vikram",
        "Arjun",
        "Shahid",
        "Kamran",
        "Abdul",
        "Rizwan",
    ],
    "last": [
        "Khan",
        "Hussain",
        "Ahmed",
        "Ali",
        "Shah",
        "Iqbal",
        "Begum",
        "Patel",
        "Mistry",
        "Rahman",
        "Uddin",
        "Miah",
        "Chowdhury",
        "Akhtar",
        "Bibi",
        "Mahmood",
        "Rashid",
        "Malik",
        "Butt",
        "Qureshi",
        "Sharma",
    ],
}
BLACK = {
    "F": [
        "Ngozi",
        "Chioma",
        "Amara",
        "Adaeze",
        "Abena",
        "Ama",
        "Fadumo",
        "Hodan",
        "Shanice",
        "Keisha",
        "Folake",
        "Yewande",
    ],
    "M": [
        "Chinedu",
        "Oluwaseun",
        "Adebayo",
        "Kwame",
        "Kofi",
        "Abdi",
        "Mohamed",
        "Tunde",
        "Emeka",
        "Tyrone",
        "Delroy",
        "Winston",
    ],
    "last": [
        "Okafor",
        "Mensah",
        "Osei",
        "Abdi",
        "Mohamed",
        "Hassan",
        "Warsame",
        "Adeyemi",
        "Okonkwo",
        "Boateng",
        "Campbell",
        "Francis",
        "Asante",
        "Nwosu",
    ],
}
CHINESE = {
    "F": ["Mei", "Xiu", "Ling", "Yan", "Hui"],
    "M": ["Wei", "Jun", "Hao", "Ming", "Jian"],
    "last": ["Chen", "Wong", "Zhang", "Liu", "Li", "Wang", "Lam", "Cheung"],
}
EUROPEAN = {  # "White: Other" and Irish; accents and apostrophes make the encoding matter
    "F": [
        "Renée",
        "Zoë",
        "Chloé",
        "Inês",
        "Agnieszka",
        "Ioana",
        "Siobhán",
        "Aoife",
        "Noémie",
        "Mária",
        "Ana",
        "Katarzyna",
    ],
    "M": [
        "José",
        "João",
        "Seán",
        "Andrei",
        "Piotr",
        "Tomasz",
        "Noël",
        "Ciarán",
        "Rubén",
        "Dušan",
        "Mateusz",
        "Gábor",
    ],
    "last": [
        "O'Brien",
        "O'Neill",
        "O'Connor",
        "D'Souza",
        "Popescu",
        "Nowak",
        "Kowalski",
        "Müller",
        "Gonçalves",
        "Ferreira",
        "Horváth",
        "Ó Súilleabháin",
        "García",
        "Ní Bhriain",
    ],
}

# ONS 2021 ethnic group categories (England and Wales, 19 groups) with approximate local shares.
ETHNICITIES = [
    "Asian, Asian British or Asian Welsh: Bangladeshi",
    "Asian, Asian British or Asian Welsh: Chinese",
    "Asian, Asian British or Asian Welsh: Indian",
    "Asian, Asian British or Asian Welsh: Pakistani",
    "Asian, Asian British or Asian Welsh: Other Asian",
    "Black, Black British, Black Welsh, Caribbean or African: African",
    "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
    "Black, Black British, Black Welsh, Caribbean or African: Other Black",
    "Mixed or Multiple ethnic groups: White and Asian",
    "Mixed or Multiple ethnic groups: White and Black African",
    "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",
    "White: English, Welsh, Scottish, Northern Irish or British",
    "White: Irish",
    "White: Gypsy or Irish Traveller",
    "White: Roma",
    "White: Other White",
    "Other ethnic group: Arab",
    "Other ethnic group: Any other ethnic group",
]
ETHNICITY_WEIGHTS = {
    "manchester": [
        2.4,
        2.7,
        2.4,
        10.5,
        2.5,
        7.4,
        2.2,
        2.3,
        1.3,
        0.9,
        1.7,
        1.3,
        48.7,
        1.8,
        0.1,
        0.3,
        5.9,
        2.9,
        2.4,
    ],
    "bwd": [0.8, 0.3, 13.0, 18.0, 0.6, 0.6, 0.1, 0.1, 0.6, 0.1, 0.3, 0.3, 61.5, 0.3, 0.1, 0.1, 2.0, 0.2, 0.9],
}
ETHNICITY_NAME_POOL = {  # ethnicity index -> (pool, probability the name comes from it)
    0: (SOUTH_ASIAN, 0.9),
    2: (SOUTH_ASIAN, 0.9),
    3: (SOUTH_ASIAN, 0.9),
    4: (SOUTH_ASIAN, 0.6),
    1: (CHINESE, 0.8),
    5: (BLACK, 0.8),
    6: (BLACK, 0.3),
    7: (BLACK, 0.5),
    13: (EUROPEAN, 0.5),
    16: (EUROPEAN, 0.7),
    17: (SOUTH_ASIAN, 0.3),
    8: (SOUTH_ASIAN, 0.3),
    9: (BLACK, 0.3),
}

# Postcode districts. Manchester City Council districts within M1-M40; BwD: BB1, BB2 (Blackburn), BB3 (Darwen).
MANCHESTER_DISTRICTS = [
    "M1",
    "M2",
    "M4",
    "M8",
    "M9",
    "M11",
    "M12",
    "M13",
    "M14",
    "M15",
    "M16",
    "M18",
    "M19",
    "M20",
    "M21",
    "M22",
    "M23",
    "M40",
]
PARTNER_DISTRICTS = {  # main catchment of each VCSE partner (80% of its residents)
    "ancoats_trust": ["M1", "M4", "M40", "M8", "M9", "M11", "M12"],
    "mossside_carers": ["M14", "M15", "M16", "M13", "M12"],
    "wythenshawe_wellbeing": ["M22", "M23", "M21", "M20", "M19", "M18"],
}
BWD_DISTRICTS = ["BB1", "BB2", "BB3"]
BWD_DISTRICT_WEIGHTS = [0.45, 0.35, 0.20]
INWARD_LETTERS = list("ABDEFGHJLNPQRSTUWXYZ")  # Royal Mail: never C I K M O V in the inward code

# GP practice codes (synthetic, ODS-like "P81nnn" Blackburn area, "P84nnn" Manchester area).
BWD_PRACTICES = [f"P81{n:03d}" for n in range(1, 61, 2)]
MANCHESTER_PRACTICES = [f"P84{n:03d}" for n in range(2, 90, 2)]


def _cp1252_ok(name: str) -> bool:
    try:
        name.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def build_name_pools(seed: int) -> dict[str, np.ndarray]:
    """Draw deterministic en_GB name pools from Faker (a few thousand calls in total)."""
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    female = {fake.first_name_female() for _ in range(1500)} | set(_FORMAL_FEMALE)
    male = {fake.first_name_male() for _ in range(1500)} | set(_FORMAL_MALE)
    last = {fake.last_name() for _ in range(3000)}
    fake_us = Faker("en_US")  # widen the surname pool (en_GB has ~500 surnames)
    fake_us.seed_instance(seed)
    last |= {fake_us.last_name() for _ in range(3000)}
    pools = {
        "F": np.array(sorted(n for n in female if _cp1252_ok(n)), dtype=object),
        "M": np.array(sorted(n for n in male if _cp1252_ok(n)), dtype=object),
        "last": np.array(sorted(n for n in last if _cp1252_ok(n)), dtype=object),
    }
    return pools


def _check_pools() -> None:
    for pool in (SOUTH_ASIAN, BLACK, CHINESE, EUROPEAN):
        for names in pool.values():
            bad = [n for n in names if not _cp1252_ok(n)]
            assert not bad, f"names not cp1252-encodable: {bad}"


_check_pools()
