"""The file manifest's side of ingestion: keep every received file, and give every entry a status.

Statuses (``ingest.file_manifest.status``):

- ``loaded`` / ``loaded_with_quarantine``: the file's rows are in the warehouse (some held back);
- ``rejected``: the file as a whole broke a contract rule (nothing loaded; kept for the partner);
- ``duplicate``: identical content was received before (nothing loaded);
- ``reinstated``: identical to an earlier, superseded version, which is current again;
- ``needs_confirmation``: a new version with far fewer rows than the current one, held (not
  current) until an engineer confirms it with the partner (``worklink files confirm``);
- ``unmatched``: a file no contract claims (wrong name, folder or type), kept, partner told;
- ``refused``: a landing entry that is never opened (a link, a device, outside the landing root);
- ``error``: the platform failed on the file; kept, partner and engineers told, retried next run.

Archived copies are private to the platform's OS user (files 600 in folders 700).
"""

from __future__ import annotations

import logging
import os
import traceback
from pathlib import Path

import psycopg

from worklink.ingest.landing import LandedFile
from worklink.platform.private_files import private_dir
from worklink.platform.sealed_files import SUFFIX, file_pieces, seal

log = logging.getLogger(__name__)

# Statuses whose content counts as received for exactly-once: re-delivering it is a duplicate.
RECEIVED_STATUSES = ("loaded", "loaded_with_quarantine", "rejected", "needs_confirmation")
UNKNOWN = "_unknown"  # partner or feed of an entry outside any partner's folder


def archive_landed(landed: LandedFile, partner_id: str, feed: str, archive_dir: Path) -> Path:
    """Keep the received bytes, sealed (worklink.platform.sealed_files), under
    ``archive/<partner>/<feed>/<sha prefix>__<name>.sealed`` (600 in 700).

    Written from the bytes read through the landing jail (or the spooled copy of a file too large
    to read), never from the landing path again. The name carries the content hash, so a re-sent
    file with the same name but other content is kept beside the first.
    """
    private_dir(archive_dir)
    folder = private_dir(archive_dir / partner_id / feed)
    target = folder / f"{landed.sha256[:16]}__{landed.name}{SUFFIX}"
    if target.exists():
        landed.discard_spool()
        return target
    if landed.spooled is not None:
        seal(file_pieces(landed.spooled), target)
        landed.discard_spool()
        return target
    return seal([landed.data or b""], target)


def landing_owner(path: Path, landing_dir: Path) -> tuple[str, str]:
    """(partner, feed) named by the folders a path sits in under the landing root."""
    try:
        parts = Path(os.path.abspath(path)).relative_to(os.path.abspath(landing_dir)).parts[:-1]
    except ValueError:
        return UNKNOWN, UNKNOWN
    return (parts + (UNKNOWN, UNKNOWN))[0], (parts[1:] + (UNKNOWN,))[0]


def record_unloaded(conn: psycopg.Connection, *, partner_id: str, feed: str, path: Path, status: str,
                    rule: str, message: str, landed: LandedFile | None = None,
                    archive_path: Path | None = None, period: str | None = None,
                    contract_key: str | None = None, run_label: str | None = None) -> int:
    """One manifest row and one file-level issue for an entry that loads nothing."""
    file_id = conn.execute(
        """insert into ingest.file_manifest
               (partner_id, feed, contract_key, period, file_name, landing_path, archive_path, sha256,
                size_bytes, status, rejection_rule, rejection_message, received_at, file_modified_at, ingest_run)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), to_timestamp(%s), %s)
           returning file_id""",
        (partner_id, feed, contract_key, period, path.name, str(path),
         str(archive_path) if archive_path else None, landed.sha256 if landed else None,
         landed.size if landed else 0, status, rule, message, landed.mtime if landed else None, run_label),
    ).fetchone()[0]
    conn.execute(
        """insert into ingest.file_issues (file_id, source_row, record_id, column_name, rule_id, severity, message)
           values (%s, null, null, null, %s, 'reject_file', %s)""",
        (file_id, rule, message),
    )
    return file_id


def failure_summary(exc: BaseException) -> str:
    """Where the platform failed, without the exception's text (which may quote a cell)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" in {Path(frames[-1].filename).name}:{frames[-1].lineno} ({frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}{where}"


def log_failure(path: Path, exc: BaseException) -> None:
    """The stack for the engineers' log, frame by frame, with every exception message left out."""
    # File, line and function only: neither the exception's text nor the source lines (a
    # formatted stack quotes both, and either may hold a value).
    stack = "".join(f"  {Path(f.filename).name}:{f.lineno} in {f.name}\n"
                    for f in traceback.extract_tb(exc.__traceback__))
    log.error("internal error while ingesting %s: %s (message withheld: it may hold data)\n%s",
              path.name, type(exc).__name__, stack)
