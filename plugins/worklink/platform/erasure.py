"""Erasure of one person on request (UK GDPR Article 17): `worklink erase`.

The person is found by a partner's record id or by an NHS or National Insurance number, and is
their linkage participant: every source record linked to them (referrals with several partners,
WorkWell, DWP and HMRC rows) goes. In one database transaction: their identity rows, their raw
rows in every feed (the marts rebuild without them), their quarantined rows, their links and
review pairs; their participant id is retired, their record keys listed in
``linkage.erased_records`` (linkage never links them again) and an audit row written
(``ingest.data_protection_log``: counts and file ids, never an identifier).

Archived files are re-written without the person's rows and sealed again (a new nonce; the
manifest's sha256 becomes the new content's, the old and new hashes in the audit row). Deleting a
per-file key instead would destroy every other person's rows of the file too: a delivery is many
people, the request is one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from worklink.contracts import Contract, load_contracts
from worklink.identity import identity_join
from worklink.platform import retention


class ErasureError(Exception):
    """The person cannot be found, or the request is ambiguous (never quotes the identifier)."""


@dataclass
class Person:
    participant_id: str
    keys: list[str]
    nhs_numbers: set[str] = field(default_factory=set)
    ninos: set[str] = field(default_factory=set)  # 8-character stems
    record_ids: dict[str, set[str]] = field(default_factory=dict)  # partner (or icb_workwell) -> ids


def _nino_stem(value: str | None) -> str | None:
    text = re.sub(r"[\s-]", "", value or "").upper()
    return text[:8] if len(text) >= 8 else None


def _nhs(value: str | None) -> str | None:
    text = re.sub(r"[\s-]", "", value or "")
    return text if len(text) == 10 and text.isdigit() else None


def _keys_by_identifier(conn: psycopg.Connection, column_sql: str, value: str) -> set[str]:
    keys: set[str] = set()
    for table in retention.identity_feed_tables(conn):
        key = retention.RECORD_KEY_SQL.get(table)
        columns = retention._columns(conn, "identity", table)
        for column in ("nhs_number",) if column_sql == "nhs" else ("nino", "ni_number"):
            if key and column in columns:
                expr = (f"regexp_replace(i.{column}, '[\\s-]', '', 'g')" if column_sql == "nhs"
                        else f"left(upper(regexp_replace(i.{column}, '[\\s-]', '', 'g')), 8)")
                keys.update(r[0] for r in conn.execute(
                    f"select distinct {key} from raw.{table} r join identity.{table} i on {identity_join()}"  # noqa: S608
                    f" where {expr} = %s", (value,)).fetchall())
    return keys


def find_person(conn: psycopg.Connection, *, partner: str | None = None, record_id: str | None = None,
                nhs_number: str | None = None, nino: str | None = None) -> Person:
    retention.ensure_tables(conn)
    if partner:
        keys = {f"{partner}:{record_id}"}
        what = f"partner {partner}'s record id"
    elif nhs_number:
        value = _nhs(nhs_number)
        if not value:
            raise ErasureError("--nhs-number must be 10 digits")
        keys, what = _keys_by_identifier(conn, "nhs", value), "NHS number"
    else:
        value = _nino_stem(nino)
        if not value:
            raise ErasureError("--nino must be a National Insurance number")
        keys, what = _keys_by_identifier(conn, "nino", value), "NI number"
    pids = {r[0] for r in conn.execute(
        "select participant_id from linkage.participant_xref where source_record_key = any(%s) union "
        "select participant_id from linkage.deidentified_records where source_record_key = any(%s)",
        (sorted(keys), sorted(keys))).fetchall()}
    if not pids:
        raise ErasureError(f"no linked record has that {what} (run `worklink link` if the file arrived today)")
    if len(pids) > 1:
        raise ErasureError(f"that {what} belongs to {len(pids)} participants: erase each by a partner record id")
    pid = pids.pop()
    all_keys = sorted(r[0] for r in conn.execute(
        "select source_record_key from linkage.participant_xref where participant_id = %s union "
        "select source_record_key from linkage.deidentified_records where participant_id = %s",
        (pid, pid)).fetchall())
    person = Person(pid, all_keys)
    for key in all_keys:
        system, _, rest = key.partition(":")
        if system not in ("dwp", "hmrc"):
            person.record_ids.setdefault(system, set()).add(rest)
    # the person's identifiers, to find their rows in quarantine and in archived files
    for table in retention.identity_feed_tables(conn):
        key = retention.RECORD_KEY_SQL.get(table)
        if not key:
            continue
        columns = retention._columns(conn, "identity", table)
        for column in ("nhs_number", "nino", "ni_number"):
            if column in columns:
                values = conn.execute(
                    f"select distinct i.{column} from raw.{table} r join identity.{table} i"  # noqa: S608
                    f" on {identity_join()} where {key} = any(%s)", (all_keys,)).fetchall()
                for (v,) in values:
                    (person.nhs_numbers.add(_nhs(v)) if column == "nhs_number" else person.ninos.add(_nino_stem(v)))
    person.nhs_numbers.discard(None)
    person.ninos.discard(None)
    return person


def _row_matches(row: dict[str, str | None], partner: str, person: Person) -> bool:
    """A row (canonical column -> text) of ``partner``'s file is the person's."""
    ids = person.record_ids.get(partner, set())
    if ids and (row.get("referral_id") in ids or row.get("ww_referral_id") in ids):
        return True
    if person.nhs_numbers and _nhs(row.get("nhs_number")) in person.nhs_numbers:
        return True
    return bool(person.ninos) and any(_nino_stem(row.get(c)) in person.ninos for c in ("nino", "ni_number"))


def _norm(header: object) -> str:
    return re.sub(r"\s+", " ", str(header or "")).strip().casefold()


def rewrite_without(data: bytes, contract: Contract, partner: str, person: Person) -> tuple[bytes, int]:
    """The file's bytes without the person's data rows, and how many rows went."""
    canonical = {_norm(c.source): c.name for c in contract.columns}
    if contract.file.format == "xlsx":
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data))
        sheet = book[contract.file.sheet] if contract.file.sheet in book.sheetnames else book.worksheets[0]
        header = [canonical.get(_norm(v)) for v in next(sheet.iter_rows(min_row=contract.file.header_row,
                                                                       max_row=contract.file.header_row,
                                                                       values_only=True), ())]
        drop = [i for i, values in enumerate(sheet.iter_rows(min_row=contract.file.header_row + 1, values_only=True),
                                             start=contract.file.header_row + 1)
                if _row_matches({h: (None if v is None else str(v)) for h, v in zip(header, values, strict=False) if h},
                                partner, person)]
        for index in reversed(drop):
            sheet.delete_rows(index)
        out = io.BytesIO()
        book.save(out)
        return (out.getvalue(), len(drop)) if drop else (data, 0)
    bom = data.startswith(b"\xef\xbb\xbf")
    # surrogateescape: a file in another encoding than its contract's (rejected on arrival) still
    # round-trips byte for byte, and its rows can still be found by their ids
    text = (data[3:] if bom else data).decode(contract.file.encoding, errors="surrogateescape")
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=contract.file.delimiter))
    skip = contract.file.header_row
    header = [canonical.get(_norm(v)) for v in rows[skip - 1]] if len(rows) >= skip else []
    kept = rows[:skip]
    for values in rows[skip:]:
        if not _row_matches({h: v for h, v in zip(header, values, strict=False) if h}, partner, person):
            kept.append(values)
    removed = len(rows) - len(kept)
    if not removed:
        return data, 0
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=contract.file.delimiter, lineterminator=newline).writerows(kept)
    body = buffer.getvalue().encode(contract.file.encoding, errors="surrogateescape")
    return (b"\xef\xbb\xbf" + body if bom else body), removed


def _erase_archived(conn: psycopg.Connection, person: Person, contracts: list[Contract]) -> list[dict]:
    from worklink.platform.sealed_files import read_sealed, seal

    by_key = {c.key: c for c in contracts}
    changes = []
    for file_id, partner, feed, contract_key, path in conn.execute(
            "select file_id, partner_id, feed, contract_key, archive_path from ingest.file_manifest"
            " where archive_path is not null order by file_id").fetchall():
        contract = by_key.get(contract_key or f"{partner}__{feed}")
        if contract is None or not Path(path).exists():
            continue
        try:
            data = read_sealed(Path(path))
            new, removed = rewrite_without(data, contract, partner, person)
        except Exception as exc:  # noqa: BLE001 - an unreadable delivery cannot hold a row we can remove
            changes.append({"file_id": file_id, "rows": 0, "unreadable": type(exc).__name__})
            continue
        if not removed:
            continue
        seal([new], Path(path))
        digest = hashlib.sha256(new).hexdigest()
        old = conn.execute("update ingest.file_manifest m set sha256 = %s, size_bytes = %s"
                           " from ingest.file_manifest o where m.file_id = o.file_id and m.file_id = %s"
                           " returning o.sha256", (digest, len(new), file_id)).fetchone()[0]
        changes.append({"file_id": file_id, "rows": removed, "old_sha256": old, "new_sha256": digest})
    return changes


def erase_person(conn: psycopg.Connection, person: Person, request_ref: str | None = None,
                 contracts: list[Contract] | None = None) -> dict[str, int]:
    """Erase ``person`` everywhere (one transaction; archived files re-sealed inside it)."""
    contracts = contracts if contracts is not None else load_contracts()
    counts = {"identity_rows": 0, "raw_rows": 0, "quarantined_rows": 0, "archived_rows": 0, "archived_files": 0}
    with conn.transaction():
        for table in retention._tables(conn, "raw"):
            key = retention.row_key_sql(conn, table)
            if not key:
                continue
            if table in retention.identity_feed_tables(conn):
                counts["identity_rows"] += conn.execute(
                    f"delete from identity.{table} i using raw.{table} r"  # noqa: S608 - fixed names
                    f" where {identity_join()} and {key} = any(%s)", (person.keys,)).rowcount
            counts["raw_rows"] += conn.execute(f"delete from raw.{table} r where {key} = any(%s)",  # noqa: S608
                                               (person.keys,)).rowcount
        quarantined = conn.execute("select file_id, source_row, partner_id, record from identity.quarantined_rows"
                                   ).fetchall()
        gone = [(f, s) for f, s, p, record in quarantined
                if _row_matches({k: (None if v is None else str(v)) for k, v in record.items()}, p, person)]
        for file_id, source_row in gone:
            conn.execute("delete from identity.quarantined_rows where file_id = %s and source_row = %s",
                         (file_id, source_row))
        counts["quarantined_rows"] = len(gone)
        for table in ("linkage.participant_xref", "linkage.source_record_attributes",
                      "linkage.deidentified_records"):
            conn.execute(f"delete from {table} where source_record_key = any(%s)", (person.keys,))  # noqa: S608
        conn.execute("delete from linkage.review_queue where key_l = any(%s) or key_r = any(%s)",
                     (person.keys, person.keys))
        conn.execute("delete from linkage.match_pairs where key_l = any(%s) or key_r = any(%s)",
                     (person.keys, person.keys))
        conn.execute("update linkage.participants set status = 'retired', n_source_records = 0, updated_at = now()"
                     " where participant_id = %s", (person.participant_id,))
        changes = _erase_archived(conn, person, contracts)
        counts["archived_rows"] = sum(c["rows"] for c in changes)
        counts["archived_files"] = sum(1 for c in changes if c["rows"])
        log_id = retention.log_action(
            conn, "erasure", None, "erasure on request (UK GDPR Art. 17)" + (f": {request_ref}" if request_ref else ""),
            counts, retention.actor(), None,
            {"participant_id": person.participant_id, "source_records": len(person.keys), "files": changes})
        conn.execute("insert into linkage.erased_records (source_record_key, participant_id, log_id)"
                     " select k, %s, %s from unnest(%s::text[]) k on conflict do nothing",
                     (person.participant_id, log_id, person.keys))
        conn.execute("insert into linkage.participant_events (run_id, participant_id, event, n_records)"
                     " values (0, %s, 'erased', %s)", (person.participant_id, len(person.keys)))
    return counts
