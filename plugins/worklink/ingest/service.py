"""Find landed files, match them to contracts and ingest them one by one.

Used by the ``worklink ingest`` command and by the Airflow tasks, so both behave the
same. One file's failure is that file's result, never an exception that stops the
files after it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from worklink.contracts import Contract, contract_for_file, load_contracts
from worklink.ingest.loader import (
    FileIssue,
    IngestResult,
    ingest_file,
    period_of,
    prepare_warehouse,
    sha256_of,
)
from worklink.platform.database import ensure_database
from worklink.settings import Settings, load_settings

log = logging.getLogger(__name__)

_IGNORED_SUFFIXES = {".part", ".tmp"}


def _files_under(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and not child.name.startswith(".") and child.suffix not in _IGNORED_SUFFIXES:
                yield child
    else:
        yield path


def partner_landing_files(partner_id: str, settings: Settings | None = None) -> list[Path]:
    settings = settings or load_settings()
    return list(_files_under(settings.landing_dir / partner_id))


def ingest_paths(
    paths: Iterable[Path],
    settings: Settings | None = None,
    contracts: list[Contract] | None = None,
    progress=None,
) -> list[IngestResult]:
    settings = settings or load_settings()
    contracts = contracts if contracts is not None else load_contracts(settings.contracts_dir)
    url = ensure_database(settings)
    prepare_warehouse(url)
    results: list[IngestResult] = []
    for path, contract in _in_load_order(paths, settings, contracts):
        if contract is None:
            result = _unmatched(path, settings, contracts)
        else:
            try:
                siblings = [c for c in contracts if c.partner.id == contract.partner.id]
                result = ingest_file(path, contract, url, settings.archive_dir, settings.expectations_dir,
                                     siblings=siblings)
            except Exception as exc:  # noqa: BLE001 - report, keep going with the other files
                log.exception("ingest of %s failed", path)
                sha, _ = sha256_of(path)
                result = IngestResult(
                    file=str(path), sha256=sha, partner=contract.partner.id, feed=contract.feed,
                    status="error", errors=[FileIssue("internal_error", None, None, str(exc), "reject_file")],
                )
        results.append(result)
        if progress:
            progress(result)
    return results


def _in_load_order(paths, settings: Settings, contracts: list[Contract]):
    """Feeds whose dates are checked against other feeds load after them (referrals, then
    starts, then job starts and leavers), each feed's months in order."""
    matched = [(f, contract_for_file(f, settings.landing_dir, contracts))
               for p in paths for f in _files_under(Path(p))]

    def key(item):
        path, contract = item
        depth = len(contract.cross_feed_order) if contract else 0
        period = period_of(path, contract) if contract else None
        return depth, period or "", str(path)

    return sorted(matched, key=key)


def _unmatched(path: Path, settings: Settings, contracts: list[Contract]) -> IngestResult:
    """A file no contract claims: say which contract its folder expects, if any."""
    sha, _ = sha256_of(path)
    partner = feed = None
    try:
        rel = path.resolve().relative_to(settings.landing_dir.resolve())
        partner, feed = (rel.parts + (None, None))[:2]
    except ValueError:
        pass
    expected = [c for c in contracts if c.partner.id == partner and c.feed == feed]
    if expected:
        message = (f"{path.name} does not match the file name pattern '{expected[0].file.pattern}' "
                   f"agreed for {partner}/{feed}")
    else:
        message = f"{path.name} is not in a landing folder covered by any feed contract (landing/<partner>/<feed>/)"
    return IngestResult(
        file=str(path), sha256=sha, partner=partner, feed=feed, status="rejected",
        errors=[FileIssue("file_name_mismatch", None, None, message, "reject_file")],
    )
