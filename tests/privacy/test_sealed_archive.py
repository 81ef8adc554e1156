"""Every received file is kept sealed (AES-256-GCM): unreadable without the key, any alteration or
truncation detected, still identical to what was received when opened with the key, and the key
can be rotated without losing a file. Real ingest, real archive folder, real database."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from worklink.ingest.service import ingest_paths
from worklink.platform.sealed_files import MAGIC, SealedFileError, read_sealed

WORKLINK = str(Path(sys.executable).with_name("worklink"))
HEADER = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
          "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
          "economic_status,service_variant,eligible,ineligible_reason")
# Planted identifiers (invented): none of them may appear in the archive's bytes.
PLANTED = ["Zebedee", "Quaterman", "1961-04-17", "9990000018", "AB123456C", "M22 5RT"]
ROW = "S-1,Zebedee,Quaterman,1961-04-17,F,,M22 5RT,,,9990000018,AB123456C,2025-07-03,gp,carer,mental_health,20,inactive_other,,Y,"


@pytest.fixture(scope="module")
def archived(module_db, tmp_path_factory):
    state = tmp_path_factory.mktemp("sealed_state")
    landing = state / "landing"
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    delivered = folder / "WWC_referrals_2025-07.csv"
    delivered.write_text(HEADER + "\n" + ROW + "\n")
    saved = {k: os.environ.get(k) for k in ("WORKLINK_STATE_DIR", "WORKLINK_LANDING_DIR")}
    os.environ.update(WORKLINK_STATE_DIR=str(state), WORKLINK_LANDING_DIR=str(landing))
    try:
        [result] = ingest_paths([delivered])
        yield state, delivered, result
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([WORKLINK, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=180)


def test_the_archived_file_holds_no_identifier_and_opens_to_the_received_bytes(archived, db):
    state, delivered, result = archived
    assert result.status == "loaded"
    path, sha256 = db.execute("select archive_path, sha256 from ingest.file_manifest where file_id = %s",
                              (result.file_id,)).fetchone()
    path = Path(path)
    assert path.parent.parent.parent == state / "archive" and path.name.endswith(".sealed")
    content = path.read_bytes()
    assert content.startswith(MAGIC)
    assert not any(value.encode() in content for value in PLANTED)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    opened = read_sealed(path)
    assert opened == delivered.read_bytes() and hashlib.sha256(opened).hexdigest() == sha256
    key_file = state / "secrets" / "archive.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    verify = _cli("archive", "verify")
    assert verify.returncode == 0 and "1 of 1 archived files open" in verify.stdout, verify.stdout + verify.stderr


def test_without_the_key_or_after_tampering_nothing_opens(archived, db, tmp_path):
    _, _, result = archived
    path = Path(db.execute("select archive_path from ingest.file_manifest where file_id = %s",
                           (result.file_id,)).fetchone()[0])
    other_key = "ab" * 32
    wrong = _cli("archive", "verify", WORKLINK_ARCHIVE_KEY=other_key)
    assert wrong.returncode == 1 and "not configured here" in wrong.stdout
    assert not any(value in wrong.stdout + wrong.stderr for value in PLANTED)
    content = path.read_bytes()
    flipped = tmp_path / "flipped.sealed"
    flipped.write_bytes(content[:-3] + bytes([content[-3] ^ 1]) + content[-2:])
    with pytest.raises(SealedFileError, match="integrity"):
        read_sealed(flipped)
    cut = tmp_path / "cut.sealed"
    cut.write_bytes(content[:-10])
    with pytest.raises(SealedFileError):
        read_sealed(cut)


def test_rotating_the_key_reseals_every_file_and_retires_the_old_key(archived, db):
    state, delivered, result = archived
    old_key = (state / "secrets" / "archive.key").read_text().strip()
    path = Path(db.execute("select archive_path from ingest.file_manifest where file_id = %s",
                           (result.file_id,)).fetchone()[0])
    before = path.read_bytes()
    rotated = _cli("archive", "rotate-key", "--yes")
    assert rotated.returncode == 0 and "re-sealed 1 files" in rotated.stdout, rotated.stdout + rotated.stderr
    assert (state / "secrets" / "archive.key").read_text().strip() != old_key
    assert path.read_bytes()[8:16] != before[8:16]  # the key id in the header changed
    assert _cli("archive", "verify").returncode == 0
    assert _cli("archive", "verify", WORKLINK_ARCHIVE_KEY=old_key).returncode == 1  # the old key opens nothing
    again = _cli("archive", "rotate-key", "--yes", "--new-key-env", "NEW_KEY", NEW_KEY="cd" * 32,
                 WORKLINK_ARCHIVE_KEY=(state / "secrets" / "archive.key").read_text().strip())
    assert again.returncode == 0 and "re-sealed 1 files" in again.stdout
    assert _cli("archive", "verify", WORKLINK_ARCHIVE_KEY="cd" * 32).returncode == 0
