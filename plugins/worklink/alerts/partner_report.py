"""Data-quality alerts to partners: one message per partner about its own submission only.

The report is built from ``ingest.file_manifest`` and ``ingest.file_issues`` filtered to
one partner and the files of one run, so it cannot contain another partner's data. It
names the partner's own headers, file names, row numbers and record ids, never the
platform's file ids or row keys, and never a data value (values can be identifiers).
The CSV of rows to fix is safe to open in a spreadsheet (formula injection neutralised).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from worklink.contracts import Contract
from worklink.platform.private_files import private_dir, write_private_text
from worklink.rules import RULE_ADVICE, RULE_TEXT

# RULE_TEXT (what happened) and RULE_ADVICE (what to do), in a data officer's words, come from
# worklink.rules; imported here for the alert and the upload page.
STATUS_TEXT = {
    "loaded": "loaded",
    "loaded_with_quarantine": "loaded, some rows held back",
    "rejected": "not loaded (whole file rejected)",
    "duplicate": "already received earlier (nothing new loaded)",
    "reinstated": "an earlier version sent again: that version is current again",
    "needs_confirmation": ("held: far fewer rows than the version it would replace; we will check with you "
                           "before it replaces that month"),
    "unmatched": "not loaded: it matches no feed agreed with you (kept for checking)",
    "refused": "not opened (a link or not a regular file)",
    "error": "not processed yet: a fault on our side, which our engineers are fixing",
}
# File outcomes that need the partner's action, listed first in the alert.
ACTION_STATUSES = ("rejected", "unmatched", "refused", "needs_confirmation")
# File outcomes a partner hears about even when no row has a problem.
ATTENTION_STATUSES = ("needs_confirmation", "error", "unmatched", "refused", "reinstated")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def spreadsheet_safe(value: object) -> str:
    """Neutralise cells a spreadsheet would run as a formula (OWASP CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


@dataclass
class FileSummary:
    file_name: str
    period: str | None
    status: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    rejection_rule: str | None = None


@dataclass
class RowProblem:
    file_name: str
    row: int | None
    record_id: str | None
    column: str | None  # the partner's own header
    rule: str
    severity: str
    message: str


@dataclass
class PartnerReport:
    partner_id: str
    partner_name: str
    files: list[FileSummary]
    problems: list[RowProblem] = field(default_factory=list)
    contact: str = ""  # the platform team, who answer questions about this report
    resubmit_by: str | None = None  # date (e.g. "Friday 12 December 2025") corrections are due

    @property
    def files_needing_action(self) -> list[FileSummary]:
        return [f for f in self.files if f.status in ACTION_STATUSES]

    def action_for(self, f: FileSummary) -> str:
        if f.status == "needs_confirmation":
            return "Tell us whether this smaller file should replace the month you sent before."
        if f.status == "rejected":
            return RULE_ADVICE.get(f.rejection_rule or "", "Correct the file and send it again.")
        return RULE_ADVICE.get(f.rejection_rule or "", "Send the file again as agreed.")

    def _closing_lines(self) -> list[str]:
        lines = []
        if self.resubmit_by and (self.files_needing_action or self.problems):
            lines.append(f"Please send corrected files by {self.resubmit_by}; a corrected file for a month "
                         "replaces the one sent before.")
        if self.contact:
            lines.append(f"Questions about this report: {self.contact}.")
        return lines

    def text(self, max_rows: int = 200) -> str:
        """The plain-text part of the email (same content as the HTML, for any mail program)."""
        out = [f"Data quality report for {self.partner_name}", "",
               "This report covers only the files your organisation sent."]
        if self.files_needing_action:
            out += ["", "FILES THAT NEED YOUR ACTION"]
            for f in self.files_needing_action:
                reason = RULE_TEXT.get(f.rejection_rule or "", STATUS_TEXT.get(f.status, f.status))
                out += [f"- {f.file_name}: {STATUS_TEXT.get(f.status, f.status)}. {reason}.",
                        f"  What to do: {self.action_for(f)}"]
        out += ["", "FILES RECEIVED"]
        out += [f"- {f.file_name} ({f.period or 'no month'}): {STATUS_TEXT.get(f.status, f.status)}; "
                f"{f.rows_in} rows received, {f.rows_loaded} loaded, {f.rows_quarantined} held back"
                for f in self.files]
        rows = [p for p in self.problems if p.row is not None]
        if rows:
            out += ["", "ROWS TO FIX (row numbers as your spreadsheet shows them)"]
            out += [f"- {p.file_name} row {p.row}" + (f", {p.record_id}" if p.record_id else "")
                    + (f", column '{p.column}'" if p.column else "") + f": {RULE_TEXT.get(p.rule, p.rule)}"
                    for p in rows[:max_rows]]
            if len(rows) > max_rows:
                out.append(f"... and {len(rows) - max_rows} more in the attached CSV.")
        closing = self._closing_lines()
        return "\n".join(out + ([""] + closing if closing else [])) + "\n"

    @property
    def needs_attention(self) -> bool:
        return (any(p.severity in ("reject_file", "quarantine_row", "warn") for p in self.problems)
                or any(f.status in ATTENTION_STATUSES for f in self.files))

    @property
    def counts_by_rule(self) -> list[tuple[str, str, int]]:
        counts: dict[tuple[str, str], int] = {}
        for p in self.problems:
            key = (p.rule, p.severity)
            counts[key] = counts.get(key, 0) + 1
        return sorted(((r, s, n) for (r, s), n in counts.items()), key=lambda t: (-t[2], t[0]))

    @property
    def subject(self) -> str:
        held = sum(f.rows_quarantined for f in self.files)
        rejected = sum(f.status == "rejected" for f in self.files)
        parts = []
        if rejected:
            parts.append(f"{rejected} file{'s' * (rejected != 1)} rejected")
        if held:
            parts.append(f"{held} row{'s' * (held != 1)} held back")
        for status, label in (("needs_confirmation", "awaiting your confirmation"), ("error", "delayed by a fault"),
                              ("unmatched", "not matched to a feed"), ("refused", "refused")):
            n = sum(f.status == status for f in self.files)
            if n:
                parts.append(f"{n} file{'s' * (n != 1)} {label}")
        return f"[worklink] Data quality report for {self.partner_name}: " + (", ".join(parts) or "warnings")

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["file", "row (as your spreadsheet shows it)", "your record id", "column", "problem", "detail"])
        for p in self.problems:
            writer.writerow([spreadsheet_safe(v) for v in (
                p.file_name, p.row or "", p.record_id or "", p.column or "", RULE_TEXT.get(p.rule, p.rule),
                p.message)])
        return out.getvalue()

    def html(self, max_rows: int = 500) -> str:
        e = html.escape
        files = "".join(
            f"<tr><td>{e(f.file_name)}</td><td>{e(f.period or '')}</td><td>{e(STATUS_TEXT.get(f.status, f.status))}</td>"
            f"<td class=n>{f.rows_in}</td><td class=n>{f.rows_loaded}</td><td class=n>{f.rows_quarantined}</td></tr>"
            for f in self.files
        )
        rules = "".join(
            f"<tr><td>{e(RULE_TEXT.get(r, r))}</td><td><code>{e(r)}</code></td><td>{e(sev.replace('_', ' '))}</td>"
            f"<td class=n>{n}</td></tr>"
            for r, sev, n in self.counts_by_rule
        )
        rows = "".join(
            f"<tr><td>{e(p.file_name)}</td><td class=n>{p.row or ''}</td><td>{e(p.record_id or '')}</td>"
            f"<td>{e(p.column or '')}</td><td>{e(p.message)}</td></tr>"
            for p in self.problems[:max_rows]
        )
        more = (f"<p>{len(self.problems) - max_rows} more rows are listed in the attached CSV.</p>"
                if len(self.problems) > max_rows else "")
        action = "".join(
            f"<tr><td>{e(f.file_name)}</td><td>{e(STATUS_TEXT.get(f.status, f.status))}: "
            f"{e(RULE_TEXT.get(f.rejection_rule or '', ''))}</td><td>{e(self.action_for(f))}</td></tr>"
            for f in self.files_needing_action)
        action_section = ("<h2>Files that need your action</h2><table><tr><th>file</th><th>what happened</th>"
                          f"<th>what to do</th></tr>{action}</table>" if action else "")
        closing = "".join(f"<p><strong>{e(line)}</strong></p>" for line in self._closing_lines())
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(self.subject)}</title>
<style>
body{{font-family:system-ui,Segoe UI,Arial,sans-serif;margin:2em;color:#1b1b1b;max-width:70em}}
table{{border-collapse:collapse;margin:1em 0}} th,td{{border:1px solid #bbb;padding:.3em .6em;text-align:left}}
th{{background:#eef2f5}} td.n{{text-align:right}} h1{{font-size:1.4em}} h2{{font-size:1.15em;margin-top:1.6em}}
.note{{color:#555}}
</style></head><body>
<h1>Data quality report for {e(self.partner_name)}</h1>
<p>This report covers only the files your organisation sent. Rows held back are not in the
programme's figures until they are corrected: please fix them in your system and send the
corrected file for the same month again (it will replace the earlier one).</p>
{action_section}
<h2>Files received</h2>
<table><tr><th>file</th><th>month</th><th>outcome</th><th>rows received</th><th>rows loaded</th><th>rows held back</th></tr>{files}</table>
<h2>Problems by type</h2>
<table><tr><th>problem</th><th>rule</th><th>effect</th><th>count</th></tr>{rules}</table>
<h2>Rows to fix</h2>
<p class=note>Row numbers are as your spreadsheet shows them (the heading rows counted).</p>
<table><tr><th>file</th><th>row</th><th>your record id</th><th>column</th><th>problem</th></tr>{rows}</table>
{more}
{closing}
</body></html>
"""


def build_partner_report(conn: psycopg.Connection, contract_or_partner: Contract | tuple[str, str],
                         file_ids: list[int], contracts: list[Contract]) -> PartnerReport:
    """Report on ``file_ids``, keeping only those that belong to this partner."""
    if isinstance(contract_or_partner, Contract):
        partner_id, partner_name = contract_or_partner.partner.id, contract_or_partner.partner.name
    else:
        partner_id, partner_name = contract_or_partner
    own = [c for c in contracts if c.partner.id == partner_id]
    headers = {(c.feed, col.name): col.source for c in own for col in c.columns}
    header_rows = {c.feed: c.file.header_row for c in own}  # a data row's number in the spreadsheet
    files = conn.execute(
        """select file_id, feed, file_name, period, status, rows_in, rows_loaded, rows_quarantined, rejection_rule
             from ingest.file_manifest where partner_id = %s and file_id = any(%s) order by file_name, file_id""",
        (partner_id, file_ids),
    ).fetchall()
    report = PartnerReport(partner_id, partner_name, [FileSummary(*f[2:]) for f in files])
    report.files.sort(key=lambda f: (f.status not in ACTION_STATUSES, f.file_name))
    feeds = {f[0]: (f[1], f[2]) for f in files}
    issues = conn.execute(
        """select i.file_id, i.source_row, i.record_id, i.column_name, i.rule_id, i.severity, i.message
             from ingest.file_issues i join ingest.file_manifest m using (file_id)
            where m.partner_id = %s and i.file_id = any(%s)
            order by m.file_name, i.source_row nulls first, i.column_name""",
        (partner_id, [f[0] for f in files]),
    ).fetchall()
    for file_id, row, record_id, column, rule, severity, message in issues:
        feed, name = feeds[file_id]
        report.problems.append(RowProblem(
            file_name=name, row=None if row is None else row + header_rows.get(feed, 1), record_id=record_id,
            column=headers.get((feed, column), column),
            rule=rule, severity=severity, message=message,
        ))
    return report


def write_report_files(report: PartnerReport, out_dir: Path) -> tuple[Path, Path]:
    """Save the HTML report and the CSV of rows to fix; names carry a content hash, not a clock."""
    body = report.html()
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    out_dir = out_dir / report.partner_id
    private_dir(out_dir.parent)
    html_path = write_private_text(out_dir / f"dq-report-{digest}.html", body)
    csv_path = write_private_text(out_dir / f"rows-to-fix-{digest}.csv", report.csv_text())
    return html_path, csv_path
