"""Templates partners fill in, written from their feed contracts (`worklink contracts template`).

A template carries the partner's own headers in the agreed order and at the agreed row, one example
row that passes every check the nightly applies, the agreed date format, and - in a workbook -
drop-down lists for every coded column (Excel data validation, the codes on a hidden sheet) and a
guide sheet describing each column. Written from the contract, it cannot drift from it: a test
checks every contract's template with `worklink check`.

The example row is invented, not a person: name "Example Person", NHS number 999 000 0018 (the 999
range is never issued to patients), a National Insurance number with the example prefix the
generator uses for synthetic people.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

from worklink.contracts import ColumnType, Contract, Privacy, load_code_lists

# Direct identifiers of the example row (never a real person's: see the module's docstring).
EXAMPLE_IDENTIFIERS = {
    "first_name": "Example", "last_name": "Person", "postcode": "M1 1AA", "nhs_number": "9990000018",
    "ni_number": "AB123456C", "nino": "AB123456C", "address_line": "1 Example Street", "house_number": "1",
    "phone": "0161 000 0000", "email": "example.person@example.org", "employer_name": "Example Employer Ltd",
}
DATE_OF_BIRTH = date(1985, 6, 15)
GUIDE_SHEET, LISTS_SHEET = "guide", "lists"
VALIDATED_ROWS = 5000  # rows below the headers that get the drop-down lists


def default_period(contract: Contract, today: date | None = None) -> str:
    """The last complete month (or the contract's last period, if earlier)."""
    today = today or datetime.now(UTC).date()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    period = f"{year:04d}-{month:02d}"
    return min(period, contract.file.last_period) if contract.file.last_period else period


def template_name(contract: Contract, period: str) -> str:
    """The file name the contract expects for ``period`` (its pattern with the period in place of *)."""
    return contract.file.pattern.replace("*", period, 1)


def example_row(contract: Contract, period: str) -> dict[str, str]:
    """One row (partner header -> text) that passes the feed's checks for ``period``."""
    codes = load_code_lists()
    example_day = date(int(period[:4]), int(period[5:7]), 15)
    items = contract.instrument_items
    instrument, scale = (next(iter(items.instruments.items())) if items else (None, None))
    row: dict[str, str] = {}
    for column in contract.columns:
        name = column.name
        if items and name == items.instrument_column:
            value = instrument
        elif items and name.startswith(items.item_prefix):
            number = int(name[len(items.item_prefix):])
            value = str(int((scale.min + scale.max) // 2)) if number <= scale.items else ""
        elif column.code_list:
            value = codes[column.code_list][0]
        elif column.type == ColumnType.date:
            value = (DATE_OF_BIRTH if name == "date_of_birth" else example_day).strftime(contract.file.date_format)
        elif column.type in (ColumnType.integer, ColumnType.decimal):
            low = column.min if column.min is not None else 0
            high = column.max if column.max is not None else low + 40
            value = str(int(min(max(16, low), high)))
        elif column.type == ColumnType.flag:
            value = "Y"
        elif column.privacy == Privacy.direct_identifier:
            value = EXAMPLE_IDENTIFIERS.get(name, "example")
        elif name == contract.record_id_column or name.endswith("_id"):
            value = f"EX-{period}-0001"
        else:
            value = "example"
        row[column.source] = value
    return row


def write_template(contract: Contract, out: Path, period: str | None = None) -> Path:
    """Write the template to ``out`` (.xlsx or .csv, as the contract's format says)."""
    out = Path(out)
    suffix = out.suffix.lower().lstrip(".")
    if suffix != contract.file.format:
        raise ValueError(f"{contract.partner.id} sends {contract.feed} as {contract.file.format}: "
                         f"name the template .{contract.file.format}, not .{suffix or '(none)'}")
    period = period or default_period(contract)
    row = example_row(contract, period)
    out.parent.mkdir(parents=True, exist_ok=True)
    if contract.file.format == "csv":
        _write_csv(contract, out, row, period)
    else:
        _write_xlsx(contract, out, row, period)
    return out


def _title_lines(contract: Contract, period: str) -> list[str]:
    return [f"{contract.partner.name}: {contract.feed.replace('_', ' ')} return", f"Period: {period}"]


def _write_csv(contract: Contract, out: Path, row: dict[str, str], period: str) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=contract.file.delimiter, lineterminator="\r\n")
    titles = _title_lines(contract, period)
    for line in range(contract.file.header_row - 1):
        writer.writerow([titles[line] if line < len(titles) else ""])
    writer.writerow(list(row))
    writer.writerow(list(row.values()))
    out.write_bytes(buffer.getvalue().encode(contract.file.encoding))


def _write_xlsx(contract: Contract, out: Path, row: dict[str, str], period: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    codes = load_code_lists()
    book = Workbook()
    sheet = book.active
    sheet.title = contract.file.sheet or contract.feed
    header = contract.file.header_row
    for line, title in enumerate(_title_lines(contract, period)[: header - 1], start=1):
        sheet.cell(line, 1, title).font = Font(bold=line == 1)
    lists = book.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    list_column = 0
    for position, column in enumerate(contract.columns, start=1):
        sheet.cell(header, position, column.source).font = Font(bold=True)
        cell = sheet.cell(header + 1, position, row[column.source])
        cell.number_format = "@"  # text: the agreed date format and leading zeros are kept
        sheet.column_dimensions[get_column_letter(position)].width = max(12, len(column.source) + 2)
        if column.code_list:
            list_column += 1
            letter = get_column_letter(list_column)
            lists.cell(1, list_column, column.code_list)
            for index, code in enumerate(codes[column.code_list], start=2):
                lists.cell(index, list_column, code)
            last = len(codes[column.code_list]) + 1
            rule = DataValidation(type="list", allow_blank=not column.required,
                                  formula1=f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${last}",
                                  showErrorMessage=True, errorTitle=column.source,
                                  error=f"Choose one of the listed values for {column.source}")
            target = get_column_letter(position)
            rule.add(f"{target}{header + 1}:{target}{header + VALIDATED_ROWS}")
            sheet.add_data_validation(rule)
    sheet.freeze_panes = sheet.cell(header + 1, 1)
    guide = book.create_sheet(GUIDE_SHEET)
    guide.append(["column", "required", "type", "format or allowed values", "what it holds"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for column in contract.columns:
        allowed = (f"one of: {', '.join(codes[column.code_list])}" if column.code_list
                   else f"date as {_human_date_format(contract.file.date_format)}" if column.type == ColumnType.date
                   else _range_text(column) if column.type in (ColumnType.integer, ColumnType.decimal) else "")
        guide.append([column.source, "yes" if column.required else ("please" if column.recommended else "no"),
                      column.type.value, allowed, column.description or ""])
    for letter, width in zip("ABCDE", (24, 10, 10, 60, 60), strict=True):
        guide.column_dimensions[letter].width = width
    book.save(out)


def _human_date_format(fmt: str) -> str:
    return fmt.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")


def _range_text(column) -> str:
    low = "" if column.min is None else f"from {column.min:g}"
    high = "" if column.max is None else f"to {column.max:g}"
    return " ".join(p for p in ("number", low, high) if p)
