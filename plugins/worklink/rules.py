"""Every data-quality rule, once: its id, default severity, the message engineers read, the plain
words partners read, and (for identifier formats) the check itself.

Everything else reads this registry: the contract schema (``worklink.contracts.DEFAULT_SEVERITY``,
``COLUMN_RULES``), the GX suites (``worklink.quality.suites.RULE_REGEX``), ingestion's checks
(``worklink.ingest.checks.MESSAGES``), the plain-language texts partners read (``RULE_TEXT``,
``RULE_ADVICE`` below: the partner alert, ``worklink check`` and the upload page) and the rules table of docs/ingestion.md (``worklink contracts build-docs``; a test
keeps it equal). To add a rule: add it here, then implement its check where its ``level`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from worklink.identifiers import FORMATS, IdentifierFormat


class Severity(StrEnum):
    reject_file = "reject_file"
    quarantine_row = "quarantine_row"
    warn = "warn"


Level = Literal["file", "landing", "reading", "row", "warning"]
LEVELS: dict[str, str] = {
    "file": "whole file (status `rejected`)",
    "landing": "landing-folder entries that are never opened",
    "reading": "rows that could not be read as rows",
    "row": "row rules (the row is held back)",
    "warning": "warnings (the row loads)",
}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity  # default; a contract's `severity:` block may override it
    level: Level
    partner_text: str | None = None  # what happened, in a data officer's words (alerts, `worklink check`)
    column_rule: str | None = None  # a rule a contract column opts into (`rules: [...]`): what it requires
    message: str | None = None  # the issue text after the column's header, for engineers and the issue log
    advice: str | None = None  # what a data officer does about a rejected file

    def __post_init__(self) -> None:
        if self.partner_text is None:
            if self.column_rule is None:
                raise ValueError(f"rule {self.id}: needs partner_text or column_rule")
            object.__setattr__(self, "partner_text", self.column_rule[0].upper() + self.column_rule[1:])

    @property
    def identifier(self) -> IdentifierFormat | None:
        """The identifier format this rule checks (worklink.identifiers), the one linkage uses."""
        return FORMATS.get(self.id)


RULES: dict[str, Rule] = {rule.id: rule for rule in [
    # the whole file
    Rule("file_unreadable", Severity.reject_file, "file",
         partner_text="The file could not be opened",
         advice="Save the file again from your spreadsheet program and send it again."),
    Rule("file_encoding", Severity.reject_file, "file",
         partner_text="The file is not in the agreed character encoding",
         advice=('Save it again from Excel as "CSV UTF-8 (Comma delimited)", or as agreed with us, and send it '
                 "again.")),
    Rule("file_empty", Severity.reject_file, "file",
         partner_text="The file has no data rows",
         advice="Send the file again with its data rows (a month with nothing to report keeps its heading row)."),
    Rule("missing_required_column", Severity.reject_file, "file",
         partner_text="A required column is missing",
         advice=("Use the agreed template: every column must keep its heading. Add the missing column and send it "
                 "again.")),
    Rule("unexpected_column", Severity.reject_file, "file",
         partner_text="The file has a column the agreement does not include",
         advice="Remove the extra column (or ask us to add it to the agreement) and send the file again."),
    Rule("file_name_mismatch", Severity.reject_file, "file",
         partner_text="The file name does not follow the agreed pattern",
         advice="Rename the file as agreed (the month as YYYY-MM in the name) and send it again."),
    Rule("period_invalid", Severity.reject_file, "file",
         partner_text="The month in the file name is not a real month, or is still to come",
         advice="Put the month the data is for in the file name (YYYY-MM) and send it again."),
    Rule("wrong_feed", Severity.reject_file, "file",
         partner_text="The file holds a different feed than its name and folder say",
         advice="Check you sent the right file for this folder and send the right one."),
    Rule("file_format", Severity.reject_file, "file",
         partner_text="The file is not in the agreed format (CSV or Excel workbook)",
         advice="Save it in the agreed format (the template's) and send it again."),
    Rule("file_compressed", Severity.reject_file, "file",
         partner_text="The file is compressed; please send it uncompressed",
         advice="Send the file itself, not a zip or compressed copy."),
    Rule("file_too_large", Severity.reject_file, "file",
         partner_text="The file is larger than the agreed limit",
         advice="Send the month's rows only, or split the file and tell us."),
    Rule("duplicate_column", Severity.reject_file, "file",
         partner_text="A column appears more than once",
         advice="Remove the repeated column and send the file again."),
    Rule("internal_error", Severity.reject_file, "file",
         partner_text="We could not process the file because of a fault on our side",
         advice="Nothing for you to do: we will load it once we have fixed the fault."),
    # landing-folder entries that are never opened
    Rule("landing_symlink", Severity.reject_file, "landing",
         partner_text="A link was delivered instead of a file; links are never opened",
         advice="Upload the file itself."),
    Rule("landing_not_a_file", Severity.reject_file, "landing",
         partner_text="Something other than a file was delivered",
         advice="Upload the file itself."),
    Rule("outside_landing", Severity.reject_file, "landing",
         partner_text="The file is not in the delivery folder",
         advice="Upload the file into your delivery folder."),
    Rule("file_vanished", Severity.reject_file, "landing",
         partner_text="The file disappeared before it could be read",
         advice="Upload the file again."),
    # rows that could not be read as rows
    Rule("ragged_row", Severity.quarantine_row, "reading",
         partner_text="The row has a different number of cells from the headings"),
    Rule("unclosed_quote", Severity.quarantine_row, "reading",
         partner_text="The row has a quote mark that is never closed"),
    Rule("control_character", Severity.quarantine_row, "reading",
         partner_text="A cell holds a hidden control character",
         message="contains a NUL control character (often a sign of a damaged export)"),
    Rule("cell_too_long", Severity.quarantine_row, "reading",
         partner_text="A cell is longer than allowed"),
    Rule("formula_without_value", Severity.quarantine_row, "reading",
         partner_text="A cell holds a formula whose result was not saved"),
    # row rules
    Rule("required", Severity.quarantine_row, "row",
         partner_text="A required field is empty",
         message="is required but empty"),
    Rule("type_integer", Severity.quarantine_row, "row",
         partner_text="A whole number was expected",
         message="is not a whole number"),
    Rule("type_decimal", Severity.quarantine_row, "row",
         partner_text="A number was expected",
         message="is not a number"),
    Rule("type_date", Severity.quarantine_row, "row",
         partner_text="A date in the agreed format was expected",
         message="is not a date in the agreed format"),
    Rule("type_flag", Severity.quarantine_row, "row",
         partner_text="Y or N was expected",
         message="must be Y or N"),
    Rule("code_list", Severity.quarantine_row, "row",
         partner_text="The value is not one of the agreed codes",
         message="is not in the code list"),
    Rule("range", Severity.quarantine_row, "row",
         partner_text="The value is outside the allowed range",
         message="is out of range"),
    Rule("nhs_number", Severity.quarantine_row, "row",
         column_rule="NHS number must be 10 digits passing the modulus 11 check",
         message="is not a valid NHS number (10 digits passing the modulus 11 check)"),
    Rule("ni_number", Severity.quarantine_row, "row",
         column_rule=("National Insurance number must have a valid prefix and 6 digits; temporary TN numbers are "
                      "not accepted"),
         message="is not a valid National Insurance number (temporary TN numbers are not accepted)"),
    Rule("postcode", Severity.quarantine_row, "row",
         column_rule="postcode must be a valid UK postcode",
         message="is not a valid UK postcode"),
    Rule("not_future", Severity.quarantine_row, "row",
         column_rule="date must not be after the end of the submission period",
         message="is after the end of the submission period"),
    Rule("not_before_programme", Severity.quarantine_row, "row",
         column_rule="date must not be before the programme began",
         message="is before the programme began"),
    Rule("date_order", Severity.quarantine_row, "row",
         partner_text="Dates are in the wrong order",
         message="is earlier than a date that must come before it"),
    Rule("duplicate_row", Severity.quarantine_row, "row",
         partner_text="The row repeats an earlier row of the same file",
         message="repeats an earlier row of the same file exactly"),
    # warnings
    Rule("optional_missing", Severity.warn, "warning",
         partner_text="A field we ask for is empty (the row was still loaded)",
         message="is empty (optional, but please complete it)"),
]}

# What happened, in a data officer's words, and what they do about a file that was not loaded: here,
# in the lowest layer, so ingestion (``worklink check``) and the alerts both read them without either
# importing the other.
RULE_TEXT = {r.id: r.partner_text for r in RULES.values()}
RULE_ADVICE = {r.id: r.advice for r in RULES.values() if r.advice}


DOCS_BEGIN = "<!-- rules table: generated from worklink.rules by `worklink contracts build-docs`; edit the registry -->"
DOCS_END = "<!-- end of rules table -->"


def docs_table() -> str:
    """The rules table of docs/ingestion.md, one row per rule in registry order."""
    lines = ["| rule | where | default severity | what the partner reads | engineers' message |",
             "|---|---|---|---|---|"]
    for rule in RULES.values():
        message = rule.message or ""
        if rule.identifier:
            message += f" (`worklink.identifiers.{rule.identifier.valid_mask.__name__}`, as linkage)"
        lines.append(f"| `{rule.id}` | {rule.level} | `{rule.severity}` | {rule.partner_text} | "
                     f"{message.replace('|', '&#124;')} |")
    return "\n".join(lines) + "\n"


def with_docs_table(document: str) -> str:
    """``document`` with the text between the table's markers replaced by :func:`docs_table`."""
    head, found, rest = document.partition(DOCS_BEGIN)
    _, found_end, tail = rest.partition(DOCS_END)
    if not found or not found_end:
        raise ValueError("the document has no rules-table markers")
    return f"{head}{DOCS_BEGIN}\n{docs_table()}{DOCS_END}{tail}"
