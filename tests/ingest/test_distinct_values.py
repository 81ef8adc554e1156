"""Checks run once per distinct value and are spread back to rows: the answers must be exactly
those of checking every row (GX on the whole file, pandas' duplicated), on a generated year
with every defect type the generator injects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from worklink.contracts import load_contracts
from worklink.distinct_values import DistinctColumn, distinct_combinations
from worklink.ingest.checks import _duplicate_rows, prepare, run_gx_suite
from worklink.ingest.reader import ROW, FileRejected, read_landed_file
from worklink.quality.suites import load_suite
from worklink.settings import load_settings
from worklink.synth import generate


def test_distinct_column_round_trip_and_merging():
    series = pd.Series(["a", " a", None, "b", "a", None, ""], dtype="str")
    column = DistinctColumn.of(series)
    assert column.expand().fillna("<NA>").tolist() == series.fillna("<NA>").tolist()
    cleaned = column.with_values(column.values.str.strip().replace("", pd.NA))
    assert len(cleaned.values) == 3  # 'a' (two spellings merged), missing ('' and None merged), 'b'
    assert cleaned.expand().fillna("<NA>").tolist() == ["a", "a", "<NA>", "b", "a", "<NA>", "<NA>"]
    assert cleaned.rows(cleaned.values.isna()).tolist() == [False, False, True, False, False, True, True]


def test_distinct_combinations_number_rows_by_first_appearance():
    rng = np.random.default_rng(3)
    a = pd.Series(rng.integers(0, 4, 500).astype(str), dtype="str")
    b = pd.Series(rng.integers(0, 3, 500).astype(str), dtype="str")
    combined = distinct_combinations([DistinctColumn.of(a), DistinctColumn.of(b)])
    pairs = list(zip(a, b, strict=True))
    first_seen: dict[tuple[str, str], int] = {}
    for position, pair in enumerate(pairs):
        first_seen.setdefault(pair, position)
    assert sorted(combined.values.tolist()) == sorted(first_seen.values())
    assert [int(combined.values[c]) for c in combined.codes] == [first_seen[p] for p in pairs]


@pytest.mark.parametrize("distinct_per_column", [7, 3_000_000])
def test_distinct_combinations_are_the_same_whether_or_not_the_codes_fit_one_integer(distinct_per_column):
    """Three columns of 3,000,000 possible values each cannot be numbered in one int64: folded instead."""
    rng = np.random.default_rng(5)
    columns = [DistinctColumn(rng.integers(0, 5, 2000), pd.Series(range(distinct_per_column))) for _ in range(3)]
    combined = distinct_combinations(columns)
    rows = list(zip(*(c.codes for c in columns), strict=True))
    expected, _ = pd.factorize(pd.Series([str(r) for r in rows]))
    assert combined.codes.tolist() == expected.tolist()


@pytest.fixture(scope="module")
def defective_year(tmp_path_factory):
    root = tmp_path_factory.mktemp("distinct-year")
    generate(root, seed=23, participants=400, defect_rate=0.03)
    return root


def _issue_set(frames: list[pd.DataFrame]) -> set[tuple]:
    if not frames:
        return set()
    issues = pd.concat(frames, ignore_index=True)
    return set(zip(issues[ROW], issues["column_name"], issues["rule_id"], issues["message"], strict=True))


def test_per_value_validation_equals_whole_file_validation(defective_year):
    expectations = load_settings().expectations_dir
    compared = failing_files = files_with_duplicates = 0
    for contract in load_contracts():
        suite = load_suite(contract, expectations)
        folder = defective_year / "landing" / contract.partner.id / contract.feed
        for path in sorted(folder.glob("*")) if folder.exists() else []:
            try:
                prepared = prepare(read_landed_file(path, contract), contract)
            except FileRejected:
                continue
            per_value = _issue_set(run_gx_suite(prepared, suite, contract))
            whole = _issue_set(run_gx_suite(prepared, suite, contract, whole_file=True))
            assert per_value == whole, path.name
            compared += 1
            failing_files += bool(whole)

            found = _duplicate_rows(prepared)
            expected = prepared.data[contract.column_names].duplicated(keep="first").to_numpy()
            assert (np.flatnonzero(expected).tolist() == (found[0].tolist() if found else [])), path.name
            files_with_duplicates += bool(expected.any())
    # the comparison saw real failures and duplicates, not only clean files
    assert compared > 50 and failing_files >= 5 and files_with_duplicates >= 1


def test_an_expectation_on_a_share_of_rows_is_judged_on_every_row():
    import great_expectations as gx

    contract = next(c for c in load_contracts() if c.key == "dwp__benefits")
    rows = pd.DataFrame({name: pd.Series(["x"] * 100, dtype="str") for name in contract.column_names})
    rows["surname"] = pd.Series(["SMITH"] * 95 + [None] * 5, dtype="str")  # 95% filled
    rows.insert(0, ROW, range(1, 101))
    prepared = prepare(rows, contract)
    # on distinct values the column is half empty ('SMITH', missing): only whole rows say 95%
    suite = gx.ExpectationSuite(name="share", expectations=[
        gx.expectations.ExpectColumnValuesToNotBeNull(column="surname", mostly=0.9, meta={"rule_id": "required"})])
    assert run_gx_suite(prepared, suite, contract) == []
    strict = gx.ExpectationSuite(name="all", expectations=[
        gx.expectations.ExpectColumnValuesToNotBeNull(column="surname", meta={"rule_id": "required"})])
    assert sorted(_issue_set(run_gx_suite(prepared, strict, contract)))[0][0] == 96
