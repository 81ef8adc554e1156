"""Writing landing files (deterministic CSV / xlsx) and injecting defects."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from worklink.identifiers import is_valid_nhs_number, nhs_number_check_digit

from . import params as P
from .schema import CODE_LISTS, EVENT_DATE, ICB_CODE_LISTS, REQUIRED, PartnerSpec


@dataclass
class LandingFile:
    """One landing file: canonical object frame (python values) plus truth columns _key/_person/_defect."""

    rel_path: str
    partner_id: str
    feed: str  # VCSE feed name, "icb_referrals", "dwp" or "hmrc"
    period: str
    types: dict[str, str]
    frame: pd.DataFrame
    spec: PartnerSpec | None = None
    encoding: str = "utf-8"
    line_terminator: str = "\n"
    date_format: str | None = "%Y-%m-%d"
    file_defect: str = ""
    drop_column: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        if self.spec is None:
            return {c: c for c in self.types}
        return self.spec.headers[self.feed]

    @property
    def period_end(self) -> dt.date:
        m = np.datetime64(self.period, "M")
        return ((m + 1).astype("datetime64[D]") - np.timedelta64(1, "D")).astype(object)


def to_python(values: np.ndarray | pd.Series, kind: str) -> np.ndarray:
    """Column -> object array of python values (datetime.date / int / float / str) with None for missing."""
    if kind == "date":
        return np.asarray(values).astype("datetime64[D]").astype(object)
    arr = pd.Series(values).astype(object).to_numpy()
    if kind == "int":
        return np.array([None if _missing(v) else int(v) for v in arr], dtype=object)
    if kind == "float":
        return np.array([None if _missing(v) else float(v) for v in arr], dtype=object)
    return np.array([None if _missing(v) or v == "" else str(v) for v in arr], dtype=object)


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _fmt_float(col: str, v: float) -> str:
    return f"{v:.2f}" if col in ("hourly_pay_gbp", "gross_pay_gbp") else f"{v:g}"


def format_for_csv(frame: pd.DataFrame, types: dict[str, str], date_format: str) -> pd.DataFrame:
    out = {}
    for col, kind in types.items():
        vals = frame[col].to_numpy(dtype=object)
        if kind == "date":
            out[col] = ["" if v is None else v.strftime(date_format) for v in vals]
        elif kind == "float":
            out[col] = ["" if v is None else _fmt_float(col, v) for v in vals]
        else:
            out[col] = ["" if v is None else str(v) for v in vals]
    return pd.DataFrame(out, columns=list(types))


# ------------------------------------------------------------------------------------------------ writers
def write_csv(path: Path, frame: pd.DataFrame, encoding: str, line_terminator: str) -> None:
    """Write a CSV (minimal quoting). Large plain UTF-8 tables go through pyarrow for speed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(frame) > 50_000 and encoding == "utf-8" and line_terminator == "\n":
        try:
            _write_csv_arrow(path, frame)
            return
        except (pa.ArrowInvalid, ValueError):  # a value needs quoting: fall back to pandas
            pass
    text = frame.to_csv(index=False, lineterminator=line_terminator)
    path.write_bytes(text.encode(encoding))


def _write_csv_arrow(path: Path, frame: pd.DataFrame) -> None:
    header = [str(c) for c in frame.columns]
    if any(ch in h for h in header for ch in ',"\n'):
        raise ValueError("header needs quoting")
    data = {
        c: pa.array(
            frame[c].astype(object).where(frame[c].notna(), "").astype(str).to_numpy(dtype=object),
            type=pa.string(),
        )
        for c in frame.columns
    }
    buf = io.BytesIO()
    buf.write((",".join(header) + "\n").encode())
    pacsv.write_csv(pa.table(data), buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    path.write_bytes(buf.getvalue())


# Minimal, deterministic xlsx writer (openpyxl's writer is ~20x slower for large sheets). One sheet,
# inline strings, dates as serial numbers with a dd/mm/yyyy number format (real Excel dates).
_NS = "http://schemas.openxmlformats.org"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (
    _XML + f'<Types xmlns="{_NS}/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'
)
_ROOT_RELS = (
    _XML + f'<Relationships xmlns="{_NS}/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_NS}/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_NS}/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_NS}/officeDocument/2006/relationships/extended-properties" '
    'Target="docProps/app.xml"/></Relationships>'
)
_WB_RELS = (
    _XML + f'<Relationships xmlns="{_NS}/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_NS}/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_NS}/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    _XML + f'<styleSheet xmlns="{_NS}/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_APP = (
    _XML + f'<Properties xmlns="{_NS}/officeDocument/2006/extended-properties">'
    "<Application>worklink synthetic data</Application></Properties>"
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(ref: str, v, style: int = 0) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return f'<c r="{ref}" s="1"><v>{(v - _EXCEL_EPOCH).days}</v></c>'
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<c r="{ref}"><v>{v!r}</v></c>'
    st = f' s="{style}"' if style else ""
    return f'<c r="{ref}" t="inlineStr"{st}><is><t xml:space="preserve">{_esc(str(v))}</t></is></c>'


def write_xlsx(path: Path, frame: pd.DataFrame, headers: list[str], sheet: str, titles: list[str]) -> None:
    """One-sheet workbook: title lines, a bold header row, then the data rows."""
    letters = [_col_letter(i) for i in range(max(len(headers), 1))]
    rows: list[str] = []
    r = 0
    for t in titles:
        r += 1
        rows.append(f'<row r="{r}">{_cell(f"A{r}", t, 2)}</row>')
    r += 1
    rows.append(
        f'<row r="{r}">' + "".join(_cell(f"{letters[j]}{r}", h, 2) for j, h in enumerate(headers)) + "</row>"
    )
    for values in frame.itertuples(index=False, name=None):
        r += 1
        rows.append(
            f'<row r="{r}">' + "".join(_cell(f"{letters[j]}{r}", v) for j, v in enumerate(values)) + "</row>"
        )
    sheet_xml = (
        _XML
        + f'<worksheet xmlns="{_NS}/spreadsheetml/2006/main"><sheetData>'
        + "".join(rows)
        + "</sheetData></worksheet>"
    )
    workbook = (
        _XML + f'<workbook xmlns="{_NS}/spreadsheetml/2006/main" '
        f'xmlns:r="{_NS}/officeDocument/2006/relationships"><sheets>'
        f'<sheet name="{_esc(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    stamp = P.FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ")
    core = (
        _XML + f'<cp:coreProperties xmlns:cp="{_NS}/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>worklink synthetic data'
        f'</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    )
    parts = [
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _ROOT_RELS),
        ("docProps/app.xml", _APP),
        ("docProps/core.xml", core),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", _WB_RELS),
        ("xl/styles.xml", _STYLES),
        ("xl/worksheets/sheet1.xml", sheet_xml),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts:
            zi = zipfile.ZipInfo(name, date_time=P.FIXED_TIMESTAMP.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zf.writestr(zi, content.encode("utf-8"))
    path.write_bytes(buf.getvalue())


def write_landing(out_dir: Path, lf: LandingFile) -> int:
    """Write one landing file; returns the number of data rows written."""
    path = out_dir / lf.rel_path
    frame = lf.frame[list(lf.types)]
    if lf.file_defect == "empty_file":
        # A zero-byte delivery (a failed export). Header-only files are legitimate
        # "nothing this month" returns, so the empty-file defect must be truly empty.
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        return 0
    headers = lf.headers
    cols = [c for c in lf.types if c != lf.drop_column]
    types = {c: lf.types[c] for c in cols}
    if lf.spec is not None and lf.spec.file_format == "xlsx":
        title = f"{lf.spec.name} - {lf.feed.replace('_', ' ').title()}"
        period = pd.Period(lf.period, "M").strftime("%B %Y")
        write_xlsx(
            path,
            frame[cols],
            [headers[c] for c in cols],
            lf.feed,
            [title, f"Reporting period: {period} ({lf.period})"],
        )
    else:
        text = format_for_csv(frame[cols], types, lf.date_format or "%Y-%m-%d")
        text.columns = [headers[c] for c in cols]
        write_csv(path, text, lf.encoding, lf.line_terminator)
    return len(frame)


# ------------------------------------------------------------------------------------------------ defects
ROW_DEFECTS = {
    "referrals": [
        "invalid_nhs_number",
        "invalid_nino",
        "invalid_postcode",
        "future_date",
        "date_before_programme",
        "missing_required",
        "unknown_code",
        "duplicate_row",
    ],
    "starts": [
        "future_date",
        "date_before_programme",
        "dates_out_of_order",
        "missing_required",
        "unknown_code",
        "duplicate_row",
    ],
    "activities": [
        "future_date",
        "date_before_programme",
        "missing_required",
        "unknown_code",
        "duplicate_row",
    ],
    "wellbeing": [
        "future_date",
        "date_before_programme",
        "missing_required",
        "unknown_code",
        "wellbeing_out_of_range",
        "duplicate_row",
    ],
    "job_starts": [
        "future_date",
        "date_before_programme",
        "dates_out_of_order",
        "missing_required",
        "unknown_code",
        "duplicate_row",
    ],
    "leavers": ["future_date", "date_before_programme", "missing_required", "unknown_code", "duplicate_row"],
    # the WorkWell service's own feeds (synth/workwell.py)
    "icb_starts": ["duplicate_row"],
    "icb_contacts": ["missing_required", "duplicate_row"],
    "icb_exits": ["missing_required", "duplicate_row"],
    "icb_fit_notes": ["missing_required", "duplicate_row"],
    "job_updates": ["future_date", "date_before_programme", "missing_required", "unknown_code", "duplicate_row"],
    "payslips": ["future_date", "date_before_programme", "missing_required", "duplicate_row"],
    "icb_referrals": [
        "invalid_nhs_number",
        "invalid_postcode",
        "future_date",
        "date_before_programme",
        "missing_required",
        "unknown_code",
        "duplicate_row",
    ],
}
UNKNOWN_CODE_COLUMNS = {
    "referrals": ["referral_source", "priority_group", "economic_status"],
    "starts": ["did_not_start_reason"],
    "activities": ["contact_mode", "activity_type"],
    "wellbeing": ["timepoint"],
    "job_starts": ["evidence_type"],
    "leavers": ["leaver_reason"],
    "job_updates": ["update_type"],
    "icb_referrals": ["referral_source", "fit_note_status"],
}
_BAD_CODES = ["xyz", "TBC", "GPP"]
_BAD_NINO_PREFIXES = ["QQ", "BG", "GB", "NK", "ZZ", "DA", "FO", "AO"]


def code_list(feed: str, column: str) -> list[str]:
    return (ICB_CODE_LISTS if feed == "icb_referrals" else CODE_LISTS)[column]


def _date_col(lf: LandingFile, row: dict) -> str | None:
    col = EVENT_DATE[lf.feed]
    if row.get(col) is None and lf.feed == "starts":
        col = "first_contact_date"
    return col if row.get(col) is not None else None


def _apply_one(rng: np.random.Generator, lf: LandingFile, row: dict, kind: str) -> tuple[str, str] | None:
    """Mutate ``row`` (a dict of canonical values) in place. Returns (column, description) or None."""
    programme_start = (P.WW_START if lf.feed.startswith("icb_") else P.ETB_START).astype(object)
    if kind == "invalid_nhs_number":
        base = (row.get("nhs_number") or "").replace(" ", "")
        if not is_valid_nhs_number(base):
            body = f"999{int(rng.integers(0, 1_000_000)):06d}"
            check = nhs_number_check_digit(body)
            base = body + str(check if check is not None else 0)
        if rng.random() < 0.7:
            bad = base[:9] + str((int(base[9]) + int(rng.integers(1, 10))) % 10)
            desc = f"check digit changed ({base} -> {bad})"
        else:
            bad = base[:-1]
            desc = f"9 digits ({bad})"
        row["nhs_number"] = bad
        return "nhs_number", desc
    if kind == "invalid_nino":
        dob = row.get("date_of_birth")
        if dob is not None and rng.random() < 0.5:
            bad = f"TN{dob.strftime('%d%m%y')}{'F' if row.get('sex') == 'F' else 'M'}"
            desc = f"temporary TN number {bad}"
        elif rng.random() < 0.5:
            bad = (
                f"{_BAD_NINO_PREFIXES[int(rng.integers(0, len(_BAD_NINO_PREFIXES)))]}"
                f"{int(rng.integers(0, 1_000_000)):06d}{'ABCD'[int(rng.integers(0, 4))]}"
            )
            desc = f"invalid prefix {bad}"
        else:
            bad = f"AB{int(rng.integers(0, 100_000)):05d}"
            desc = f"malformed (too short) {bad}"
        row["ni_number"] = bad
        return "ni_number", desc
    if kind == "invalid_postcode":
        pc = row.get("postcode") or "M14 5TQ"
        compact = pc.replace(" ", "").upper()
        choice = int(rng.integers(0, 3))
        if choice == 0:
            bad = pc[:-1]
        elif choice == 1:
            bad = f"{compact[:-3]} {compact[-3]}CI"
        else:
            bad = re.sub(r"^[A-Za-z]+", "", pc)
        row["postcode"] = bad
        return "postcode", f"{pc!r} -> {bad!r}"
    if kind == "future_date":
        col = _date_col(lf, row)
        if col is None:
            return None
        new = lf.period_end + dt.timedelta(days=int(rng.integers(1, 366)))
        row[col] = new
        return col, f"date after the file period end ({new.isoformat()})"
    if kind == "date_before_programme":
        col = _date_col(lf, row)
        if col is None:
            return None
        new = programme_start - dt.timedelta(days=int(rng.integers(1, 400)))
        row[col] = new
        return col, f"date before the programme began ({new.isoformat()} < {programme_start.isoformat()})"
    if kind == "dates_out_of_order":
        if lf.feed == "starts":
            if row.get("start_date") is None or row.get("first_contact_date") is None:
                return None
            new = row["first_contact_date"] - dt.timedelta(days=int(rng.integers(1, 31)))
            row["start_date"] = new
            return "start_date", f"start_date {new.isoformat()} before first_contact_date"
        if row.get("job_start_date") is None:
            return None
        new = row["job_start_date"] - dt.timedelta(days=int(rng.integers(1, 61)))
        row["job_end_date"] = new
        return "job_end_date", f"job_end_date {new.isoformat()} before job_start_date"
    if kind == "missing_required":
        cols = [c for c in REQUIRED[lf.feed] if row.get(c) is not None]
        if not cols:
            return None
        col = cols[int(rng.integers(0, len(cols)))]
        row[col] = None
        return col, f"required field {col} empty"
    if kind == "unknown_code":
        cols = [c for c in UNKNOWN_CODE_COLUMNS[lf.feed] if row.get(c) is not None]
        if not cols:
            return None
        col = cols[int(rng.integers(0, len(cols)))]
        bad = _BAD_CODES[int(rng.integers(0, len(_BAD_CODES)))]
        row[col] = bad
        return col, f"{bad!r} not in the {col} code list"
    if kind == "wellbeing_out_of_range":
        k, lo, hi = P.INSTRUMENTS[row["instrument"]]
        col = f"item_{int(rng.integers(1, k + 1)):02d}"
        bad = hi + 2 if rng.random() < 0.7 else lo - 1
        row[col] = bad
        return col, f"{row['instrument']} {col} = {bad} (valid {lo}-{hi})"
    raise ValueError(kind)


def inject_row_defects(rng: np.random.Generator, lf: LandingFile, rate: float) -> list[dict]:
    """Give a fraction ``rate`` of the rows one defect each (stochastic rounding of rate x rows)."""
    n = len(lf.frame)
    k = int(np.floor(rate * n + rng.random()))
    if n == 0 or k == 0:
        return []
    chosen = np.sort(rng.choice(n, size=min(k, n), replace=False))
    records = lf.frame.to_dict("records")
    kinds = ROW_DEFECTS[lf.feed]
    dup_after: list[int] = []
    notes: dict[int, tuple[str, str, str]] = {}
    for i in chosen.tolist():
        for kind in rng.permutation(kinds).tolist():
            if kind == "duplicate_row":
                dup_after.append(i)
                notes[-(i + 1)] = ("duplicate_row", "", "exact copy of the previous row")
                break
            res = _apply_one(rng, lf, records[i], kind)
            if res is not None:
                records[i]["_defect"] = kind
                notes[i] = (kind, res[0], res[1])
                break
    out_rows: list[dict] = []
    log: list[dict] = []
    dups = set(dup_after)
    for i, rec in enumerate(records):
        out_rows.append(rec)
        if i in notes:
            kind, col, desc = notes[i]
            log.append({"row_number": len(out_rows), "column": col, "defect_type": kind, "description": desc})
        if i in dups:
            copy = dict(rec)
            copy["_defect"] = "duplicate_row"
            out_rows.append(copy)
            log.append(
                {
                    "row_number": len(out_rows),
                    "column": "",
                    "defect_type": "duplicate_row",
                    "description": f"exact copy of data row {len(out_rows) - 1}",
                }
            )
    lf.frame = pd.DataFrame(out_rows, columns=lf.frame.columns, dtype=object)
    for entry in log:
        entry["file"] = lf.rel_path
    return log
