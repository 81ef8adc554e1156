"""A file's columns as distinct values plus, per row, which value it holds.

Landed files repeat values heavily: a DWP person-month extract holds ~60,000 people in a
million rows, flags are Y/N, codes come from short lists. Every check that depends on one
value alone (cleaning, normalising, parsing, code lists, formats, ranges, NHS number
modulus 11, pseudonym tokens) therefore runs once per distinct value and is mapped back to
rows through the codes, which gives exactly the per-row answer at a fraction of the cost.
Checks that compare columns of one row (date order, instrument items, duplicate rows)
work on the expanded columns or on the codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class DistinctColumn:
    codes: np.ndarray  # per row: position in ``values`` (missing is a value like any other)
    values: pd.Series  # the distinct values, indexed 0..k-1

    @classmethod
    def of(cls, series: pd.Series) -> DistinctColumn:
        if isinstance(series.dtype, pd.CategoricalDtype):  # already encoded (the CSV reader does it)
            codes = series.cat.codes.to_numpy().astype(np.int64)
            values = pd.Series(series.cat.categories, dtype="str")
            missing = codes < 0
            if missing.any():
                codes[missing] = len(values)
                values = pd.concat([values, pd.Series([pd.NA], dtype="str")], ignore_index=True)
            return cls(codes, values)
        codes, uniques = pd.factorize(series, use_na_sentinel=False)
        return cls(codes, pd.Series(uniques, dtype=series.dtype))

    def with_values(self, values: pd.Series) -> DistinctColumn:
        """Replace each distinct value (``values`` aligned with ``self.values``); values that
        become equal (e.g. ' Y' and 'Y' after stripping) are merged so codes stay canonical."""
        codes, uniques = pd.factorize(values.reset_index(drop=True), use_na_sentinel=False)
        return DistinctColumn(codes[self.codes], pd.Series(uniques, dtype=values.dtype))

    def expand(self, values: pd.Series | None = None) -> pd.Series:
        """Per-row series of ``values`` (default: this column's values), aligned with ``values``."""
        source = self.values if values is None else values
        return source.take(self.codes).reset_index(drop=True)

    def as_categorical(self, values: pd.Series | None = None) -> pd.Series:
        """Per-row ``values`` (default: this column's values, else aligned with them) as a pandas
        categorical: no string is copied per row (a million-row text column costs its codes, not
        its bytes); Arrow turns it back into text when writing."""
        source = self.values if values is None else values.reset_index(drop=True)
        category_codes, categories = pd.factorize(source)  # missing -> -1, as Categorical wants
        return pd.Series(pd.Categorical.from_codes(category_codes[self.codes], categories=categories))

    def rows(self, value_mask: pd.Series | np.ndarray) -> np.ndarray:
        """Boolean per row: the row's value is one of those marked in ``value_mask``."""
        mask = np.asarray(value_mask, dtype=bool)
        return mask[self.codes] if len(mask) else np.zeros(len(self.codes), dtype=bool)


def distinct_combinations(columns: list[DistinctColumn]) -> DistinctColumn:
    """One code per distinct combination of several columns' values (e.g. name + date of birth).

    ``values`` holds, per combination, the position of its first row, so callers can take
    each column's value for that combination.
    """
    if not columns:
        raise ValueError("no columns")
    # Mixed-radix number of the columns' codes, then one integer factorize. When the product of
    # the columns' distinct counts could overflow an int64, fold them in one at a time instead:
    # (codes so far, next column's code) -> one code, both below the number of rows.
    widths = [max(len(column.values), 1) for column in columns]
    codes = np.asarray(columns[0].codes, dtype=np.int64)
    fits = math.prod(widths) < 2**62
    for column, width in zip(columns[1:], widths[1:], strict=True):
        codes = codes * width + column.codes
        if not fits:
            codes, _ = pd.factorize(codes, use_na_sentinel=False)
    codes, _ = pd.factorize(codes, use_na_sentinel=False)
    return DistinctColumn(codes, pd.Series(first_rows(codes)))


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Position of each code's first row, for codes numbered in order of first appearance
    (as ``pd.factorize`` numbers them): where the running maximum of the codes steps up."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(codes > np.maximum.accumulate(np.concatenate([[-1], codes[:-1]])))
