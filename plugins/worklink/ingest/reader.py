"""Read one landed file into a frame of canonical text columns, or reject the whole file.

Everything comes out as text (``str`` dtype, missing = NA; surrounding spaces are stripped
in checks.prepare) with the partner's headers renamed to canonical names; typing happens in the
checks so a bad value becomes a row-level issue rather than a crash. ``_row`` is the 1-based
data-row number, the number partners see in their alerts (the spreadsheet line is
``header_row + _row``).

A fault in one row stays that row's fault: a row with too few or too many cells, a quote that is
never closed, a NUL byte or an oversized cell is held back with its row number while the rest of
the file loads. Only what makes the whole file unreadable (wrong encoding, compression, missing
headings) rejects it. No message built here ever quotes a cell: parser errors are turned into a
rule and a row number, never passed on (pyarrow's and the csv module's messages carry the text).
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from worklink.contracts import Contract
from worklink.ingest.landing import LandedFile

ROW = "_row"
BAD_ROW_COLUMNS = [ROW, "column_name", "rule_id", "message", "raw"]


@dataclass
class FileRejected(Exception):
    rule_id: str
    message: str
    column: str | None = None
    row: int | None = None
    headers: tuple[str, ...] = ()  # what the file did have, for "looks like another feed" hints

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.message}"


@dataclass
class LandedRows:
    """A file's readable rows, the rows that could not be read as rows, and blank rows skipped."""

    frame: pd.DataFrame  # canonical text columns + _row
    bad_rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BAD_ROW_COLUMNS))
    blank_rows: int = 0  # rows with every cell empty (Excel's trailing ",,,," lines): skipped, counted


def feed_matching_headers(headers: tuple[str, ...], contracts: list[Contract]) -> Contract | None:
    """The contract this file's headers fit exactly: every header known, every required one present."""
    present = {_norm_header(h) for h in headers if not str(h).startswith("Unnamed:")}
    for contract in contracts:
        required = {_norm_header(c.source) for c in contract.columns if c.required}
        known = {_norm_header(c.source) for c in contract.columns}
        if required <= present <= known:
            return contract
    return None


def _norm_header(value: object) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


ASCII_COMPATIBLE = {"utf-8", "utf8", "cp1252", "windows-1252", "latin-1", "iso-8859-1", "ascii", "us-ascii"}
# How a spreadsheet user picks each encoding in Excel's "Save as" list.
SAVE_AS = {"utf-8": "CSV UTF-8 (Comma delimited)", "utf8": "CSV UTF-8 (Comma delimited)",
           "cp1252": "CSV (Comma delimited)", "windows-1252": "CSV (Comma delimited)"}
UTF8_BOM = b"\xef\xbb\xbf"
_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"7z\xbc\xaf\x27\x1c": "7-Zip",
    b"Rar!": "RAR",
}
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, or any password-protected Office file


def _save_as(contract: Contract) -> str:
    enc = contract.file.encoding.lower()
    return SAVE_AS.get(enc, f"text in the {contract.file.encoding} encoding")


def _sniff_container(data: bytes, contract: Contract, name: str) -> None:
    """Compressed, archived or Office-binary content gets a message a spreadsheet user can act on."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise FileRejected("file_compressed", f"{name} is a compressed ({kind}) file; please send the "
                                                  f"{contract.file.format.upper()} file itself, not compressed")
    if contract.file.format == "csv":
        if data.startswith(_ZIP):
            raise FileRejected("file_format", f"{name} is an Excel workbook or a zip archive, not a CSV file; "
                                              f"please save it in Excel as '{_save_as(contract)}'")
        if data.startswith(_OLE2):
            raise FileRejected("file_format", f"{name} is an Excel 97-2003 workbook or a password-protected "
                                              f"file, not a CSV file; please save it as '{_save_as(contract)}'")
    else:
        if data.startswith(_OLE2):
            raise FileRejected("file_format", f"{name} is an old-format (.xls) or password-protected workbook; "
                                              "please save it without a password as 'Excel Workbook (.xlsx)'")
        if not data.startswith(_ZIP):
            raise FileRejected("file_format", f"{name} is not an Excel workbook (.xlsx); it looks like a text "
                                              "or other file renamed: please save it as 'Excel Workbook (.xlsx)'")


def _looks_utf16(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    # Without a BOM, UTF-16 text of Latin letters has a NUL in every other byte.
    return len(head) >= 16 and head.count(b"\x00") >= len(head) // 4


def _decode_check(data: bytes, contract: Contract, name: str) -> None:
    enc = contract.file.encoding.lower().replace("_", "-")
    if _looks_utf16(data[:4096]) and not enc.startswith("utf-16"):
        raise FileRejected(
            "file_encoding",
            f"{name} is saved as Unicode (UTF-16) text; please save it as '{_save_as(contract)}'",
        )
    if enc in ASCII_COMPATIBLE and data.isascii():
        return  # plain ASCII reads the same in all of these (isascii is ~1000x faster than decoding)
    try:
        data.decode(contract.file.encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        row = line - contract.file.header_row
        where = f"data row {row}" if row > 0 else f"line {line}"
        raise FileRejected(
            "file_encoding",
            f"{name} has characters that are not valid in the agreed encoding ({contract.file.encoding}), "
            f"first at {where}; please save it as '{_save_as(contract)}'",
            row=row if row > 0 else None,
        ) from None
    if enc in {"cp1252", "windows-1252", "latin-1", "iso-8859-1"} and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return
        raise FileRejected(
            "file_encoding",
            f"{name} is saved as UTF-8 but the agreement says {contract.file.encoding}; please save it as "
            f"'{_save_as(contract)}' or ask us to change the agreement",
        )


def _strip_bom(data: bytes) -> bytes:
    return data[len(UTF8_BOM):] if data.startswith(UTF8_BOM) else data


def _header_fields(text: str, contract: Contract) -> list[str]:
    spec = contract.file
    lines = text[: 1 << 16].splitlines()
    rows = list(csv.reader(lines[spec.header_row - 1: spec.header_row], delimiter=spec.delimiter))
    return rows[0] if rows else []


def _check_headers(headers: list[str], contract: Contract, name: str) -> None:
    seen: dict[str, str] = {}
    for header in headers:
        key = _norm_header(header)
        column = next((c for c in contract.columns if key in (_norm_header(c.source), _norm_header(c.name))), None)
        key = column.name if column else key
        if key and key in seen:
            raise FileRejected("duplicate_column", f"{name} has the column '{header}' more than once; "
                                                   "please keep one and delete the others",
                               column=column.name if column else None)
        seen[key] = header


def _fast_csv(data: bytes, contract: Contract, file_headers: list[str], headers: list[str]) -> pd.DataFrame | None:
    """Arrow's parser for well-formed files (the common case); None when a row is malformed.

    Every column comes back as text, dictionary-encoded (pandas categoricals): the checks then
    work on each column's distinct values without hashing the rows again. Arrow parses plain text
    and encodes whole columns afterwards, one column per core. Empty lines would shift Arrow's
    row numbers (it skips them) and NUL bytes cannot be stored: such files take the tolerant path.
    """
    spec = contract.file
    body = data.rstrip(b"\r\n")
    if b"\x00" in body or b"\n\n" in body or b"\n\r\n" in body:
        return None
    options = dict(
        parse_options=pacsv.ParseOptions(delimiter=spec.delimiter),
        convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in file_headers},
                                             null_values=[""], strings_can_be_null=True),
    )
    try:
        table = pacsv.read_csv(io.BytesIO(body), read_options=pacsv.ReadOptions(
            encoding=spec.encoding, skip_rows=spec.header_row - 1), **options)
    except (pa.ArrowInvalid, pa.ArrowException):
        return None  # ragged rows, bad quoting, cells over Arrow's block size: the tolerant path says which
    if table.num_columns != len(headers):
        return None
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        columns = list(pool.map(lambda column: pc.dictionary_encode(column.combine_chunks()), table.columns))
    frame = pa.table(columns, names=[f"c{i}" for i in range(len(headers))]).to_pandas()
    frame.columns = headers
    frame.insert(0, ROW, range(1, len(frame) + 1))
    return frame


def _tolerant_csv(text: str, contract: Contract, headers: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """Python's csv reader, row by row, for files Arrow refused: every record gets its row number,
    a malformed record becomes a bad row (with the line kept for the restricted quarantine) and
    reading resumes on the next line.

    Row numbers count records (a quoted cell may hold a line break), the first under the headings
    being row 1. A quote that is never closed swallows the lines after it until the csv reader
    fails or the record comes out with the wrong number of cells: then only its first line is the
    bad row, and reading starts again on the line after it.
    """
    spec = contract.file
    # The csv module refuses fields over 128 KB by default; the contract's cell limit is checked
    # later per cell, with the row named, so the reader itself must not stop at a long cell.
    csv.field_size_limit(max(csv.field_size_limit(), spec.max_file_bytes))
    lines = text.splitlines(keepends=True)[spec.header_row:]
    width = len(headers)
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    bad: list[dict] = []
    row = 0
    position = 0
    while position < len(lines):
        reader = csv.reader(iter(lines[position:]), delimiter=spec.delimiter, strict=True)
        consumed = 0
        restart = None
        while True:
            start = position + consumed
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error:
                row += 1
                bad.append(_bad(row, "unclosed_quote", "has a quote (\") that is never closed or a stray "
                                                       "character after a closing quote", lines[start]))
                restart = start + 1
                break
            used = reader.line_num - consumed
            consumed = reader.line_num
            row += 1
            if len(record) > width and not any(cell.strip() for cell in record[width:]):
                record = record[:width]  # trailing empty cells a spreadsheet added
            if len(record) != width:
                if used > 1:  # an unclosed quote ran into the next lines: only its own line is bad
                    bad.append(_bad(row, "unclosed_quote", "has a quote (\") that is never closed",
                                    lines[start]))
                    restart = start + 1
                    break
                bad.append(_bad(row, "ragged_row", f"has {len(record)} cells where the headings have {width}",
                                "".join(lines[start:start + used])))
                continue
            rows.append([cell if cell != "" else None for cell in record])
            numbers.append(row)
        if restart is None:
            break
        position = restart
    frame = pd.DataFrame(rows, columns=headers, dtype="str") if rows else pd.DataFrame(
        {h: pd.Series([], dtype="str") for h in headers})
    frame.insert(0, ROW, numbers)
    return frame, bad


def _bad(row: int, rule: str, message: str, raw: str) -> dict:
    return {ROW: row, "column_name": None, "rule_id": rule, "message": message, "raw": raw}


def _read_csv(data: bytes, contract: Contract, name: str) -> tuple[pd.DataFrame, list[dict]]:
    text_head = data[: 1 << 16].decode(contract.file.encoding, errors="replace")
    file_headers = _header_fields(text_head, contract)
    if not file_headers:
        raise FileRejected("missing_required_column", f"{name} has no heading row (line {contract.file.header_row})")
    headers = [h if h.strip() else f"Unnamed: {i}" for i, h in enumerate(file_headers)]
    _check_headers(headers, contract, name)
    frame = _fast_csv(data, contract, file_headers, headers)
    if frame is not None:
        return frame, []
    return _tolerant_csv(data.decode(contract.file.encoding), contract, headers)


def _excel_cell_to_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d").astype("str")

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return None
        if isinstance(v, pd.Timestamp) or hasattr(v, "isoformat"):
            return v.isoformat()[:10] if getattr(v, "hour", 0) == 0 else v.isoformat()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return series.map(one).astype("str")


def _check_workbook(data: bytes, contract: Contract, name: str) -> zipfile.ZipFile:
    """A workbook's unpacked size within the contract's limit (zip bombs), and readable as a zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRejected("file_format", f"{name} is damaged or not a complete Excel workbook; "
                                          "please save it again as 'Excel Workbook (.xlsx)'") from None
    unpacked = sum(m.file_size for m in members)
    limit = contract.file.max_unpacked_bytes
    if unpacked > limit:
        raise FileRejected("file_too_large", f"{name} unpacks to {unpacked // 2**20} MB, over the agreed "
                                             f"limit of {limit // 2**20} MB; please split it or send a CSV")
    return archive


def _formula_cells_without_values(archive: zipfile.ZipFile) -> bool:
    """Whether any worksheet has a formula cell with no saved result (files written by tools that
    never calculate, e.g. generated workbooks): those read as empty."""
    for member in archive.namelist():
        if member.startswith("xl/worksheets/") and member.endswith(".xml"):
            xml = archive.read(member)
            if b"<f>" in xml or b"<f " in xml:
                return True
    return False


def _formula_positions(data: bytes, contract: Contract) -> list[tuple[int, int]]:
    """(0-based sheet row, 0-based column) of formula cells, by openpyxl (read-only, no calculation)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = book[contract.file.sheet] if contract.file.sheet else book.worksheets[0]
        found = []
        for r, cells in enumerate(sheet.iter_rows(values_only=True)):
            for c, value in enumerate(cells):
                if isinstance(value, str) and value.startswith("="):
                    found.append((r, c))
        return found
    finally:
        book.close()


def _read_xlsx(data: bytes, contract: Contract, name: str) -> tuple[pd.DataFrame, list[dict]]:
    spec = contract.file
    archive = _check_workbook(data, contract, name)
    try:
        sheet = pd.read_excel(io.BytesIO(data), sheet_name=spec.sheet or 0, header=None, engine="calamine",
                              dtype=object)
    except ValueError:
        raise FileRejected("file_format", f"{name} has no worksheet named '{spec.sheet}'" if spec.sheet else
                           f"{name} has no worksheet") from None
    if len(sheet) < spec.header_row:
        raise FileRejected("missing_required_column", f"{name} has no heading row (row {spec.header_row})")
    headers = ["" if pd.isna(h) else str(h) for h in sheet.iloc[spec.header_row - 1]]
    while headers and headers[-1] == "" and sheet.iloc[spec.header_row:, len(headers) - 1].isna().all():
        headers.pop()  # empty formatted columns at the right
    sheet = sheet.iloc[:, :len(headers)]
    headers = [h or f"Unnamed: {i}" for i, h in enumerate(headers)]
    _check_headers(headers, contract, name)
    frame = sheet.iloc[spec.header_row:].reset_index(drop=True)
    frame.columns = headers
    frame = frame.apply(_excel_cell_to_text)
    frame.insert(0, ROW, range(1, len(frame) + 1))
    bad = []
    if _formula_cells_without_values(archive):
        for sheet_row, column in _formula_positions(data, contract):
            row = sheet_row - spec.header_row + 1
            if row >= 1 and column < len(headers) and pd.isna(frame.iat[row - 1, column + 1]):
                bad.append({ROW: row, "column_name": headers[column], "rule_id": "formula_without_value",
                            "message": "holds a formula whose result was not saved in the file",
                            "raw": None})
    return frame, bad


def read_rows(landed: LandedFile | Path, contract: Contract) -> LandedRows:
    """Canonical text columns plus ``_row``, the rows that are not readable rows, and the count of
    blank rows; raise FileRejected for file-level problems (never quoting the file's content)."""
    if not isinstance(landed, LandedFile):
        path = Path(landed)
        if not path.exists():
            raise FileRejected("file_unreadable", f"{path.name} does not exist")
        data = path.read_bytes()
        landed = LandedFile(path, "", len(data), 0.0, data=data)
    name = landed.name
    data = landed.data
    if data is None:
        raise FileRejected("file_too_large", f"{name} is larger than the agreed limit of "
                                             f"{contract.file.max_file_bytes // 2**20} MB")
    if len(data) == 0:
        raise FileRejected("file_empty", f"{name} is empty (0 bytes)")
    _sniff_container(data, contract, name)
    if contract.file.format == "csv":
        data = _strip_bom(data)  # Excel's "CSV UTF-8" marks the file; the rest decides the encoding
        _decode_check(data, contract, name)
        frame, bad = _read_csv(data, contract, name)
    else:
        frame, bad = _read_xlsx(data, contract, name)

    # A header with no rows is a valid "nothing happened this month" return, not an empty file.
    # Cells are cleaned (spaces, blanks) per distinct value in checks.prepare.
    blank = _blank_rows(frame)
    blank_rows = int(blank.sum())
    if blank_rows:
        frame = frame.loc[~blank]
    rows = _rename_to_canonical(frame, contract, name)
    bad_rows = pd.DataFrame(bad, columns=BAD_ROW_COLUMNS)
    if len(bad_rows):
        by_header = {_norm_header(c.source): c.name for c in contract.columns}
        bad_rows["column_name"] = bad_rows["column_name"].map(
            lambda h: None if h is None else by_header.get(_norm_header(h), h)).astype("object")
    return LandedRows(rows.reset_index(drop=True), bad_rows, blank_rows)


def _holds_values(column: pd.Series) -> bool:
    return bool((column.notna() & (column.astype("str").str.strip() != "")).any())


def _blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows whose every cell is empty or spaces; judged per distinct value, and a column with no
    blank cells ends the search at once (a large clean file costs one pass over one column)."""
    blank = pd.Series(True, index=frame.index)
    for name in frame.columns:
        if name == ROW:
            continue
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = pd.Series(column.cat.categories, dtype="str")
            empty = (categories.str.strip() == "").to_numpy()
            codes = column.cat.codes.to_numpy()
            cell_blank = (codes < 0) | (empty[codes.clip(min=0)] if len(empty) else False)
        else:
            cell_blank = (column.isna() | (column.astype("str").str.strip() == "")).to_numpy()
        blank &= cell_blank
        if not blank.any():
            break
    return blank


def read_landed_file(landed: LandedFile | Path, contract: Contract) -> pd.DataFrame:
    """The readable rows only (see ``read_rows``)."""
    return read_rows(landed, contract).frame


def _rename_to_canonical(frame: pd.DataFrame, contract: Contract, name: str) -> pd.DataFrame:
    by_norm = {_norm_header(c.source): c for c in contract.columns}
    by_norm.update({_norm_header(c.name): c for c in contract.columns})
    rename: dict[str, str] = {ROW: ROW}
    unexpected: list[str] = []
    for header in frame.columns:
        if header == ROW:
            continue
        column = by_norm.get(_norm_header(header))
        if column is None:
            if str(header).startswith("Unnamed:") or not str(header).strip():
                if _holds_values(frame[header]):  # cells under no heading would be lost silently
                    position = list(frame.columns).index(header)  # _row is first: 1-based column
                    unexpected.append(f"column {position} (no heading)")
                continue
            unexpected.append(str(header))
        else:
            rename[header] = column.name
    present = set(rename.values())
    required = [c for c in contract.columns if c.required]
    missing_required = [c for c in required if c.name not in present]
    headers = tuple(str(h) for h in frame.columns if h != ROW)
    if missing_required and len(required) - len(missing_required) < len(required) / 2 and unexpected:
        # Most headings unknown: the first line is probably data (no heading row). Its cells are
        # not quoted back, they may be a person's details.
        raise FileRejected(
            "missing_required_column",
            f"{name}: line {contract.file.header_row} does not hold the agreed column headings "
            f"({len(required) - len(missing_required)} of {len(required)} required headings found); "
            "if the heading row is missing, please add it",
            headers=headers,
        )
    if missing_required:
        names = ", ".join(f"'{c.source}'" for c in missing_required)
        raise FileRejected(
            "missing_required_column",
            f"{name} has no column {names} (required by the {contract.feed} contract)",
            column=missing_required[0].name,
            headers=headers,
        )
    if unexpected and contract.severity_of("unexpected_column") == "reject_file":
        raise FileRejected(
            "unexpected_column",
            f"{name} has columns the {contract.feed} contract does not know: "
            + ", ".join(f"'{h}'" for h in unexpected),
            column=unexpected[0],
            headers=headers,
        )
    frame = frame[list(rename)].rename(columns=rename)
    for column in contract.columns:
        if column.name not in frame.columns:
            frame[column.name] = pd.NA
    frame = frame[[ROW, *contract.column_names]]
    # text stays text; categoricals (CSV columns, dictionary-encoded by the reader) stay as they are
    text = {c: frame[c].astype("str") for c in contract.column_names
            if frame[c].dtype != "str" and not isinstance(frame[c].dtype, pd.CategoricalDtype)}
    return frame.assign(**text) if text else frame
