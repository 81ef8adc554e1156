"""Deterministic links: a shared valid identifier, corroborated by an equal date of birth.

Records are grouped by (identifier, date of birth); every record in a group links to the group's
first record (a star: n-1 edges instead of n(n-1)/2). A shared identifier with a different or
missing date of birth is not enough here; such pairs are left to the probabilistic model, where
the identifier agreement is strong evidence but names and dates still count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from worklink.linkage.cluster import empty_edges

IDENTIFIER_COLUMNS = {
    "nhs_number": ("nhs_number", "deterministic_nhs_number"),
    "ni_number": ("nino_stem", "deterministic_ni_number"),
}


def deterministic_edges(records: pd.DataFrame, identifiers: list[str]) -> pd.DataFrame:
    parts = []
    for identifier in identifiers:
        column, method = IDENTIFIER_COLUMNS[identifier]
        sub = records.loc[records[column].notna() & records["dob"].notna(), ["unique_id", column, "dob"]]
        if sub.empty:
            continue
        anchor = sub.groupby([column, "dob"], sort=False)["unique_id"].transform("min")
        linked = sub["unique_id"] != anchor
        parts.append(pd.DataFrame({
            "l": anchor[linked].to_numpy(dtype=np.int64),
            "r": sub.loc[linked, "unique_id"].to_numpy(dtype=np.int64),
            "method": method,
            "match_probability": 1.0,
            "match_weight": np.nan,
        }))
    return pd.concat(parts, ignore_index=True) if parts else empty_edges()
