"""Find landed files, match them to contracts and ingest them one by one.

Used by the ``worklink ingest`` command and by the Airflow tasks, so both behave the same.
Every entry of the landing folder ends with a manifest row: loaded, rejected, duplicate,
reinstated, held for confirmation, unmatched (no contract claims it), refused (a link or
special file, never opened) or error (the platform failed on it). One file's failure, even an
internal one, is that file's result, never an exception that stops the files after it.
"""

from __future__ import annotations

import difflib
import logging
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import psycopg

from worklink.contracts import Contract, contract_for_file, load_contracts
from worklink.ingest.ddl import prepare_warehouse
from worklink.ingest.landing import (
    LandedFile,
    LandingEntry,
    LandingRefused,
    open_landed,
    scan,
    symlink_refusal,
)
from worklink.ingest.loader import ingest_file
from worklink.ingest.manifest import (
    UNKNOWN,
    archive_landed,
    failure_summary,
    landing_owner,
    log_failure,
    record_unloaded,
)
from worklink.ingest.periods import PERIOD_FORMAT, period_of
from worklink.ingest.results import FileIssue, IngestResult
from worklink.platform.database import ensure_database, libpq_url
from worklink.settings import Settings, load_settings

log = logging.getLogger(__name__)


def partner_landing_files(partner_id: str, settings: Settings | None = None) -> list[Path]:
    """Every entry delivered to a partner's folder (none when the folder does not exist yet)."""
    settings = settings or load_settings()
    return [entry.path for entry in scan(settings.landing_dir / partner_id)]


def _entries(paths: Iterable[Path], landing_dir: Path) -> list[LandingEntry]:
    entries = []
    for given in paths:
        given = Path(given)
        if given.is_dir() and not given.is_symlink():
            entries.extend(scan(given))
        elif given.is_symlink():
            entries.append(LandingEntry(given, symlink_refusal(given)))
        else:
            entries.append(LandingEntry(given))
    return entries


def ingest_paths(
    paths: Iterable[Path],
    settings: Settings | None = None,
    contracts: list[Contract] | None = None,
    progress: Callable[[IngestResult], None] | None = None,
    run_label: str | None = None,
) -> list[IngestResult]:
    """Ingest every file under ``paths`` (files or folders inside the landing root)."""
    settings = settings or load_settings()
    contracts = contracts if contracts is not None else load_contracts(settings.contracts_dir)
    run_label = run_label or f"cli-{uuid.uuid4().hex[:12]}"
    url = ensure_database(settings)
    prepare_warehouse(url)
    results: list[IngestResult] = []
    for entry, contract in _in_load_order(_entries(paths, settings.landing_dir), settings, contracts):
        result = _ingest_entry(entry, contract, url, settings, contracts, run_label)
        results.append(result)
        if progress:
            progress(result)
    return results


def _ingest_entry(entry: LandingEntry, contract: Contract | None, url: str, settings: Settings,
                  contracts: list[Contract], run_label: str) -> IngestResult:
    """One entry, whatever happens: the outcome is recorded, never raised."""
    partner, feed = (contract.partner.id, contract.feed) if contract else landing_owner(entry.path,
                                                                                         settings.landing_dir)
    landed: LandedFile | None = None
    try:
        if entry.refused is not None:
            raise entry.refused
        limit = contract.file.max_file_bytes if contract else 1 << 30
        landed = open_landed(entry.path, settings.landing_dir, limit, spool_dir=settings.archive_dir / ".spool")
        if contract is None:
            return _unmatched(landed, partner, feed, url, settings, contracts, run_label)
        siblings = [c for c in contracts if c.partner.id == contract.partner.id]
        return ingest_file(landed, contract, url, settings.archive_dir, settings.expectations_dir,
                           siblings=siblings, run_label=run_label)
    except LandingRefused as refusal:
        return _record(url, entry.path, partner, feed, "refused", refusal.rule,
                       f"{entry.path.name}: {refusal.message}", None, settings, run_label, contract)
    except Exception as exc:  # noqa: BLE001 - recorded as this file's error; the run goes on
        log_failure(entry.path, exc)
        message = (f"{entry.path.name} could not be processed because of an internal error on our side "
                   f"({failure_summary(exc)}). The data engineers have been told and it will be tried "
                   "again at the next run; you do not need to send it again.")
        return _record(url, entry.path, partner, feed, "error", "internal_error", message, landed, settings,
                       run_label, contract)
    finally:
        if landed is not None:
            landed.discard_spool()


def _record(url: str, path: Path, partner: str, feed: str, status: str, rule: str, message: str,
            landed: LandedFile | None, settings: Settings, run_label: str,
            contract: Contract | None) -> IngestResult:
    result = IngestResult(file=str(path), sha256=landed.sha256 if landed else "", partner=partner, feed=feed,
                          status=status, errors=[FileIssue(rule, None, None, f"{message} [rule {rule}]",
                                                           "reject_file")])
    try:
        archive_path = archive_landed(landed, partner, feed, settings.archive_dir) if landed else None
        with psycopg.connect(libpq_url(url)) as conn:
            result.file_id = record_unloaded(
                conn, partner_id=partner, feed=feed, path=path, status=status, rule=rule,
                message=result.errors[0].message, landed=landed, archive_path=archive_path,
                period=_valid_period(path, contract) if status != "refused" else None,
                contract_key=contract.key if contract else None, run_label=run_label)
    except Exception as exc:  # noqa: BLE001 - the database itself is failing: say so, keep going
        log_failure(path, exc)
        log.error("could not record %s for %s", status, path.name)
    return result


def _valid_period(path: Path, contract: Contract | None) -> str | None:
    period = period_of(path, contract) if contract else None
    return period if period and PERIOD_FORMAT.fullmatch(period) else None


def _in_load_order(entries: list[LandingEntry], settings: Settings, contracts: list[Contract]):
    """Feeds whose dates are checked against other feeds load after them (referrals, then
    starts, then job starts and leavers), each feed's months in order."""
    matched = [(e, None if e.refused else contract_for_file(e.path, settings.landing_dir, contracts))
               for e in entries]

    def key(item):
        entry, contract = item
        depth = len(contract.cross_feed_order) if contract else 0
        period = period_of(entry.path, contract) if contract else None
        return depth, period or "", str(entry.path)

    return sorted(matched, key=key)


def _unmatched(landed: LandedFile, partner: str, feed: str, url: str, settings: Settings,
               contracts: list[Contract], run_label: str) -> IngestResult:
    """A file no contract claims: keep it, record it, and say which feed it resembles."""
    return _record(url, landed.path, partner, feed, "unmatched", "file_name_mismatch",
                   _unmatched_message(landed.path, partner, feed, contracts), landed, settings, run_label, None)


def _unmatched_message(path: Path, partner: str, feed: str, contracts: list[Contract]) -> str:
    own = [c for c in contracts if c.partner.id == partner]
    expected = [c for c in own if c.feed == feed]
    if expected:
        return (f"{path.name} does not match the file name pattern '{expected[0].file.pattern}' agreed for "
                f"{partner}/{feed}, so it was not loaded (kept for you to check)")
    if partner == UNKNOWN or not own:
        return (f"{path.name} is not in a landing folder covered by any feed agreement "
                "(landing/<partner>/<feed>/), so it was not loaded")
    patterns = {c.file.pattern: c for c in own}
    close = difflib.get_close_matches(path.name, list(patterns), n=1, cutoff=0.3)
    hint = (f"; it looks most like the {patterns[close[0]].feed} feed: put it in {partner}/"
            f"{patterns[close[0]].feed}/ named like {close[0]}" if close else
            f"; the folders agreed for you are {', '.join(sorted(c.feed for c in own))}")
    where = f"{partner}/{feed}/" if feed != UNKNOWN else f"{partner}/"
    return f"{path.name} in {where} matches no feed agreed with you, so it was not loaded{hint}"
