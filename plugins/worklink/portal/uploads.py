"""A dropped file: refused early when it is too large, not what its name says, or a zip bomb; then
checked by the nightly's own checks (``worklink.ingest.precheck``); on submit placed in the partner's
landing folder as an SFTP delivery would leave it, so the nightly reads it by the usual code path
(landing jail, manifest, archive, exactly-once) and nothing downstream knows the portal exists.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from worklink.contracts import Contract
from worklink.ingest.landing import LandingRefused, open_landed, scan
from worklink.platform.private_files import FILE_MODE, private_dir
from worklink.portal.config import PortalConfig

XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream",
              "application/zip", "application/x-zip-compressed", ""}
# Browsers name a CSV file's type after the program registered for it: Excel's is vnd.ms-excel.
CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "text/x-csv",
             "text/comma-separated-values", "application/octet-stream", ""}
WORKBOOK_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
_MAGIC_NOT_CSV = {b"PK\x03\x04": "a zip archive or Excel workbook", b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file",
                  b"%PDF": "a PDF", b"\x1f\x8b": "a gzip archive", b"\x89PNG": "a picture"}


class UploadRefused(ValueError):
    """The upload is not checked at all: ``rule`` is a precheck rule id where one fits."""

    def __init__(self, rule: str, message: str, status: int = 400):
        super().__init__(message)
        self.rule, self.message, self.status = rule, message, status


def safe_file_name(raw: str | None) -> str:
    """The name as the partner's computer gave it, if it is a plain file name we can keep."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if (not name or name.startswith(".") or len(name) > 180 or name != (raw or "").strip().replace("\\", "/")
            or any(unicodedata.category(ch).startswith("C") for ch in name)):
        raise UploadRefused("file_name_mismatch", "Give the file a plain name (no folders, no leading dot, "
                                                  "no hidden characters, at most 180 characters).")
    if Path(name).suffix.lower() not in (".csv", ".xlsx"):
        raise UploadRefused("file_format", "Only .csv and .xlsx files can be checked here.")
    return name


def check_content(name: str, data: bytes, content_type: str | None, config: PortalConfig) -> None:
    """The declared type and the first bytes agree with the name; a workbook unpacks within limits."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if name.lower().endswith(".xlsx"):
        if declared not in XLSX_TYPES:
            raise UploadRefused("file_format", f"The browser says this file is {declared}, not an Excel workbook.", 415)
        check_workbook(data, config)
        return
    if declared not in CSV_TYPES:
        raise UploadRefused("file_format", f"The browser says this file is {declared}, not a CSV file.", 415)
    for magic, what in _MAGIC_NOT_CSV.items():
        if data.startswith(magic):
            raise UploadRefused("file_format", f"The file is named .csv but is {what}; save it as CSV and try again.",
                                415)


def check_workbook(data: bytes, config: PortalConfig) -> None:
    """A real .xlsx (a zip with a workbook part) that does not unpack beyond the portal's limits.

    Both the sizes the zip declares (total and ratio to the packed size) and the bytes it actually
    unpacks to are bounded: a zip can declare small sizes and inflate to more, and every part is
    read here with a counter that stops at the limit.
    """
    if not data.startswith(b"PK\x03\x04"):
        raise UploadRefused("file_format", "The file is named .xlsx but is not an Excel workbook.", 415)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadRefused("file_unreadable", "The workbook is damaged and cannot be opened.") from None
    names = {m.filename for m in members}
    if not all(part in names for part in WORKBOOK_PARTS):
        raise UploadRefused("file_format", "The file is a zip archive, not an Excel workbook.", 415)
    too_big = UploadRefused("file_too_large", "The workbook unpacks to far more than its size (a compressed "
                                              "bomb, or padding): save it again from Excel with only the return's "
                                              "rows.", 413)
    declared = sum(m.file_size for m in members)
    if (len(members) > config.max_zip_entries or declared > config.max_unpacked_bytes
            or declared > config.max_unpack_ratio * max(len(data), 1)):
        raise too_big
    budget = min(config.max_unpacked_bytes, int(config.max_unpack_ratio * max(len(data), 1)))
    unpacked = 0
    try:
        for member in members:
            with archive.open(member) as part:
                while chunk := part.read(1 << 16):
                    unpacked += len(chunk)
                    if unpacked > budget:
                        raise too_big
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, RuntimeError):
        raise UploadRefused("file_unreadable", "The workbook is damaged or encrypted and cannot be opened.") from None


@dataclass
class Staged:
    upload_id: str
    path: Path
    sha256: str
    size: int


def staging_root(state_dir: Path) -> Path:
    return state_dir / "portal" / "staging"


def stage(state_dir: Path, partner_id: str, name: str, data: bytes) -> Staged:
    """Keep the upload (600 in 700 folders) until it is submitted or expires."""
    upload_id = secrets.token_urlsafe(18)
    folder = private_dir(staging_root(state_dir) / partner_id / upload_id)
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Staged(upload_id, path, hashlib.sha256(data).hexdigest(), len(data))


def staged_path(state_dir: Path, partner_id: str, upload_id: str, name: str) -> Path:
    return staging_root(state_dir) / partner_id / upload_id / name


def discard_staged(state_dir: Path, partner_id: str, upload_id: str) -> None:
    shutil.rmtree(staging_root(state_dir) / partner_id / upload_id, ignore_errors=True)


def prune_staging(state_dir: Path, hours: int) -> None:
    """Drop uploads never submitted within ``hours`` (they hold a partner's data)."""
    cutoff = time.time() - hours * 3600
    for partner_dir in staging_root(state_dir).glob("*"):
        for upload_dir in partner_dir.glob("*"):
            if upload_dir.is_dir() and not upload_dir.is_symlink() and upload_dir.stat().st_mtime < cutoff:
                shutil.rmtree(upload_dir, ignore_errors=True)


def place_in_landing(source: Path, landing_dir: Path, contract: Contract, expected_sha256: str) -> Path:
    """Deliver the checked file to ``landing/<partner>/<feed>/<name>`` as an SFTP upload would.

    Written under a hidden ``.part`` name the nightly skips (``landing.is_delivery_name``), then
    renamed into place in one step, so the nightly sees the whole file or nothing; a file of the
    same name is replaced, as an SFTP put replaces it. It is then read back through the landing
    jail (``landing.open_landed``, the nightly's own reader): a linked folder, a file outside the
    root or content other than what was checked fails the submission.
    """
    landing_dir = Path(landing_dir)
    folder = landing_dir
    for part in (contract.partner.id, contract.feed):
        folder = folder / part
        if folder.is_symlink():
            raise LandingRefused("landing_symlink", f"{folder} is a link; the portal never writes through links")
        if not folder.exists():
            folder.mkdir(mode=0o700)
    target = folder / source.name
    temporary = folder / f".{source.name}.{secrets.token_hex(6)}.part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    landed = open_landed(target, landing_dir, contract.file.max_file_bytes)
    landed.discard_spool()
    if landed.sha256 != expected_sha256 or not any(e.path == target and e.refused is None
                                                   for e in scan(folder)):
        raise LandingRefused("file_vanished", f"{target.name} changed while it was being delivered; upload it again")
    return target
