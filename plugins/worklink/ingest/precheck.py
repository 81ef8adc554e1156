"""The nightly's checks on one file, without the warehouse: what `worklink check FILE` prints.

A partner (or an engineer helping one) sees before sending whether a file would be rejected and
which rows would be held back, with the row number as their spreadsheet shows it (the header rows
counted) and the column header as they wrote it. The same functions as the nightly read and check
the file (``reader.read_rows``, ``checks.prepare``, ``checks.validate`` with the feed's GX suite);
only the checks that compare with earlier deliveries (duplicates, re-sends, dates in other feeds)
need the warehouse and are left out, which the report says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from worklink.contracts import Contract
from worklink.ingest.checks import prepare, validate
from worklink.ingest.landing import LandingRefused, open_landed
from worklink.ingest.periods import period_of, period_problem
from worklink.ingest.reader import ROW, FileRejected, read_rows
from worklink.ingest.records import bad_row_issues
from worklink.quality.suites import load_suite
from worklink.rules import RULE_ADVICE, RULE_TEXT

NOT_CHECKED_HERE = ("whether the file repeats or replaces an earlier delivery, and dates that must "
                    "follow the partner's other feeds (the nightly checks these against earlier files)")


@dataclass
class RowProblem:
    spreadsheet_row: int  # as the partner's spreadsheet numbers it: header rows counted
    column: str | None  # the partner's own header
    rule: str
    severity: str  # quarantine_row (row held back) or warn (row loaded)
    text: str  # plain language, never the cell's value


@dataclass
class CheckReport:
    file: str
    partner: str
    feed: str
    verdict: str  # rejected | would_load_with_held_rows | would_load
    file_problem: tuple[str, str] | None = None  # (rule, text) when rejected
    rows: int = 0
    rows_held: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.verdict == "rejected"

    def to_dict(self) -> dict:
        return {"file": self.file, "partner": self.partner, "feed": self.feed, "verdict": self.verdict,
                "file_problem": dict(zip(("rule", "text"), self.file_problem, strict=True)) if self.file_problem else None,
                "rows": self.rows, "rows_held": self.rows_held, "not_checked_here": NOT_CHECKED_HERE,
                "problems": [p.__dict__ for p in self.problems]}


def contract_for_name(path: Path, contracts: list[Contract], partner: str | None = None,
                      feed: str | None = None) -> Contract | None:
    """The contract whose file pattern matches the name (within one partner's, or one feed's, if given)."""
    candidates = [c for c in contracts if (partner is None or c.partner.id == partner)
                  and (feed is None or c.feed == feed)]
    matching = [c for c in candidates if path.match(c.file.pattern)]
    if len(matching) == 1:
        return matching[0]
    if not matching and feed is not None and len(candidates) == 1:
        return candidates[0]  # the feed was named: check the content even if the name is off
    return None


def check_file(path: Path, contract: Contract, expectations_dir: Path,
               today: datetime | None = None) -> CheckReport:
    path = Path(path)
    report = CheckReport(file=path.name, partner=contract.partner.id, feed=contract.feed, verdict="rejected")
    labels = {c.name: c.source for c in contract.columns}
    try:
        landed = open_landed(path, path.parent, contract.file.max_file_bytes)
    except LandingRefused as refusal:
        report.file_problem = (refusal.rule, refusal.message)
        return report
    try:
        named_period = period_of(path, contract)
        if named_period is None:
            raise FileRejected("file_name_mismatch", f"{path.name}: cannot find the period (YYYY-MM) in the "
                                                     f"file name; expected a name like {contract.file.pattern}")
        problem = period_problem(named_period, today or datetime.now(UTC))
        if problem:
            raise FileRejected("period_invalid", f"{path.name}: the period {named_period} in the file name {problem}")
        rows = read_rows(landed, contract)
        prepared = prepare(rows.frame, contract)
        checked = validate(prepared, contract, load_suite(contract, expectations_dir), named_period)
    except FileRejected as rejection:
        where = "".join([f" row {rejection.row + contract.file.header_row}" if rejection.row else "",
                         f" column '{labels.get(rejection.column, rejection.column)}'" if rejection.column else ""])
        report.file_problem = (rejection.rule_id, rejection.message + (f" ({where.strip()})" if where else ""))
        return report
    finally:
        landed.discard_spool()

    issues = checked.issues
    if len(rows.bad_rows):
        issues = pd.concat([issues, bad_row_issues(rows.bad_rows, contract)], ignore_index=True)
    held = set(issues.loc[issues["severity"] == "quarantine_row", ROW]) | set(rows.bad_rows[ROW])
    report.rows = len(prepared.data) + len(set(rows.bad_rows[ROW]) - set(prepared.data[ROW]))
    report.rows_held = len(held)
    report.verdict = "would_load_with_held_rows" if held else "would_load"
    for issue in issues.sort_values([ROW, "severity"], kind="stable").to_dict("records"):
        column = issue["column_name"]
        report.problems.append(RowProblem(
            spreadsheet_row=int(issue[ROW]) + contract.file.header_row,
            column=labels.get(column, column) if isinstance(column, str) else None,
            rule=issue["rule_id"], severity=issue["severity"], text=issue["message"]))
    return report


def render(report: CheckReport, max_rows: int = 200) -> str:
    """Plain text, the file's result first, then its rows' problems."""
    lines = [f"{report.file} ({report.partner}, {report.feed})"]
    if report.rejected:
        rule, text = report.file_problem
        lines += [f"REJECTED: {RULE_TEXT.get(rule, rule)}.", f"  {text}",
                  f"  What to do: {RULE_ADVICE.get(rule, 'correct the file and check it again.')}",
                  "  Nothing in this file would be loaded."]
        return "\n".join(lines)
    if report.rows_held:
        lines.append(f"WOULD LOAD {report.rows - report.rows_held} of {report.rows} rows; "
                     f"{report.rows_held} would be held back until corrected.")
    else:
        lines.append(f"WOULD LOAD all {report.rows} rows.")
    for problem in report.problems[:max_rows]:
        effect = "row held back" if problem.severity == "quarantine_row" else "row loaded"
        column = f", column '{problem.column}'" if problem.column else ""
        lines.append(f"  row {problem.spreadsheet_row}{column}: {RULE_TEXT.get(problem.rule, problem.rule)} "
                     f"({effect}) - {problem.text}")
    if len(report.problems) > max_rows:
        lines.append(f"  ... and {len(report.problems) - max_rows} more (use --json for all)")
    lines.append(f"Not checked here: {NOT_CHECKED_HERE}.")
    return "\n".join(lines)
