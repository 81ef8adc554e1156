"""`worklink check` (the nightly's checks on one file, no warehouse) and `worklink contracts template`
(a template written from each contract). Every contract's template, filled with its example row,
passes the check; hand-written defective files give the partner's own spreadsheet row numbers and
headers, file-level problems come first, and no cell value is ever printed."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from worklink.contracts import load_code_lists, load_contracts
from worklink.feed_templates import example_row, template_name, write_template
from worklink.ingest.precheck import check_file
from worklink.settings import load_settings

WORKLINK = str(Path(sys.executable).with_name("worklink"))
PERIOD = "2025-10"
CONTRACTS = load_contracts()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # An unreachable database: the check must not need one.
    env = {**os.environ, "WORKLINK_DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/none"}
    return subprocess.run([WORKLINK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c.key for c in CONTRACTS])
def test_every_contracts_template_passes_the_check(contract, tmp_path):
    path = write_template(contract, tmp_path / template_name(contract, PERIOD), PERIOD)
    report = check_file(path, contract, load_settings().expectations_dir)
    assert report.verdict == "would_load", report.to_dict()
    assert report.rows == 1 and report.problems == []


def test_the_workbook_template_has_the_agreed_layout_and_drop_down_lists(tmp_path):
    contract = next(c for c in CONTRACTS if c.key == "ancoats_trust__referrals")
    path = write_template(contract, tmp_path / "ACT_referrals_2025-10.xlsx", PERIOD)
    book = load_workbook(path)
    sheet = book[contract.file.sheet]
    header_row = contract.file.header_row  # 3: two title lines above the headers
    assert [c.value for c in sheet[header_row]] == [c.source for c in contract.columns]
    assert sheet.cell(header_row + 1, 1).value == example_row(contract, PERIOD)["Client Ref"]
    coded = {c.source: c.code_list for c in contract.columns if c.code_list}
    lists = book["lists"]
    assert lists.sheet_state == "hidden"
    validations = sheet.data_validations.dataValidation
    assert len(validations) == len(coded)
    by_column = {}
    for rule in validations:
        first_cell = str(rule.sqref).split(":")[0]
        header = sheet[first_cell.rstrip("0123456789") + str(header_row)].value
        by_column[header] = rule
        assert rule.type == "list" and first_cell.endswith(str(header_row + 1))
    assert set(by_column) == set(coded)
    # the priority group's list holds exactly the agreed codes
    letter = by_column["Priority Group"].formula1.split("!")[1].split(":")[0].strip("$").rstrip("0123456789$")
    listed = [c.value for c in lists[letter][1:] if c.value is not None]
    assert listed == load_code_lists()["priority_group"]
    guide = book["guide"]
    assert [r[0].value for r in guide.iter_rows(min_row=2)] == [c.source for c in contract.columns]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_check_reports_row_problems_with_spreadsheet_rows_and_never_a_value(tmp_path):
    contract = next(c for c in CONTRACTS if c.key == "wythenshawe_wellbeing__referrals")
    example = example_row(contract, PERIOD)
    headers = list(example)

    def row(**changes):
        values = dict(example)
        values.update(changes)
        return [values[h] for h in headers]

    # Line 1 is the header, so data row n is spreadsheet row n + 1:
    #   line 2: the example row (fine); line 3: no referral date (required -> held);
    #   line 4: NHS number 1234567890 fails modulus 11 (optional identifier -> left out, row loads);
    #   line 5: priority group not in the code list (held). 4 rows, 2 held.
    path = _write_csv(tmp_path / "WWC_referrals_2025-10.csv", [
        headers, row(), row(referral_id="R-2", referral_date=""), row(referral_id="R-3", nhs_number="1234567890"),
        row(referral_id="R-4", priority_group="SECRETGROUP")])
    proc = _cli("check", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == "would_load_with_held_rows"
    assert (report["rows"], report["rows_held"]) == (4, 2)
    found = {(p["spreadsheet_row"], p["column"], p["rule"], p["severity"]) for p in report["problems"]}
    assert found == {(3, "referral_date", "required", "quarantine_row"),
                     (4, "nhs_number", "nhs_number", "warn"),
                     (5, "priority_group", "code_list", "quarantine_row")}
    text = _cli("check", str(path), cwd=tmp_path).stdout
    assert text.splitlines()[1].startswith("WOULD LOAD 2 of 4 rows")
    assert "SECRETGROUP" not in text + proc.stdout and "1234567890" not in text + proc.stdout


def test_a_file_that_would_be_rejected_says_so_first_and_exits_1(tmp_path):
    contract = next(c for c in CONTRACTS if c.key == "wythenshawe_wellbeing__referrals")
    example = example_row(contract, PERIOD)
    headers = [h for h in example if h != contract.column("referral_date").source]
    path = _write_csv(tmp_path / "WWC_referrals_2025-10.csv", [headers, [example[h] for h in headers]])
    proc = _cli("check", str(path), "--partner", "wythenshawe_wellbeing", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("REJECTED: A required column is missing")
    assert any(line.strip().startswith("What to do: Use the agreed template") for line in lines)
    assert "referral_date" in proc.stdout or contract.column("referral_date").source in proc.stdout


def test_unknown_names_links_and_wrong_template_suffixes_are_refused(tmp_path):
    stray = tmp_path / "notes.csv"
    stray.write_text("a,b\n1,2\n")
    proc = _cli("check", str(stray), cwd=tmp_path)
    assert proc.returncode == 2 and "no feed agreement matches" in proc.stderr
    contract = next(c for c in CONTRACTS if c.key == "wythenshawe_wellbeing__referrals")
    real = write_template(contract, tmp_path / "real" / "WWC_referrals_2025-10.csv", PERIOD)
    link = tmp_path / "WWC_referrals_2025-11.csv"
    link.symlink_to(real)
    proc = _cli("check", str(link), cwd=tmp_path)
    assert proc.returncode == 1 and "symbolic link" in proc.stdout
    proc = _cli("contracts", "template", "ancoats_trust", "referrals", "--out", "x.csv", cwd=tmp_path)
    assert proc.returncode == 2 and "as xlsx" in proc.stderr
    proc = _cli("contracts", "template", "ancoats_trust", "referrals", "--period", "2025-10", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "ACT_referrals_2025-10.xlsx").exists()
