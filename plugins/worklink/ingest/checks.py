"""Row-level checks: normalise and type a file's rows, run its GX suite and our own rules.

Great Expectations runs the declarative part of the contract (required, code lists,
ranges, identifier formats) with ``result_format=COMPLETE`` so every failing row
index comes back. Rules GX cannot express on a dataframe without a custom metric
(NHS number modulus 11, dates against the submission period, date order,
duplicate rows) run here as vectorised pandas. Both produce the same issue records.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from worklink.contracts import Contract, Privacy, programme_start
from worklink.distinct_values import DistinctColumn, first_rows
from worklink.identifiers import (
    normalise_nhs_number_series,
    normalise_nino_series,
    normalise_postcode_series,
    valid_nhs_number_mask,
)
from worklink.ingest.reader import ROW
from worklink.rules import RULES

ISSUE_COLUMNS = [ROW, "column_name", "rule_id", "severity", "message"]

# The engineers' wording of each row rule (worklink.rules).
MESSAGES = {r.id: r.message for r in RULES.values() if r.message}


@dataclass
class CheckedFrame:
    data: pd.DataFrame  # normalised text, canonical columns + _row
    issues: pd.DataFrame  # ISSUE_COLUMNS


def _issue_frame(rows: np.ndarray | pd.Series, column: str, rule_id: str, contract: Contract,
                 detail: str | None = None, severity: str | None = None, suffix: str = "") -> pd.DataFrame:
    rows = np.asarray(rows)
    label = contract.column(column).source if column in contract.column_names else column
    text = f"'{label}' {detail or MESSAGES.get(rule_id, rule_id)}{suffix}"
    return pd.DataFrame(
        {
            ROW: rows.astype("int64"),
            "column_name": column,
            "rule_id": rule_id,
            "severity": severity or str(contract.severity_of(rule_id)),
            "message": text,
        }
    )


# How an optional identifier that is not valid is reported (see prepare).
_LEFT_OUT = {"severity": "warn", "suffix": "; the value was left out and the rest of the row loaded"}
# The identifier formats of worklink.identifiers, the ones linkage reads them with.
IDENTIFIER_FORMATS = {
    rule.id: (lambda v, fmt=rule.identifier: fmt.valid_mask(v).to_numpy(dtype=bool))
    for rule in RULES.values() if rule.identifier
}


def _period_end(period: str | None) -> pd.Timestamp | None:
    if not period:
        return None
    start = pd.Timestamp(f"{period}-01")
    return start + pd.offsets.MonthEnd(0)


def clean_values(values: pd.Series) -> pd.Series:
    """Cells as the partner meant them: surrounding spaces dropped, blank means missing."""
    return values.str.strip().replace("", pd.NA)


def normalise_values(values: pd.Series, column) -> pd.Series:
    """Canonical spellings: identifiers upper-case without spaces, codes lower-case, Y/N flags."""
    # Identifiers: the normal forms of worklink.identifiers, the ones linkage reads them with (these
    # run on a column's distinct values, so the regular expressions cost little).
    if "nhs_number" in column.rules:
        return normalise_nhs_number_series(values).astype(values.dtype)
    if "ni_number" in column.rules:
        return normalise_nino_series(values).astype(values.dtype)
    if "postcode" in column.rules:
        return pd.Series(normalise_postcode_series(values), index=values.index).astype(values.dtype)
    if column.code_list:
        return values.str.strip().str.lower()
    if column.type == "flag":
        return values.str.strip().str.upper().replace({"YES": "Y", "NO": "N", "TRUE": "Y", "FALSE": "N"})
    return values


def _parse_dates(series: pd.Series, date_format: str) -> pd.Series:
    parsed = pd.to_datetime(series, format=date_format, errors="coerce")
    if date_format != "%Y-%m-%d":
        # Spreadsheet cells arrive as ISO text whatever the partner's display format.
        iso = pd.to_datetime(series.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        parsed = parsed.fillna(iso)
    return parsed


def parse_values(values: pd.Series, column, date_format: str) -> tuple[pd.Series, str] | None:
    """Typed values (NA where a value does not parse) and the rule a failure breaks;
    None for text columns."""
    if column.type == "date":
        return _parse_dates(values, date_format), "type_date"
    if column.type in ("integer", "decimal"):
        parsed = pd.to_numeric(values, errors="coerce")
        if column.type == "integer":
            parsed = parsed.mask(parsed.notna() & (parsed != np.floor(parsed)))
        return parsed, f"type_{column.type}"
    return None


@lru_cache(maxsize=1)
def _gx_batch_definition():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False}
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    source = context.data_sources.add_pandas("landed_files")
    asset = source.add_dataframe_asset(name="landed_file")
    return asset.add_batch_definition_whole_dataframe("whole_file")


# Expectations whose verdict on a row depends on that row's value alone: these run once per
# distinct value (see distinct_values). Anything else in a suite runs on the whole file.
PER_VALUE_EXPECTATIONS = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_value_lengths_to_be_between",
}


def _domain_frame(prepared: PreparedFrame) -> pd.DataFrame:
    """Each column's distinct (typed) values, padded to one length by repeating its last value.

    Padding repeats a value the column really holds, so a per-value expectation fails on the
    domain frame exactly when it fails on some row of the file.
    """
    longest = max((len(c.values) for c in prepared.columns.values()), default=0)
    frame = {}
    for name, column in prepared.columns.items():
        values = prepared.typed_values.get(name, column.values)
        take = np.minimum(np.arange(longest), max(len(values) - 1, 0))
        frame[name] = values.take(take).reset_index(drop=True) if len(values) else pd.Series([], dtype=values.dtype)
    return pd.DataFrame(frame)


def run_gx_suite(prepared: PreparedFrame, suite, contract: Contract, whole_file: bool = False
                 ) -> list[pd.DataFrame]:
    """Validate with GX; return one issue frame per failed expectation (all failing rows).

    Per-value expectations run on the file's distinct values (``_domain_frame``) and their
    failures are mapped back to every row holding a failing value; GX sees a few thousand
    values instead of a million rows. A cheap pass (BOOLEAN_ONLY) first; only expectations
    that fail are re-run with COMPLETE results to get the failing values. ``whole_file``
    validates every row instead (same answer, slower; tests compare the two).
    """
    import great_expectations as gx

    # `mostly` < 1 judges a share of rows, which distinct values cannot answer
    per_value = not whole_file and all(
        e.expectation_type in PER_VALUE_EXPECTATIONS and getattr(e, "mostly", 1) in (None, 1)
        for e in suite.expectations)
    frame = _domain_frame(prepared) if per_value else prepared.typed
    batch = _gx_batch_definition().get_batch(batch_parameters={"dataframe": frame})
    quick = batch.validate(suite, result_format={"result_format": "BOOLEAN_ONLY"})
    failed = [r.expectation_config for r in quick.results if not r.success]
    if not failed:
        return []
    retry = gx.ExpectationSuite(name=f"{suite.name}__failed", expectations=[c.to_json_dict() for c in failed])
    result = batch.validate(retry, result_format={"result_format": "COMPLETE"})
    issues = []
    row_numbers = prepared.data[ROW].to_numpy()
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        column = config.kwargs["column"]
        rule_id = (config.meta or {}).get("rule_id", config.type)
        index = np.asarray(res.result.get("unexpected_index_list") or [], dtype=np.int64)
        if not len(index):
            continue
        if per_value:
            distinct = prepared.columns[column]
            value_mask = np.zeros(len(distinct.values), dtype=bool)
            value_mask[np.minimum(index, len(distinct.values) - 1)] = True
            rows = row_numbers[distinct.rows(value_mask)]
        else:
            rows = prepared.data.loc[index, ROW].to_numpy()
        detail = None
        if rule_id == "code_list":
            allowed = ", ".join(config.kwargs["value_set"])
            detail = f"is not in the code list (allowed: {allowed})"
        elif rule_id == "range":
            detail = f"is outside {config.kwargs.get('min_value')}..{config.kwargs.get('max_value')}"
        issues.append(_issue_frame(rows, column, rule_id, contract, detail))
    return issues


def _instrument_item_issues(data: pd.DataFrame, typed: pd.DataFrame, contract: Contract) -> list[pd.DataFrame]:
    """Each item within its instrument's range; items beyond the instrument's length left empty."""
    spec = contract.instrument_items
    instrument = data[spec.instrument_column].str.lower()
    items = [c for c in contract.column_names if c.startswith(spec.item_prefix)]
    issues = []
    for name, limits in spec.instruments.items():
        rows = instrument == name.lower()
        if not rows.any():
            continue
        for position, column in enumerate(items, start=1):
            values = typed.loc[rows, column]
            if position <= limits.items:
                bad = values.notna() & ((values < limits.min) | (values > limits.max))
                detail = f"must be {limits.min:g} to {limits.max:g} for {name.upper()}"
                missing = values.isna() & data.loc[rows, column].isna()
                if missing.any():
                    issues.append(_issue_frame(data.loc[missing[missing].index, ROW], column, "required",
                                               contract, f"is required for {name.upper()} (item {position})"))
            else:
                bad = values.notna()
                detail = f"must be empty: {name.upper()} has {limits.items} items"
            if bad.any():
                issues.append(_issue_frame(data.loc[bad[bad].index, ROW], column, "range", contract, detail))
    return issues


@dataclass
class PreparedFrame:
    data: pd.DataFrame  # normalised text as it will be stored (ISO dates; categoricals), plus _row
    typed: pd.DataFrame  # parsed values for range/date rules (text columns as in data)
    type_issues: list[pd.DataFrame]
    columns: dict[str, DistinctColumn]  # per column: distinct stored values and each row's value
    typed_values: dict[str, pd.Series]  # date/number columns: parsed distinct values, aligned


def prepare(frame: pd.DataFrame, contract: Contract) -> PreparedFrame:
    """Clean, normalise and type a file's rows: what will be stored, whatever the checks say.

    All of it runs on each column's distinct values, then is spread back to the rows.
    """
    row_numbers = frame[ROW].to_numpy()
    data = {ROW: frame[ROW].reset_index(drop=True)}
    typed = dict(data)
    columns: dict[str, DistinctColumn] = {}
    typed_values: dict[str, pd.Series] = {}
    issues: list[pd.DataFrame] = []
    for column in contract.columns:
        distinct = DistinctColumn.of(frame[column.name])
        distinct = distinct.with_values(_unstorable_cells(distinct, row_numbers, column.name, contract, issues))
        distinct = distinct.with_values(normalise_values(clean_values(distinct.values), column))
        stored = distinct.values
        # An optional identifier that is not valid is left out with a warning and the row loads:
        # its other identifiers (name, postcode...) can still link it. Required ones hold the row.
        keep_row = column.privacy == Privacy.direct_identifier and not column.required
        if keep_row:
            for rule, valid in IDENTIFIER_FORMATS.items():
                if rule in column.rules:
                    bad = (stored.notna() & ~valid(stored)).to_numpy(dtype=bool)
                    if bad.any():
                        issues.append(_issue_frame(row_numbers[distinct.rows(bad)], column.name, rule, contract,
                                                   **_LEFT_OUT))
                        stored = stored.mask(bad)
                        distinct = DistinctColumn(distinct.codes, stored)
        parsed = parse_values(stored, column, contract.file.date_format)
        if parsed is not None:
            values, rule = parsed
            bad = stored.notna() & values.isna()
            if bad.any():
                issues.append(_issue_frame(row_numbers[distinct.rows(bad)], column.name, rule, contract,
                                           **(_LEFT_OUT if keep_row else {})))
                if keep_row:
                    stored = stored.mask(bad)
                    distinct = DistinctColumn(distinct.codes, stored)
            if column.type == "date":  # raw keeps ISO dates whatever the partner's format
                stored = values.dt.strftime("%Y-%m-%d").where(values.notna(), stored)
                distinct = DistinctColumn(distinct.codes, stored)
            typed_values[column.name] = values
            typed[column.name] = distinct.expand(values)
        columns[column.name] = distinct
        data[column.name] = distinct.as_categorical()
        typed.setdefault(column.name, data[column.name])
    return PreparedFrame(pd.DataFrame(data), pd.DataFrame(typed), issues, columns, typed_values)


def _unstorable_cells(distinct: DistinctColumn, row_numbers: np.ndarray, column: str, contract: Contract,
                      issues: list[pd.DataFrame]) -> pd.Series:
    """Cells no database text can hold (NUL) or longer than the contract allows hold their rows
    back; the NUL is dropped from the stored copy so the bulk write of the other rows succeeds
    (the held row is deleted before commit)."""
    values = distinct.values
    if values.isna().all():
        return values
    nul = values.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
    if nul.any():
        issues.append(_issue_frame(row_numbers[distinct.rows(nul)], column, "control_character", contract))
        values = values.str.replace("\x00", "", regex=False)
    limit = contract.file.max_cell_chars
    long = (values.str.len() > limit).fillna(False).to_numpy(dtype=bool)
    if long.any():
        issues.append(_issue_frame(row_numbers[distinct.rows(long)], column, "cell_too_long", contract,
                                   f"is longer than {limit:,} characters"))
    return values


def cross_feed_order_issues(prepared: PreparedFrame, contract: Contract, lookup) -> pd.DataFrame | None:
    """Dates that precede the same record's date in another feed (e.g. a start before its referral).

    ``lookup(table, date_column, record_ids)`` returns a Series record id -> earliest date
    among current loaded rows; records it does not know are not judged.
    """
    issues = []
    ids = prepared.data[contract.record_id_column].astype("str") if contract.record_id_column else None
    for rule in contract.cross_feed_order:
        earlier = lookup(rule.table, rule.date, ids.dropna().unique().tolist())
        if earlier.empty:
            continue
        reference = pd.to_datetime(ids.map(earlier), errors="coerce")
        for column in rule.columns:
            bad = prepared.typed[column] < reference
            if bad.any():
                issues.append(_issue_frame(
                    prepared.data.loc[bad, ROW], column, "date_order", contract,
                    f"is before the {rule.date.replace('_', ' ')} already received for this record"))
    return pd.concat(issues, ignore_index=True) if issues else None


def _duplicate_rows(prepared: PreparedFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Positions of rows that repeat an earlier row's stored values exactly, and of that row.

    A 64-bit hash per row is combined from each column's distinct-value hashes (cheap: one
    gather per column), rows with an earlier equal hash are candidates, and candidates are
    confirmed by comparing the values themselves, so a hash collision never quarantines a row.
    """
    if not prepared.columns or len(prepared.data) < 2:
        return None
    row_hash = np.zeros(len(prepared.data), dtype=np.uint64)
    for column in prepared.columns.values():
        value_hash = pd.util.hash_array(column.values.to_numpy(dtype=object, na_value=None), categorize=False)
        row_hash = row_hash * np.uint64(1_000_003) ^ value_hash[column.codes]
    candidate = np.flatnonzero(pd.Series(row_hash).duplicated().to_numpy())
    if not len(candidate):
        return None
    # the first row of each candidate's hash, found among the rows that share one (few, usually)
    sharing = np.flatnonzero(np.isin(row_hash, row_hash[candidate]))
    codes, _ = pd.factorize(row_hash[sharing])
    first = sharing[first_rows(codes)][codes[np.searchsorted(sharing, candidate)]]
    names = list(prepared.columns)
    later = prepared.data[names].iloc[candidate].reset_index(drop=True)
    earlier = prepared.data[names].iloc[first].reset_index(drop=True)
    same = ((later == earlier).fillna(False) | (later.isna() & earlier.isna())).all(axis=1).to_numpy()
    if not same.any():
        return None
    return candidate[same], first[same]


def validate(prepared: PreparedFrame, contract: Contract, suite, period: str | None) -> CheckedFrame:
    """Every row rule: the GX suite, then the rules GX cannot express on a dataframe.

    Rules on one value run on the distinct values; rules across columns on the rows.
    """
    data, typed = prepared.data, prepared.typed
    row_numbers = data[ROW].to_numpy()
    issues = list(prepared.type_issues)
    issues += run_gx_suite(prepared, suite, contract)

    def value_rule(column: str, value_mask, rule_id: str, detail: str | None = None) -> None:
        rows = prepared.columns[column].rows(value_mask)
        if rows.any():
            issues.append(_issue_frame(row_numbers[rows], column, rule_id, contract, detail))

    end = _period_end(period)
    for column in contract.columns:
        values = prepared.columns[column.name].values
        if "nhs_number" in column.rules:
            present = values.notna() & values.str.fullmatch(r"\d{10}")
            value_rule(column.name, present & ~valid_nhs_number_mask(values.where(present, "0000000000")),
                       "nhs_number")
        if column.type == "date":
            dates = prepared.typed_values[column.name]
            if "not_future" in column.rules and end is not None:
                value_rule(column.name, dates > end, "not_future",
                           f"is after the end of the submission period ({end.date().isoformat()})")
            if "not_before_programme" in column.rules:
                start = pd.Timestamp(programme_start(contract.partner.programme))
                value_rule(column.name, dates < start, "not_before_programme",
                           f"is before the programme began ({start.date().isoformat()})")
        if column.recommended and not column.required:
            value_rule(column.name, values.isna(), "optional_missing")

    if contract.instrument_items:
        issues += _instrument_item_issues(data, typed, contract)

    for earlier, later in contract.date_order:
        bad = typed[later] < typed[earlier]
        if bad.any():
            issues.append(_issue_frame(
                data.loc[bad, ROW], later, "date_order", contract,
                f"is before '{contract.column(earlier).source}'"))

    duplicates = _duplicate_rows(prepared)
    if duplicates is not None:
        repeat, first = duplicates
        issues.append(pd.DataFrame({
            ROW: row_numbers[repeat].astype("int64"),
            "column_name": contract.record_id_column or contract.column_names[0],
            "rule_id": "duplicate_row",
            "severity": str(contract.severity_of("duplicate_row")),
            "message": [f"row repeats row {r} exactly" for r in row_numbers[first]],
        }))

    all_issues = (
        pd.concat(issues, ignore_index=True) if issues else pd.DataFrame(columns=ISSUE_COLUMNS)
    )
    # A value left out as invalid is reported as invalid, not also as "empty".
    left_out = all_issues["message"].str.endswith(_LEFT_OUT["suffix"])
    if left_out.any():
        cells = pd.MultiIndex.from_frame(all_issues.loc[left_out, [ROW, "column_name"]])
        empty_too = (all_issues["rule_id"] == "optional_missing") & pd.MultiIndex.from_frame(
            all_issues[[ROW, "column_name"]]).isin(cells)
        all_issues = all_issues.loc[~empty_too]
    return CheckedFrame(data=data, issues=all_issues.sort_values([ROW, "column_name"], kind="stable"))
