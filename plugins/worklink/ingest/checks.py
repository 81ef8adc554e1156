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

from worklink.contracts import PROGRAMME_START, Contract
from worklink.identifiers import valid_nhs_number_mask
from worklink.ingest.reader import ROW

ISSUE_COLUMNS = [ROW, "column_name", "rule_id", "severity", "message"]

MESSAGES = {
    "required": "is required but empty",
    "code_list": "is not in the code list",
    "type_flag": "must be Y or N",
    "range": "is out of range",
    "nhs_number": "is not a valid NHS number (10 digits passing the modulus 11 check)",
    "ni_number": "is not a valid National Insurance number (temporary TN numbers are not accepted)",
    "postcode": "is not a valid UK postcode",
    "type_date": "is not a date in the agreed format",
    "type_integer": "is not a whole number",
    "type_decimal": "is not a number",
    "not_future": "is after the end of the submission period",
    "not_before_programme": "is before the programme began",
    "date_order": "is earlier than a date that must come before it",
    "duplicate_row": "repeats an earlier row of the same file exactly",
    "optional_missing": "is empty (optional, but please complete it)",
}


@dataclass
class CheckedFrame:
    data: pd.DataFrame  # normalised text, canonical columns + _row
    issues: pd.DataFrame  # ISSUE_COLUMNS


def _issue_frame(rows: np.ndarray | pd.Series, column: str, rule_id: str, contract: Contract,
                 detail: str | None = None) -> pd.DataFrame:
    rows = np.asarray(rows)
    label = contract.column(column).source if column in contract.column_names else column
    text = f"'{label}' {detail or MESSAGES.get(rule_id, rule_id)}"
    return pd.DataFrame(
        {
            ROW: rows.astype("int64"),
            "column_name": column,
            "rule_id": rule_id,
            "severity": str(contract.severity_of(rule_id)),
            "message": text,
        }
    )


def _period_end(period: str | None) -> pd.Timestamp | None:
    if not period:
        return None
    start = pd.Timestamp(f"{period}-01")
    return start + pd.offsets.MonthEnd(0)


def normalise(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Canonical spellings: identifiers upper-case without spaces, codes lower-case, dates ISO."""
    out = frame.copy()
    for column in contract.columns:
        series = out[column.name]
        # Literal replaces: ~10x faster than a regex at 1M rows.
        if "nhs_number" in column.rules:
            out[column.name] = series.str.replace(" ", "", regex=False).str.replace("-", "", regex=False)
        elif "ni_number" in column.rules:
            out[column.name] = series.str.upper().str.replace(" ", "", regex=False).str.replace("-", "", regex=False)
        elif "postcode" in column.rules:
            compact = series.str.upper().str.replace(" ", "", regex=False)
            out[column.name] = compact.str.slice(0, -3) + " " + compact.str.slice(-3)
        elif column.code_list:
            out[column.name] = series.str.strip().str.lower()
        elif column.type == "flag":
            upper = series.str.strip().str.upper()
            out[column.name] = upper.replace({"YES": "Y", "NO": "N", "TRUE": "Y", "FALSE": "N"})
    return out


def _parse_dates(series: pd.Series, date_format: str) -> pd.Series:
    parsed = pd.to_datetime(series, format=date_format, errors="coerce")
    if date_format != "%Y-%m-%d":
        # Spreadsheet cells arrive as ISO text whatever the partner's display format.
        iso = pd.to_datetime(series.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        parsed = parsed.fillna(iso)
    return parsed


def typed_view(frame: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Typed copy for range/date checks plus type issues; NA where a value does not parse."""
    typed = frame.copy()
    issues: list[pd.DataFrame] = []
    for column in contract.columns:
        series = frame[column.name]
        present = series.notna()
        if column.type == "date":
            parsed = _parse_dates(series, contract.file.date_format)
            rule = "type_date"
        elif column.type in ("integer", "decimal"):
            parsed = pd.to_numeric(series, errors="coerce")
            rule = f"type_{column.type}"
            if column.type == "integer":
                fractional = parsed.notna() & (parsed != np.floor(parsed))
                parsed = parsed.mask(fractional)
        else:
            continue
        bad = present & parsed.isna()
        if bad.any():
            issues.append(_issue_frame(frame.loc[bad, ROW], column.name, rule, contract))
        typed[column.name] = parsed
    return typed, issues


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


def run_gx_suite(typed: pd.DataFrame, suite, contract: Contract) -> list[pd.DataFrame]:
    """Validate with GX; return one issue frame per failed expectation (all failing rows).

    A cheap pass (BOOLEAN_ONLY) first; only expectations that fail are re-run with
    COMPLETE results to get every failing row index. Clean files, the common case,
    skip the expensive index lists (~40% of GX time at 1M rows).
    """
    import great_expectations as gx

    batch = _gx_batch_definition().get_batch(batch_parameters={"dataframe": typed})
    quick = batch.validate(suite, result_format={"result_format": "BOOLEAN_ONLY"})
    failed = [r.expectation_config for r in quick.results if not r.success]
    if not failed:
        return []
    retry = gx.ExpectationSuite(name=f"{suite.name}__failed", expectations=[c.to_json_dict() for c in failed])
    result = batch.validate(retry, result_format={"result_format": "COMPLETE"})
    issues = []
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        column = config.kwargs["column"]
        rule_id = (config.meta or {}).get("rule_id", config.type)
        index = res.result.get("unexpected_index_list") or []
        if not index:
            continue
        rows = typed.loc[list(index), ROW]
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
    data: pd.DataFrame  # normalised text as it will be stored (ISO dates)
    typed: pd.DataFrame  # parsed values for range/date rules
    type_issues: list[pd.DataFrame]


def prepare(frame: pd.DataFrame, contract: Contract) -> PreparedFrame:
    """Normalise and type a file's rows: what will be stored, whatever the checks say."""
    data = normalise(frame, contract)
    typed, issues = typed_view(data, contract)
    for column in contract.columns:
        if column.type == "date":  # raw keeps ISO dates whatever the partner's format
            parsed = typed[column.name]
            data[column.name] = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), data[column.name])
    return PreparedFrame(data, typed, issues)


def cross_feed_order_issues(prepared: PreparedFrame, contract: Contract, lookup) -> pd.DataFrame | None:
    """Dates that precede the same record's date in another feed (e.g. a start before its referral).

    ``lookup(table, date_column, record_ids)`` returns a Series record id -> earliest date
    among current loaded rows; records it does not know are not judged.
    """
    issues = []
    ids = prepared.data[contract.record_id_column] if contract.record_id_column else None
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


def run_checks(frame: pd.DataFrame, contract: Contract, suite, period: str | None) -> CheckedFrame:
    return validate(prepare(frame, contract), contract, suite, period)


def validate(prepared: PreparedFrame, contract: Contract, suite, period: str | None) -> CheckedFrame:
    """Every row rule: the GX suite, then the rules GX cannot express on a dataframe."""
    data, typed = prepared.data, prepared.typed
    issues = list(prepared.type_issues)
    issues += run_gx_suite(typed, suite, contract)

    for column in contract.columns:
        series = data[column.name]
        if "nhs_number" in column.rules:
            present = series.notna() & series.str.fullmatch(r"\d{10}")
            bad = present & ~valid_nhs_number_mask(series.where(present, "0000000000"))
            if bad.any():
                issues.append(_issue_frame(data.loc[bad, ROW], column.name, "nhs_number", contract))
        if column.type == "date":
            values = typed[column.name]
            end = _period_end(period)
            if "not_future" in column.rules and end is not None:
                bad = values > end
                if bad.any():
                    issues.append(_issue_frame(
                        data.loc[bad, ROW], column.name, "not_future", contract,
                        f"is after the end of the submission period ({end.date().isoformat()})"))
            if "not_before_programme" in column.rules:
                start = pd.Timestamp(PROGRAMME_START[contract.partner.programme])
                bad = values < start
                if bad.any():
                    issues.append(_issue_frame(
                        data.loc[bad, ROW], column.name, "not_before_programme", contract,
                        f"is before the programme began ({start.date().isoformat()})"))

    if contract.instrument_items:
        issues += _instrument_item_issues(data, typed, contract)

    for column in contract.columns:
        if column.recommended and not column.required:
            blank = data[column.name].isna()
            if blank.any():
                issues.append(_issue_frame(data.loc[blank, ROW], column.name, "optional_missing", contract))

    for earlier, later in contract.date_order:
        bad = typed[later] < typed[earlier]
        if bad.any():
            issues.append(_issue_frame(
                data.loc[bad, ROW], later, "date_order", contract,
                f"is before '{contract.column(earlier).source}'"))

    duplicated = data.duplicated(subset=contract.column_names, keep="first")
    if duplicated.any():
        row_hash = pd.util.hash_pandas_object(data[contract.column_names], index=False)
        first_row = data[ROW].groupby(row_hash.to_numpy()).transform("min")
        dup = data.loc[duplicated]
        issues.append(pd.DataFrame({
            ROW: dup[ROW].astype("int64"),
            "column_name": contract.record_id_column or contract.column_names[0],
            "rule_id": "duplicate_row",
            "severity": str(contract.severity_of("duplicate_row")),
            "message": [f"row repeats row {r} exactly" for r in first_row[duplicated]],
        }))

    all_issues = (
        pd.concat(issues, ignore_index=True) if issues else pd.DataFrame(columns=ISSUE_COLUMNS)
    )
    return CheckedFrame(data=data, issues=all_issues.sort_values([ROW, "column_name"], kind="stable"))
