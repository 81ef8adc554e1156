"""Hostile and malformed deliveries, for every referral feed format (CSV UTF-8, CSV Windows-1252, XLSX).

Each case is a file written by hand (never by the generator) into a real landing folder, ingested
against the real database. For every entry the platform must leave a manifest status, raise
nothing, account for every row (rows_in = loaded + quarantined), keep what it opened in the
archive, and never put a planted identifier (name, date of birth, NHS number, NINo, postcode) or
a planted secret into ``ingest.*``, the logs or the partner's alert.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from worklink.contracts import Contract, load_contracts
from worklink.ingest.service import ingest_paths, partner_landing_files
from worklink.platform.sealed_files import read_sealed
from worklink.settings import load_settings

# Identifiers planted in the rows that go wrong: none of these may leave the identity schema.
SECRET = "hunter2-loader-password-4f9c"
PLANTED = {
    "first_name": "Zebedee",
    "last_name": "Quillfeather",
    "date_of_birth": date(1971, 3, 4),
    "postcode": "M22 5RT",
    "nhs_number": "9434765919",
    "ni_number": "JZ552104A",
}
PLANTED_TEXT = ["Zebedee", "Quillfeather", "1971-03-04", "04/03/1971", "M22 5RT", "9434765919", "JZ552104A", SECRET]

BASE = {
    "first_name": "Ann", "last_name": "Smith", "date_of_birth": date(1980, 1, 2), "sex": "f", "ethnicity": None,
    "postcode": "M23 2QQ", "phone": None, "email": None, "nhs_number": None, "ni_number": None,
    "referral_date": date(2025, 7, 3), "referral_source": "gp", "priority_group": "carer",
    "main_condition": "mental_health", "carer_hours_per_week": "20", "economic_status": "inactive_other",
    "service_variant": "digital_first", "eligible": "Y", "ineligible_reason": None,
}
PARTNERS = {"wythenshawe_wellbeing": "WWC", "mossside_carers": "MSCN", "ancoats_trust": "ACT"}


def referrals_contract(partner: str) -> Contract:
    return next(c for c in load_contracts() if c.partner.id == partner and c.feed == "referrals")


def cells(contract: Contract, referral_id: str, planted: bool = False, **changes) -> list[str]:
    values = {**BASE, **(PLANTED if planted else {}), "referral_id": referral_id, **changes}
    out = []
    for column in contract.columns:
        value = values.get(column.name)
        if isinstance(value, date):
            value = value.strftime(contract.file.date_format)
        out.append("" if value is None else str(value))
    return out


def csv_bytes(contract: Contract, lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(contract.file.encoding)


def csv_line(values: list[str]) -> str:
    return ",".join(f'"{v}"' if "," in v else v for v in values)


def header(contract: Contract) -> str:
    return csv_line([c.source for c in contract.columns])


def xlsx_bytes(contract: Contract, rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = contract.file.sheet or "Sheet1"
    for _ in range(contract.file.header_row - 1):
        sheet.append(["Referrals return"])
    sheet.append([c.source for c in contract.columns])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def hostile(module_db, tmp_path_factory):
    """Write every case, ingest the whole landing folder once, return results by file name."""
    root = tmp_path_factory.mktemp("hostile")
    landing = root / "landing"
    outside = root / "outside"
    outside.mkdir()
    secrets_file = outside / "pg_password"
    secrets_file.write_text(SECRET)
    os.environ["WORKLINK_LANDING_DIR"] = str(landing)
    expected: dict[str, dict] = {}

    def put(partner: str, name: str, content: bytes, feed: str = "referrals", **expect) -> Path:
        folder = landing / partner / feed
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(content)
        expected[f"{partner}/{feed}/{name}"] = expect
        return path

    for partner, prefix in [("wythenshawe_wellbeing", "WWC"), ("mossside_carers", "MSCN")]:
        c = referrals_contract(partner)
        good = [csv_line(cells(c, f"{prefix}-1")), csv_line(cells(c, f"{prefix}-2"))]
        planted = cells(c, f"{prefix}-9", planted=True)
        h = header(c)
        # a row with one cell too few, holding identifiers: that row only is held back
        put(partner, f"{prefix}_referrals_2025-07.csv", csv_bytes(c, [h, good[0], csv_line(planted[:-1]), good[1]]),
            status="loaded_with_quarantine", rows=(3, 2, 1), rule="ragged_row", row=2)
        # an unclosed quote at a row: that row is held, the rows after it still load
        put(partner, f"{prefix}_referrals_2025-08.csv",
            csv_bytes(c, [h, good[0], '"' + csv_line(planted), good[1]]),
            status="loaded_with_quarantine", rows=(3, 2, 1), rule="unclosed_quote", row=2)
        # a NUL byte well after the first 4 KB
        padding = [csv_line(cells(c, f"{prefix}-P{i}")) for i in range(60)]
        nul = cells(c, f"{prefix}-N", planted=True)
        nul[1] = nul[1] + "\x00"
        put(partner, f"{prefix}_referrals_2025-09.csv", csv_bytes(c, [h, *padding, csv_line(nul)]),
            status="loaded_with_quarantine", rows=(61, 60, 1), rule="control_character", row=61)
        # a 5 MB cell (over Excel's own 32,767-character limit) beside identifiers
        big = cells(c, f"{prefix}-B", planted=True)
        big[c.column_names.index("ethnicity")] = "x" * 5_000_000
        put(partner, f"{prefix}_referrals_2025-10.csv", csv_bytes(c, [h, good[0], csv_line(big), good[1]]),
            status="loaded_with_quarantine", rows=(3, 2, 1), rule="cell_too_long", row=2)
        # the empty lines and ",,,," rows a spreadsheet adds at the end: skipped and counted
        commas = "," * (len(c.columns) - 1)
        put(partner, f"{prefix}_referrals_2025-11.csv", csv_bytes(c, [h, *good, commas, commas, ""]),
            status="loaded", rows=(2, 2, 0), blank=2)
        # the same column twice: which one to trust is not ours to guess
        put(partner, f"{prefix}_referrals_2025-12.csv",
            csv_bytes(c, [h + "," + c.columns[1].source, csv_line(planted + ["x"])]),
            status="rejected", rule="duplicate_column")
        # no heading row: the first line is a person's details and must not be quoted back
        put(partner, f"{prefix}_referrals_2026-01.csv", csv_bytes(c, [csv_line(planted), good[0]]),
            status="rejected", rule="missing_required_column")
        # a month that does not exist, and one in the future
        put(partner, f"{prefix}_referrals_2025-13.csv", csv_bytes(c, [h, good[0]]),
            status="rejected", rule="period_invalid")
        put(partner, f"{prefix}_referrals_2099-12.csv", csv_bytes(c, [h, good[1]]),
            status="rejected", rule="period_invalid")
        # compressed content under a .csv name, and a .csv.gz no contract claims
        put(partner, f"{prefix}_referrals_2026-02.csv", gzip.compress(csv_bytes(c, [h, csv_line(planted)])),
            status="rejected", rule="file_compressed")
        put(partner, f"{prefix}_referrals_2026-03.csv.gz", gzip.compress(csv_bytes(c, [h, csv_line(planted)])),
            status="unmatched", rule="file_name_mismatch")
        # UTF-16 ("Unicode text" in Excel)
        put(partner, f"{prefix}_referrals_2026-04.csv", ("\n".join([h, csv_line(planted)]) + "\n").encode("utf-16"),
            status="rejected", rule="file_encoding")
        # a workbook saved under a .csv name
        put(partner, f"{prefix}_referrals_2026-05.csv", xlsx_bytes(c, [planted]),
            status="rejected", rule="file_format")
        # another feed's name in the referrals folder, and a misspelt name
        put(partner, f"{prefix}_starts_2025-07.csv", csv_bytes(c, [h, csv_line(planted)]),
            status="unmatched", rule="file_name_mismatch")
        put(partner, f"{prefix}_referals_2025-07.csv", csv_bytes(c, [h, csv_line(planted)]),
            status="unmatched", rule="file_name_mismatch")
        # links: to the platform's secrets, and to a valid file outside landing
        link_dir = landing / partner / "referrals"
        (link_dir / f"{prefix}_referrals_2026-06.csv").symlink_to(secrets_file)
        expected[f"{partner}/referrals/{prefix}_referrals_2026-06.csv"] = dict(status="refused", rule="landing_symlink")
        valid_outside = outside / f"{prefix}_valid.csv"
        valid_outside.write_bytes(csv_bytes(c, [h, csv_line(planted)]))
        (link_dir / f"{prefix}_referrals_2026-07.csv").symlink_to(valid_outside)
        expected[f"{partner}/referrals/{prefix}_referrals_2026-07.csv"] = dict(status="refused", rule="landing_symlink")
        # a pipe (reading it would block forever)
        os.mkfifo(link_dir / f"{prefix}_referrals_2026-08.csv")
        expected[f"{partner}/referrals/{prefix}_referrals_2026-08.csv"] = dict(status="refused",
                                                                                rule="landing_not_a_file")
        # BOM (Excel's "CSV UTF-8") on a UTF-8 feed loads; on a Windows-1252 feed, ASCII content loads too
        put(partner, f"{prefix}_referrals_2026-09.csv", b"\xef\xbb\xbf" + csv_bytes(c, [h, *good]),
            status="loaded", rows=(2, 2, 0))

    # mixed encodings: one row typed on a Windows machine inside a UTF-8 file (the row is named, not quoted)
    c = referrals_contract("wythenshawe_wellbeing")
    mixed = cells(c, "WWC-M", planted=True)
    mixed[1] = "Ren\xe9e"
    put("wythenshawe_wellbeing", "WWC_referrals_2026-12.csv",
        csv_bytes(c, [header(c), csv_line(cells(c, "WWC-1"))]) + csv_line(mixed).encode("cp1252") + b"\r\n",
        status="rejected", rule="file_encoding", row=2)
    # a whole linked folder in place of a feed folder
    (landing / "wythenshawe_wellbeing" / "starts").symlink_to(outside)
    expected["wythenshawe_wellbeing/starts"] = dict(status="refused", rule="landing_symlink")
    # a file at the landing root: no partner owns it
    (landing / "stray.csv").write_bytes(b"a,b\n1,2\n")
    expected["stray.csv"] = dict(status="unmatched", rule="file_name_mismatch")

    c = referrals_contract("ancoats_trust")
    good = [cells(c, "ACT-1"), cells(c, "ACT-2")]
    planted = cells(c, "ACT-9", planted=True)
    # a formula whose result was never saved (generated workbooks): held with a clear rule, not "required"
    formula = list(planted)
    formula[c.column_names.index("referral_source")] = '=LOWER("GP")'
    put("ancoats_trust", "ACT_referrals_2025-07.xlsx", xlsx_bytes(c, [good[0], formula, good[1]]),
        status="loaded_with_quarantine", rows=(3, 2, 1), rule="formula_without_value", row=2)
    undated = list(good[1])
    undated[c.column_names.index("referral_date")] = "not a date"
    # an empty row between two rows: skipped and counted, and the row after it keeps its own number
    put("ancoats_trust", "ACT_referrals_2025-08.xlsx",
        xlsx_bytes(c, [good[0], [None] * len(c.columns), undated]),
        status="loaded_with_quarantine", rows=(2, 1, 1), blank=1, rule="type_date", row=3)
    put("ancoats_trust", "ACT_referrals_2025-09.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        status="rejected", rule="file_format")
    put("ancoats_trust", "ACT_referrals_2025-10.xlsx", csv_bytes(c, [header(c), csv_line(planted)]),
        status="rejected", rule="file_format")
    put("ancoats_trust", "ACT_referrals_2025-11.xlsx", xlsx_bytes(c, [planted])[:700],
        status="rejected", rule="file_format")
    put("ancoats_trust", "ACT_referrals_2026-01.xlsx", xlsx_bytes(c, [[*planted, "extra"]]),
        status="rejected", rule="unexpected_column")
    (landing / "ancoats_trust" / "referrals" / "ACT_referrals_2026-02.xlsx").symlink_to(secrets_file)
    expected["ancoats_trust/referrals/ACT_referrals_2026-02.xlsx"] = dict(status="refused", rule="landing_symlink")

    # a misspelt workbook name: kept, recorded unmatched, with the feed it resembles
    put("ancoats_trust", "ACT_refferals_2025-07.xlsx", xlsx_bytes(c, [planted]),
        status="unmatched", rule="file_name_mismatch")
    # files listed for ingestion that are gone by the time they are opened; the others still load
    vanished = landing / "ancoats_trust" / "referrals" / "ACT_referrals_2026-03.xlsx"
    expected["ancoats_trust/referrals/ACT_referrals_2026-03.xlsx"] = dict(status="refused", rule="file_vanished")
    vanished_csv = landing / "mossside_carers" / "referrals" / "MSCN_referrals_2026-11.csv"
    expected["mossside_carers/referrals/MSCN_referrals_2026-11.csv"] = dict(status="refused", rule="file_vanished")

    logger = logging.getLogger()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(message)s %(exc_text)s"))
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        results = ingest_paths([landing, vanished, vanished_csv], settings=load_settings(), contracts=load_contracts(),
                               run_label="hostile-run")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    by_name = {}
    for r in results:
        try:
            key = str(Path(r.file).relative_to(landing))
        except ValueError:
            key = Path(r.file).name
        by_name[key] = r
    return dict(results=by_name, expected=expected, landing=landing, logs="\n".join(records),
                url=module_db, outside=outside)


def test_every_entry_has_the_expected_status_and_rule(hostile):
    results, expected = hostile["results"], hostile["expected"]
    assert set(expected) <= set(results), sorted(set(expected) - set(results))
    wrong = {}
    for name, expect in expected.items():
        result = results[name]
        got = {"status": result.status}
        if "rule" in expect:
            rules = {e.rule for e in result.errors}
            got["rule"] = expect["rule"] if expect["rule"] in rules else sorted(rules)
        if "rows" in expect:
            got["rows"] = (result.rows_in, result.rows_loaded, result.rows_quarantined)
        if "row" in expect:
            got["row"] = expect["row"] if expect["row"] in {e.row for e in result.errors} else None
        if "blank" in expect:
            got["blank"] = result.blank_rows
        if got != {k: v for k, v in expect.items()}:
            wrong[name] = (got, expect)
    for name, (got, expect) in wrong.items():
        print(f"{name}: got {got} expected {expect}")
    assert not wrong, sorted(wrong)


def test_every_entry_is_recorded_accounted_for_and_kept(hostile, db):
    rows = db.execute("""select file_name, status, rows_in, rows_loaded, rows_quarantined, archive_path, sha256
                           from ingest.file_manifest where ingest_run = 'hostile-run'""").fetchall()
    assert len(rows) == len(hostile["results"])
    for name, status, rows_in, loaded, quarantined, archive_path, sha in rows:
        assert rows_in == loaded + quarantined, name
        if status == "refused":
            assert archive_path is None and sha is None, name  # never opened, so nothing to keep
        else:
            assert archive_path and Path(archive_path).is_file(), name
            assert oct(Path(archive_path).stat().st_mode & 0o777) == "0o600", name
            assert oct(Path(archive_path).parent.stat().st_mode & 0o777) == "0o700", name


def test_nothing_outside_landing_was_loaded_or_archived(hostile, db):
    archived = [read_sealed(p) for p in load_settings().archive_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert not any(SECRET.encode() in content for content in archived)
    loaded = db.execute("""select count(*) from raw.vcse_referrals r join ingest.file_manifest m
                            on m.file_id = r._file_id where m.file_name like '%%2026-07%%'""").fetchone()[0]
    assert loaded == 0


def test_no_planted_identifier_or_secret_in_messages_logs_or_alerts(hostile, db):
    from worklink.alerts.delivery import alert_partner, files_of_run

    texts = [hostile["logs"]]
    for table in ("file_manifest", "file_issues", "dq_history"):
        texts += [str(row) for row in db.execute(f"select * from ingest.{table}").fetchall()]
    for result in hostile["results"].values():
        texts += [e.message for e in result.errors]
    os.environ.pop("AIRFLOW_CONN_WORKLINK_SMTP", None)
    for partner in PARTNERS:
        ids = files_of_run(partner, "hostile-run")  # what the Airflow alert task reads
        assert set(ids) == {r.file_id for r in hostile["results"].values() if r.partner == partner
                            and r.file_id and r.status != "duplicate"}
        outcome = alert_partner(partner, ids)
        assert outcome is not None, partner
        texts.append(outcome.report_path.read_text())
        texts += [p.read_text() for p in outcome.report_path.parent.glob("rows-to-fix-*.csv")]
        assert oct(outcome.report_path.stat().st_mode & 0o777) == "0o600"
    blob = "\n".join(texts)
    leaked = [value for value in PLANTED_TEXT if value in blob]
    assert not leaked, leaked
    assert "Traceback" not in hostile["logs"]


def test_missing_partner_folder_means_no_files(hostile, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKLINK_LANDING_DIR", str(tmp_path / "nowhere"))
    assert partner_landing_files("ancoats_trust") == []


def delivery(partner: str, referral_ids: list[str], planted: bool = False, **changes) -> tuple[str, bytes]:
    """A referrals file of ``partner``'s own format: (file suffix, content)."""
    c = referrals_contract(partner)
    rows = [cells(c, rid, planted=planted, **changes) for rid in referral_ids]
    if c.file.format == "xlsx":
        return ".xlsx", xlsx_bytes(c, rows)
    return ".csv", csv_bytes(c, [header(c), *(csv_line(r) for r in rows)])


@pytest.mark.parametrize("partner", sorted(PARTNERS))
def test_an_internal_error_is_recorded_and_the_run_goes_on(hostile, db, monkeypatch, caplog, partner):
    """A crash inside the loader (here forced, with identifiers in its message) is the file's status."""
    import worklink.ingest.loader as loader

    prefix = PARTNERS[partner]
    folder = hostile["landing"] / partner / "referrals"
    suffix, content = delivery(partner, [f"{prefix}-C1"], planted=True)
    crash = folder / f"{prefix}_referrals_2026-10{suffix}"
    crash.write_bytes(content)
    suffix, content = delivery(partner, [f"{prefix}-C2"])
    after = folder / f"{prefix}_referrals_2026-11{suffix}"
    after.write_bytes(content)
    real_validate = loader.validate

    def flaky(prepared, contract, suite, period):
        if period == "2026-10":
            raise ValueError("cannot handle Zebedee Quillfeather 9434765919")
        return real_validate(prepared, contract, suite, period)

    monkeypatch.setattr(loader, "validate", flaky)
    caplog.set_level(logging.DEBUG)
    first, second = ingest_paths([crash, after], run_label=f"crash-run-{partner}")
    assert first.status == "error" and first.errors[0].rule == "internal_error"
    assert "ValueError" in first.errors[0].message and "Zebedee" not in first.errors[0].message
    assert second.status == "loaded"
    assert "Zebedee" not in caplog.text and "9434765919" not in caplog.text
    row = db.execute("select status, archive_path from ingest.file_manifest where file_id = %s",
                     (first.file_id,)).fetchone()
    assert row[0] == "error" and Path(row[1]).is_file()
    # nothing of the crashed load is left behind, and the next run tries the file again
    assert db.execute("select count(*) from raw.vcse_referrals where _file_id = %s", (first.file_id,)).fetchone()[0] == 0
    monkeypatch.setattr(loader, "validate", real_validate)
    [retried] = ingest_paths([crash], run_label=f"crash-retry-{partner}")
    assert retried.status == "loaded"


@pytest.mark.parametrize("partner", sorted(PARTNERS))
def test_a_header_only_resend_is_held_not_current(hostile, db, partner):
    """A month of three rows, then the same month again with headings only: held, the three stay."""
    prefix = PARTNERS[partner]
    folder = hostile["landing"] / partner / "referrals"
    # June 2025, the programme's first month (no other case here uses it)
    suffix, content = delivery(partner, [f"{prefix}-H1", f"{prefix}-H2", f"{prefix}-H3"],
                               referral_date=date(2025, 6, 10))
    path = folder / f"{prefix}_referrals_2025-06{suffix}"
    path.write_bytes(content)
    [full] = ingest_paths([path], run_label=f"full-{partner}")
    assert full.status == "loaded" and full.rows_loaded == 3
    suffix, content = delivery(partner, [])
    path.write_bytes(content)
    [empty] = ingest_paths([path], run_label=f"empty-{partner}")
    assert (empty.status, empty.rows_in) == ("needs_confirmation", 0)
    current = db.execute("""select count(*) from raw.vcse_referrals where _partner_id = %s and _period = '2025-06'
                             and _is_current""", (partner,)).fetchone()[0]
    assert current == 3


def test_a_workbook_that_unpacks_past_the_limit_is_refused_unread(tmp_path):
    """A zip bomb: 40 MB of one repeated cell packs into a few hundred KB; the limit is set to 8 MB."""
    from worklink.ingest.reader import FileRejected, read_rows

    c = referrals_contract("ancoats_trust")
    small = c.model_copy(update={"file": c.file.model_copy(update={"max_unpacked_bytes": 8 << 20})})
    rows = [cells(c, f"ACT-{i}") for i in range(2)] + [["x" * 30_000] * 5 for _ in range(280)]
    path = tmp_path / "ACT_referrals_2025-07.xlsx"
    path.write_bytes(xlsx_bytes(c, rows))
    assert path.stat().st_size < 2 << 20  # packed small, unpacks big
    with pytest.raises(FileRejected) as raised:
        read_rows(path, small)
    assert raised.value.rule_id == "file_too_large" and "unpacks to" in raised.value.message
