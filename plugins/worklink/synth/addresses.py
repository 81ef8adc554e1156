"""First address lines for generated referrals: where a person lives, and how each partner writes it.

A person's home at a postcode (house number and street) is derived from a hash of the person id
and the postcode, not drawn from a random stream, so adding these columns changes no byte of any
other generated file and the same person at the same postcode always has the same home (a person
who moved has another). How often a partner records the address, whether the house number has a
box of its own, and whether street words are abbreviated ("Rd"), are per partner; each choice
per referral is again a hash (of the referral key), so it is stable and independent of row order.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

STREETS = ["Alder", "Ashton", "Barlow", "Beechwood", "Bridge", "Brunswick", "Burton", "Carlton", "Chapel",
           "Chatsworth", "Chorlton", "Clifton", "Coronation", "Crossley", "Delamere", "Devonshire", "Egerton",
           "Fern", "Gorton", "Grosvenor", "Hampden", "Harrow", "Heaton", "Hulme", "Kenyon", "Lever", "Lindow",
           "Marlborough", "Mayfield", "Milton", "Moorside", "Mossley", "Norfolk", "Oxford", "Peel", "Platt",
           "Primrose", "Raglan", "Redbank", "Ridgeway", "Rusholme", "Sandringham", "Seymour", "Shakespeare",
           "Slade", "Southern", "Tatton", "Thornton", "Trafalgar", "Union", "Upper Brook", "Walton", "Waverley",
           "Whalley", "Whitworth", "Wilbraham", "Withington", "Worsley", "Yew Tree", "Audley", "Revidge",
           "Preston New", "Bolton", "Shear Brow", "Whalley Range", "Infirmary", "Cherry Tree", "Livesey Branch"]
SUFFIXES = ["Road", "Street", "Avenue", "Lane", "Close", "Drive", "Grove", "Terrace", "Crescent", "Walk"]
SHORT = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Lane": "Ln", "Close": "Cl", "Drive": "Dr", "Grove": "Gr",
         "Terrace": "Ter", "Crescent": "Cres", "Walk": "Wlk"}
# (share of referrals with an address, house number in a box of its own, share abbreviated): the
# ICB's here; each VCSE partner's in its partner.yml (synthetic.address)
Recording = tuple[float, bool, float]
ICB_RECORDING: Recording = (0.9, False, 0.0)


def _hash(values: list[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(v.encode()) for v in values), dtype=np.uint64, count=len(values))


def homes(person_ids: np.ndarray, postcodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(house number, street) of each person at that postcode; None where the postcode is unknown."""
    keys = [f"{p}|{c}" for p, c in zip(person_ids, postcodes, strict=True)]
    h = _hash(keys)
    number = (h % 240 + 1).astype(int).astype(str).astype(object)
    street = np.array([f"{STREETS[int(x // 240 % len(STREETS))]} {SUFFIXES[int(x // 100_000 % len(SUFFIXES))]}"
                       for x in h], dtype=object)
    unknown = pd.isna(postcodes)
    number[unknown] = None
    street[unknown] = None
    return number, street


def referral_address(recording: Recording, record_keys: list[str], person_ids: np.ndarray,
                     postcodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(address_line, house_number) as a partner with these ``recording`` habits writes them for each
    referral (None: not recorded)."""
    share, own_box, abbreviated = recording
    number, street = homes(person_ids, postcodes)
    h = _hash([f"address|{k}" for k in record_keys])
    recorded = (h % 1000) < share * 1000
    short = ((h // 1000) % 1000) < abbreviated * 1000
    street = np.array([(s.rsplit(" ", 1)[0] + " " + SHORT[s.rsplit(" ", 1)[1]]) if s is not None and a else s
                       for s, a in zip(street, short, strict=True)], dtype=object)
    if own_box:
        line, house = street, number
    else:
        line = np.array([f"{n} {s}" if s is not None else None for n, s in zip(number, street, strict=True)],
                        dtype=object)
        house = np.full(len(line), None, dtype=object)
    keep = recorded & pd.notna(line)
    return np.where(keep, line, None), np.where(keep & pd.notna(house), house, None)
