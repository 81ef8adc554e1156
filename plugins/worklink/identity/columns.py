"""Which columns of a feed are identifiers, and the keyed tokens that stand in for them.

The split every feed's rows go through: direct identifiers to ``identity.<table>``, everything
else plus the tokens to ``raw.<table>``. Ingestion writes with it; key rotation recomputes the
tokens with it.
"""

from __future__ import annotations

import pandas as pd

from worklink.contracts import Contract
from worklink.distinct_values import DistinctColumn, distinct_combinations
from worklink.identity.pseudonyms import normalise_name, tokens

FIRST_NAME_COLUMNS = ("first_name", "forename")
LAST_NAME_COLUMNS = ("last_name", "surname")


def landing_targets(contract: Contract) -> list[tuple[str, list[str]]]:
    """(schema, columns) pairs a feed loads into: raw without identifiers, identity with only them."""
    identifiers = [c.name for c in contract.columns if c.privacy == "direct_identifier"]
    attributes = [c for c in contract.column_names if c not in identifiers] + token_column_names(contract)
    return [("raw", attributes)] + ([("identity", identifiers)] if identifiers else [])

def pseudonym_columns(frame: pd.DataFrame, contract: Contract,
                      distinct: dict[str, DistinctColumn] | None = None, categorical: bool = False) -> pd.DataFrame:
    """Keyed tokens that stand in for identifiers outside the identity schema.

    ``<column>_token`` for every NHS / National Insurance number column, and
    ``name_dob_token`` when the feed has first name, last name and date of birth.
    One HMAC per distinct value (or name + date-of-birth combination), spread to the rows;
    ``distinct`` passes the columns already factorised by checks.prepare. ``categorical``
    returns pandas categoricals (no per-row copy of a 64-character token; the loader's
    Arrow writer turns them back into text).
    """
    def column(name: str) -> DistinctColumn:
        return distinct[name] if distinct and name in distinct else DistinctColumn.of(frame[name])

    def spread(values: DistinctColumn, made: pd.Series) -> pd.Series:
        return values.as_categorical(made) if categorical else values.expand(made)

    out = {}
    for spec in contract.columns:
        for kind in ("nhs_number", "ni_number"):
            if kind in spec.rules:
                values = column(spec.name)
                out[f"{spec.name}_token"] = spread(values, tokens(kind, values.values))
    name_parts = name_dob_columns(contract)
    if name_parts:
        parts = [column(c) for c in (*name_parts, "date_of_birth")]
        combination = distinct_combinations(parts)
        first_rows = combination.values.to_numpy()
        first, last, dob = (part.values.take(part.codes[first_rows]).reset_index(drop=True) for part in parts)
        key = normalise_name(first) + "|" + normalise_name(last) + "|" + dob
        out["name_dob_token"] = spread(combination, tokens("name_dob", key))
    result = pd.DataFrame(out) if out else pd.DataFrame(index=pd.RangeIndex(len(frame)))
    result.index = frame.index
    return result

def name_dob_columns(contract: Contract) -> tuple[str, str] | None:
    names = contract.column_names
    first = next((c for c in FIRST_NAME_COLUMNS if c in names), None)
    last = next((c for c in LAST_NAME_COLUMNS if c in names), None)
    return (first, last) if first and last and "date_of_birth" in names else None

def token_column_names(contract: Contract) -> list[str]:
    cols = [f"{c.name}_token" for c in contract.columns if {"nhs_number", "ni_number"} & set(c.rules)]
    return cols + (["name_dob_token"] if name_dob_columns(contract) else [])
