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
# each VCSE partner's main catchment (80% of its residents): its partner.yml, synthetic.districts
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


# The most common surnames in England and Wales, most common first (rank order from published
# surname frequency lists; frequencies themselves are modelled in surname_pool).
COMMON_SURNAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson "
    "Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson Wood Turner Martin "
    "Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips "
    "Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey "
    "Collins Bell Shaw Murphy Miller Cox Richards Marshall Anderson Simpson Ellis Adams Wilkinson "
    "Foster Chapman Powell Webb Rogers Gray Mason Hunt Campbell Matthews Owen Palmer Holmes Mills "
    "Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey"
).split()
# Morphemes of English place-name and occupational surnames, combined into rare synthetic surnames
# (Ashworth, Bradshaw, Hollinrake-like): not real people's names, but shaped like them.
_SURNAME_HEADS = (
    "Ash Ain Ack Ald Alt Arn Ather Back Bag Bain Bal Bard Barn Bas Bed Bel Berk Bick Bir Black Blen "
    "Bol Bon Bot Brad Bram Brig Brock Brom Brook Bud Bur Cad Cal Cam Car Cart Chad Chap Chat Chel "
    "Chis Clay Cliff Cold Col Cop Cot Crab Crag Craw Crom Cul Dal Dar Dean Den Dew Dod Dun Eas Eck "
    "Ed Ell Elm Ems Fair Farn Fen Fil Flet Ford Fox Gar Gil Glad Gods Gold Gras Grim Hab Had Hal "
    "Ham Hard Hart Has Haw Hay Hem Hes Hey Hil Hol Hor Hud Hun Ick Ing Jep Kel Ken Kers Kil Kirk "
    "Kn Lam Lang Lat Led Lil Lin Lis Lock Long Low Lud Mal Man Mar Mel Mid Mil Mor Moss Mot Nab "
    "New Nor Not Oak Old Orm Ot Over Pad Par Pem Pen Pick Pil Pol Pres Rad Rains Rams Rath Raw Red "
    "Rid Ring Rish Rod Ros Roth Row Rud Sal Sand Scar Shel Shep Sher Shire Sid Skel Slat Small "
    "Snow Sowr Spen Stan Stock Stor Sud Sut Swin Tal Tat Ten Thorn Thur Tod Trow Tun Up Wad Wal "
    "War Wat Wes Whit Wick Wig Wil Win Wins Wood Wor Wrig Yar Yate"
).split()
_SURNAME_TAILS = (
    "ley ton worth field ford by ham well wood shaw croft hurst dale bridge stone combe bury wick "
    "thorpe more ridge land low den cliffe house gate er son ington holme brook ett en ock ington "
    "stall bottom ham man hall wright lock rake sall"
).split()


def surname_pool(common: list[str], seed: int, n_synthetic: int = 30_000) -> tuple[np.ndarray, np.ndarray]:
    """Surnames and their frequencies: a few very common names, thousands of rare ones.

    Rank r (1 = most common) has frequency proportional to 1 / (r + 8) ** 0.9 over ~31,000 names:
    the most common ~0.9% of people, the top 100 ~23%, the top 1,000 ~48%, the top 5,000 ~70%,
    and the rest in a long tail of rare names, roughly the shape of the surname distribution of
    England and Wales. Ranks: COMMON_SURNAMES in order, then ``common`` (Faker's en_GB/en_US
    surnames) shuffled, then synthetic surnames (morpheme + morpheme), shuffled.
    """
    rng = np.random.default_rng([seed, 31])
    head = list(dict.fromkeys(COMMON_SURNAMES))
    known = set(head)
    middle = sorted({n for n in common if n not in known})
    middle = [middle[i] for i in rng.permutation(len(middle))]
    known |= set(middle)
    two = {h + t for h in _SURNAME_HEADS for t in _SURNAME_TAILS}
    three = {h + m + t for h in _SURNAME_HEADS for m in ("in", "er", "ing", "en") for t in _SURNAME_TAILS}
    made = sorted(two - known)
    made = [made[i] for i in rng.permutation(len(made))]
    extra = sorted(three - two - known)
    made += [extra[i] for i in rng.permutation(len(extra))]
    made = made[:n_synthetic]
    names = np.array(head + middle + made, dtype=object)
    rank = np.arange(1, len(names) + 1)
    weight = 1.0 / (rank + 8.0) ** 0.9
    return names, weight / weight.sum()


def build_name_pools(seed: int) -> dict[str, np.ndarray]:
    """Draw deterministic en_GB name pools from Faker (a few thousand calls in total).

    ``last`` (with frequencies ``last_p``) is drawn by frequency; first names uniformly.
    """
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    female = {fake.first_name_female() for _ in range(1500)} | set(_FORMAL_FEMALE)
    male = {fake.first_name_male() for _ in range(1500)} | set(_FORMAL_MALE)
    last = {fake.last_name() for _ in range(3000)}
    fake_us = Faker("en_US")  # widen the surname pool (en_GB has ~500 surnames)
    fake_us.seed_instance(seed)
    last |= {fake_us.last_name() for _ in range(3000)}
    surnames, surname_p = surname_pool(sorted(n for n in last if _cp1252_ok(n)), seed)
    pools = {
        "F": np.array(sorted(n for n in female if _cp1252_ok(n)), dtype=object),
        "M": np.array(sorted(n for n in male if _cp1252_ok(n)), dtype=object),
        "last": surnames,
        "last_p": surname_p,
    }
    return pools


def _check_pools() -> None:
    for pool in (SOUTH_ASIAN, BLACK, CHINESE, EUROPEAN):
        for names in pool.values():
            bad = [n for n in names if not _cp1252_ok(n)]
            assert not bad, f"names not cp1252-encodable: {bad}"


_check_pools()
