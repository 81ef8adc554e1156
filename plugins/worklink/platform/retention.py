"""Retention: how long identifiable data is kept, and `worklink retention plan|apply`.

Each feed contract's ``retention`` block (default ``worklink.contracts.DEFAULT_RETENTION``: the
programme's end plus the evaluation period) decides when a received file's identifiable parts
expire: its rows in the identity vault, its quarantined rows and the sealed file in the archive.
The platform's own stores follow ``retention.yml`` beside this module (periods and their basis).

Retention works per received file, the unit a partner sends and the archive keeps: a file expires
on its event date (receipt, programme end, or for ``last_activity`` the latest receipt of any file
holding a record of a participant in it) plus the period. What goes: identifiers and files. What
stays: ``raw`` rows (pseudonymous), participant ids and the marts. A source record that loses its
last identifiers keeps its participant id (``linkage.deidentified_records``, carried by every later
linkage run), so the marts rebuild the same.

``plan`` counts, ``apply`` deletes: one transaction per store, each with a row in
``ingest.data_protection_log`` (what, when, rule, counts; never a value).
"""

from __future__ import annotations

import getpass
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import yaml
from psycopg.types.json import Jsonb

from worklink.contracts import Contract, load_contracts
from worklink.identity import identity_join
from worklink.settings import load_settings

CONFIG_PATH = Path(__file__).with_name("retention.yml")
STORES = ("identity_vault", "quarantine", "review_queue", "archive", "partner_reports", "airflow_logs")

DDL = """
create table if not exists ingest.data_protection_log (
    log_id      bigserial primary key,
    at          timestamptz not null default now(),
    action      text not null check (action in ('retention', 'erasure', 'identifiers_shown')),
    store       text,                     -- identity_vault | quarantine | archive | ...
    rule        text,                     -- the rule applied, in words (never a value)
    as_of       date,
    actor       text not null,            -- OS user, reviewer or the Airflow task
    counts      jsonb not null default '{}'::jsonb,
    detail      jsonb                     -- ids of files, never identifiers
);
create table if not exists linkage.deidentified_records (   -- records whose identifiers are gone
    source_record_key  text primary key,
    source_system      text not null,
    participant_id     text not null,
    method             text not null,
    match_probability  double precision,
    match_weight       double precision,
    model_version      text,
    linked_at          timestamptz not null,
    attributes         jsonb,                               -- its linkage.source_record_attributes row
    deidentified_at    timestamptz not null default now()
);
create table if not exists linkage.erased_records (          -- erased on request: never linked again
    source_record_key  text primary key,
    participant_id     text not null,
    erased_at          timestamptz not null default now(),
    log_id             bigint
);
"""

# The linkage key of a raw row, for the tables whose rows are linkage's source records.
RECORD_KEY_SQL = {
    "vcse_referrals": "r._partner_id || ':' || r.referral_id",
    "nhs_workwell_referrals": "'icb_workwell:' || r.ww_referral_id",
    "dwp_benefit_months": "'dwp:' || r.nino_token",
    "hmrc_pay_events": "'hmrc:' || r.nino_token",
}
# Every raw table's column that leads to a source record key (for last activity and erasure).
ROW_KEY_COLUMNS = (("nino_token", None), ("ww_referral_id", "'icb_workwell:' || r.ww_referral_id"),
                   ("referral_id", "r._partner_id || ':' || r.referral_id"))


@dataclass(frozen=True)
class StoreRule:
    counted_from: str
    keep_for_months: int | None
    basis: str


@dataclass(frozen=True)
class RetentionConfig:
    programme_end: dict[str, date]
    evaluation_period_months: int
    stores: dict[str, StoreRule]

    def months(self, keep_for_months: int | None) -> int:
        return self.evaluation_period_months if keep_for_months is None else keep_for_months


def load_retention_config(path: Path | None = None) -> RetentionConfig:
    """retention.yml (or WORKLINK_RETENTION_CONFIG), with WORKLINK_RETENTION_EVALUATION_MONTHS on top."""
    settings = load_settings()
    path = path or settings.retention_config or CONFIG_PATH
    data = yaml.safe_load(path.read_text())
    months = settings.retention_evaluation_months or data["evaluation_period_months"]
    try:
        months = int(months)
    except ValueError:
        raise ValueError("WORKLINK_RETENTION_EVALUATION_MONTHS must be a whole number of months") from None
    stores = {name: StoreRule(s["counted_from"], s.get("keep_for_months"), " ".join(s["basis"].split()))
              for name, s in data["stores"].items()}
    missing = set(STORES) - set(stores)
    if missing:
        raise ValueError(f"{path}: stores {sorted(missing)} have no retention rule")
    return RetentionConfig({k: date.fromisoformat(str(v)) for k, v in data["programme_end"].items()},
                           months, stores)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months (31 Jan + 1 month = 28/29 Feb)."""
    import calendar

    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def ensure_tables(conn: psycopg.Connection) -> None:
    from worklink.linkage import store

    store.ensure_schema(conn)
    conn.execute("create schema if not exists ingest")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('worklink-ddl'))")
        conn.execute(DDL)


def log_action(conn: psycopg.Connection, action: str, store: str | None, rule: str | None, counts: dict,
               actor: str, as_of: date | None = None, detail: dict | None = None) -> int:
    return conn.execute(
        "insert into ingest.data_protection_log (action, store, rule, as_of, actor, counts, detail)"
        " values (%s, %s, %s, %s, %s, %s, %s) returning log_id",
        (action, store, rule, as_of, actor, Jsonb(counts), Jsonb(detail) if detail else None)).fetchone()[0]


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    """Feed tables of a schema (partitioned parents, not the per-file partitions)."""
    return [r[0] for r in conn.execute(
        """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition
              and c.relname !~ '__file_[0-9]+' order by 1""", (schema,)).fetchall()]


def identity_feed_tables(conn: psycopg.Connection) -> list[str]:
    raw = set(_tables(conn, "raw"))
    return [t for t in _tables(conn, "identity") if t in raw]


def _columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    return {r[0] for r in conn.execute("select column_name from information_schema.columns"
                                       " where table_schema = %s and table_name = %s", (schema, table)).fetchall()}


def row_key_sql(conn: psycopg.Connection, table: str) -> str | None:
    """SQL (alias ``r``) for the source record key a raw row belongs to, or None."""
    if table in RECORD_KEY_SQL:
        return RECORD_KEY_SQL[table]
    columns = _columns(conn, "raw", table)
    for column, expression in ROW_KEY_COLUMNS:
        if column in columns and expression:
            return expression
    return None


# ---------------------------------------------------------------------------------------- the plan
@dataclass
class ExpiredFile:
    file_id: int
    partner_id: str
    feed: str
    rule: str
    expires: date
    archive_path: str | None


@dataclass
class Plan:
    as_of: date
    files: list[ExpiredFile]
    items: list[dict] = field(default_factory=list)  # store, source, reason, action, count, unit
    paths: dict[str, list[Path]] = field(default_factory=dict)  # store -> files to delete
    lost_keys: list[str] = field(default_factory=list)  # source records losing their last identifiers
    quarantine_files: list[int] = field(default_factory=list)

    def add(self, store: str, source: str, reason: str, action: str, count: int, unit: str) -> None:
        if count:
            self.items.append({"store": store, "source": source, "reason": reason, "action": action,
                               "count": int(count), "unit": unit})

    def to_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "items": self.items}


def _rule_text(contract: Contract | None, config: RetentionConfig) -> tuple[str, str, int]:
    from worklink.contracts import DEFAULT_RETENTION

    retention = contract.retention if contract else DEFAULT_RETENTION
    counted_from = retention.counted_from if contract else "file_receipt"
    months = config.months(retention.keep_for_months)
    return counted_from, f"{counted_from.replace('_', ' ')} + {months} months", months


def _last_activity(conn: psycopg.Connection) -> dict[int, date]:
    """file id -> the latest receipt of any file holding a record of a participant in it."""
    if conn.execute("select to_regclass('linkage.participant_xref') is null").fetchone()[0]:
        return {}
    parts = []
    for table in _tables(conn, "raw"):
        key = row_key_sql(conn, table)
        if key is None and "nino_token" in _columns(conn, "raw", table):
            key = RECORD_KEY_SQL.get(table)
        if key:
            parts.append(f"select distinct r._file_id as file_id, x.participant_id from raw.{table} r"  # noqa: S608
                         f" join linkage.participant_xref x on x.source_record_key = {key}")
    if not parts:
        return {}
    rows = conn.execute(
        f"""with fp as ({' union '.join(parts)}),
                 last as (select fp.participant_id, max(m.received_at) as at
                            from fp join ingest.file_manifest m using (file_id) group by 1)
            select fp.file_id, max(last.at)::date from fp join last using (participant_id) group by 1""").fetchall()
    return {file_id: day for file_id, day in rows}


def expired_files(conn: psycopg.Connection, as_of: date, config: RetentionConfig,
                  contracts: list[Contract]) -> list[ExpiredFile]:
    by_key = {c.key: c for c in contracts}
    rows = conn.execute("select file_id, partner_id, feed, contract_key, received_at::date, archive_path"
                        " from ingest.file_manifest order by file_id").fetchall()
    activity = _last_activity(conn) if any(c.retention.counted_from == "last_activity" for c in contracts) else {}
    out = []
    for file_id, partner_id, feed, contract_key, received, archive_path in rows:
        contract = by_key.get(contract_key or f"{partner_id}__{feed}")
        counted_from, rule, months = _rule_text(contract, config)
        if counted_from == "programme_end":
            event = config.programme_end.get(contract.partner.programme, received)
        elif counted_from == "last_activity":
            event = max(activity.get(file_id, received), received)
        else:
            event = received
        expires = add_months(event, months)
        if expires <= as_of:
            out.append(ExpiredFile(file_id, partner_id, feed, f"feed {partner_id}/{feed}: {rule}", expires,
                                   archive_path))
    return out


def _lost_keys(conn: psycopg.Connection, file_ids: list[int]) -> list[str]:
    """Source records whose every identity row is in ``file_ids`` (they lose their identifiers)."""
    lost: set[str] = set()
    for table in identity_feed_tables(conn):
        key = RECORD_KEY_SQL.get(table)
        if key is None:
            continue
        rows = conn.execute(
            f"""select {key}, bool_and(i._file_id = any(%s)) from raw.{table} r
                  join identity.{table} i on {identity_join()}
                 where r._is_current group by 1""", (file_ids,)).fetchall()  # noqa: S608 - fixed names
        lost.update(k for k, gone in rows if gone and k)
    known = {r[0] for r in conn.execute("select source_record_key from linkage.participant_xref"
                                        " where source_record_key = any(%s)", (sorted(lost),)).fetchall()}
    return sorted(known)


def _old_files(root: Path, before: date) -> list[Path]:
    if not root.is_dir():
        return []
    limit = datetime(before.year, before.month, before.day, tzinfo=UTC).timestamp()
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_mtime < limit)


def make_plan(conn: psycopg.Connection, as_of: date, config: RetentionConfig | None = None,
              contracts: list[Contract] | None = None) -> Plan:
    """What ``apply`` would delete on ``as_of``, counted by store, source and rule (never values)."""
    config = config or load_retention_config()
    contracts = contracts if contracts is not None else load_contracts()
    ensure_tables(conn)
    files = expired_files(conn, as_of, config, contracts)
    plan = Plan(as_of, files)
    ids = [f.file_id for f in files]
    by_source: dict[tuple[str, str], list[int]] = defaultdict(list)
    for f in files:
        by_source[(f"{f.partner_id}/{f.feed}", f.rule)].append(f.file_id)
    for table in identity_feed_tables(conn):
        counts = dict(conn.execute(f"select _file_id, count(*) from identity.{table}"  # noqa: S608 - fixed names
                                   " where _file_id = any(%s) group by 1", (ids,)).fetchall())
        for (source, rule), fids in sorted(by_source.items()):
            plan.add("identity_vault", source, rule, "delete identifiers", sum(counts.get(i, 0) for i in fids),
                     f"rows of identity.{table}")
    q_rule = config.stores["quarantine"]
    q_before = add_months(as_of, -config.months(q_rule.keep_for_months))
    q_rows = conn.execute(
        """select q.file_id, m.partner_id || '/' || m.feed, count(*) from identity.quarantined_rows q
             join ingest.file_manifest m using (file_id)
            where q.file_id = any(%s) or m.received_at < %s group by 1, 2""", (ids, q_before)).fetchall()
    rules = {f.file_id: f.rule for f in files}
    grouped: dict[tuple[str, str], int] = defaultdict(int)
    for file_id, source, n in q_rows:
        grouped[(source, rules.get(file_id, f"quarantine: file receipt + {config.months(q_rule.keep_for_months)}"
                                    " months"))] += n
        plan.quarantine_files.append(file_id)
    for (source, rule), n in sorted(grouped.items()):
        plan.add("quarantine", source, rule, "delete rows", n, "quarantined rows")
    plan.lost_keys = _lost_keys(conn, ids) if ids else []
    queue = conn.execute("select count(*) from linkage.review_queue where key_l = any(%s) or key_r = any(%s)"
                         " or key_l in (select source_record_key from linkage.deidentified_records)"
                         " or key_r in (select source_record_key from linkage.deidentified_records)",
                         (plan.lost_keys, plan.lost_keys)).fetchone()[0]
    plan.add("review_queue", "linkage", "a record of the pair has lost its identifiers", "delete pairs", queue,
             "review pairs")
    plan.add("identity_vault", "linkage", "last identifiers of the record gone: participant id kept",
             "keep pseudonymous link", len(plan.lost_keys), "source records")
    archived: dict[tuple[str, str], int] = defaultdict(int)
    plan.paths["archive"] = []
    for f in files:
        if f.archive_path and Path(f.archive_path).exists():
            archived[(f"{f.partner_id}/{f.feed}", f.rule)] += 1
            plan.paths["archive"].append(Path(f.archive_path))
    for (source, rule), n in sorted(archived.items()):
        plan.add("archive", source, rule, "delete file", n, "sealed files")
    settings = load_settings()
    for store, root in (("partner_reports", settings.reports_dir / "partner-alerts"),
                        ("airflow_logs", settings.airflow_home / "logs")):
        rule = config.stores[store]
        months = config.months(rule.keep_for_months)
        plan.paths[store] = _old_files(root, add_months(as_of, -months))
        plan.add(store, str(root.relative_to(settings.state_dir)) if root.is_relative_to(settings.state_dir)
                 else str(root), f"written + {months} months", "delete file", len(plan.paths[store]), "files")
    return plan


# --------------------------------------------------------------------------------------- apply
def freeze_records(conn: psycopg.Connection, keys: list[str]) -> int:
    """Keep the participant link of records about to lose their identifiers (linkage carries them)."""
    if not keys:
        return 0
    return conn.execute(
        """insert into linkage.deidentified_records (source_record_key, source_system, participant_id, method,
                  match_probability, match_weight, model_version, linked_at, attributes)
           select x.source_record_key, x.source_system, x.participant_id, x.method, x.match_probability,
                  x.match_weight, x.model_version, x.linked_at, to_jsonb(a) - 'run_id'
             from linkage.participant_xref x
             left join linkage.source_record_attributes a using (source_record_key)
            where x.source_record_key = any(%s)
              and x.source_record_key not in (select source_record_key from linkage.erased_records)
           on conflict (source_record_key) do nothing""", (keys,)).rowcount


def actor() -> str:
    return load_settings().actor or getpass.getuser()


def apply_plan(conn: psycopg.Connection, plan: Plan, who: str | None = None) -> dict[str, int]:
    """Delete what ``plan`` lists, one transaction per store, each with its audit row. Returns counts."""
    who = who or actor()
    ids = [f.file_id for f in plan.files]
    totals: dict[str, int] = {}

    def rules_of(store: str) -> str:
        return "; ".join(sorted({i["reason"] for i in plan.items if i["store"] == store})) or "nothing expired"

    with conn.transaction():
        frozen = freeze_records(conn, plan.lost_keys)
        deleted = 0
        for table in identity_feed_tables(conn):
            deleted += conn.execute(f"delete from identity.{table} where _file_id = any(%s)",  # noqa: S608
                                    (ids,)).rowcount
        totals["identity_vault"] = deleted
        log_action(conn, "retention", "identity_vault", rules_of("identity_vault"),
                   {"identity_rows": deleted, "records_kept_pseudonymous": frozen, "files": len(ids)}, who,
                   plan.as_of, {"file_ids": ids})
    with conn.transaction():
        n = conn.execute("delete from identity.quarantined_rows where file_id = any(%s)",
                         (plan.quarantine_files,)).rowcount
        totals["quarantine"] = n
        log_action(conn, "retention", "quarantine", rules_of("quarantine"), {"rows": n}, who, plan.as_of,
                   {"file_ids": sorted(set(plan.quarantine_files))})
    with conn.transaction():
        n = conn.execute("""delete from linkage.review_queue
                             where key_l in (select source_record_key from linkage.deidentified_records)
                                or key_r in (select source_record_key from linkage.deidentified_records)""").rowcount
        totals["review_queue"] = n
        log_action(conn, "retention", "review_queue", rules_of("review_queue"), {"pairs": n}, who, plan.as_of)
    with conn.transaction():  # the manifest forgets the path in the same transaction the file goes
        paths = plan.paths.get("archive", [])
        conn.execute("update ingest.file_manifest set archive_path = null where archive_path = any(%s)",
                     ([str(p) for p in paths],))
        for path in paths:
            path.unlink(missing_ok=True)
        totals["archive"] = len(paths)
        log_action(conn, "retention", "archive", rules_of("archive"), {"files": len(paths)}, who, plan.as_of,
                   {"file_ids": [f.file_id for f in plan.files if f.archive_path and Path(f.archive_path) in paths]})
    for store in ("partner_reports", "airflow_logs"):
        paths = plan.paths.get(store, [])
        with conn.transaction():
            for path in paths:
                path.unlink(missing_ok=True)
            totals[store] = len(paths)
            log_action(conn, "retention", store, rules_of(store), {"files": len(paths)}, who, plan.as_of)
    return totals


def format_plan(plan: Plan) -> str:
    if not plan.items:
        return f"retention plan as of {plan.as_of}: nothing has expired"
    lines = [f"retention plan as of {plan.as_of} (counts only; `worklink retention apply` does it)",
             f"{'store':15} {'source':32} {'action':24} {'count':>7}  unit / rule"]
    for i in plan.items:
        lines.append(f"{i['store']:15} {i['source'][:32]:32} {i['action']:24} {i['count']:>7}  "
                     f"{i['unit']} / {i['reason']}")
    return "\n".join(lines)


def parse_as_of(text: str | None) -> date:
    if not text:
        return datetime.now(UTC).date()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError("give the date as YYYY-MM-DD")
    return date.fromisoformat(text)


def run_nightly(as_of: date | None = None) -> dict | None:
    """The nightly task: apply retention when WORKLINK_RETENTION_NIGHTLY is on, else do nothing."""
    if not load_settings().retention_nightly:
        return None
    from worklink.platform.database import ensure_database, libpq_url

    with psycopg.connect(libpq_url(ensure_database()), autocommit=True) as conn:
        plan = make_plan(conn, as_of or datetime.now(UTC).date())
        totals = apply_plan(conn, plan, who="airflow:worklink_nightly")
    return {"as_of": plan.as_of.isoformat(), "totals": totals, "items": json.loads(json.dumps(plan.items))}


# ------------------------------------------------------------------------------- linkage's hooks
def erased_keys(conn: psycopg.Connection) -> set[str]:
    """Source records erased on request: linkage never links them again."""
    if conn.execute("select to_regclass('linkage.erased_records') is null").fetchone()[0]:
        return set()
    return {r[0] for r in conn.execute("select source_record_key from linkage.erased_records").fetchall()}


def carried_records(conn: psycopg.Connection, current_keys) -> tuple[list[dict], list[dict]]:
    """Records retention took the identifiers of (and not read this run): their last xref row and
    attributes, for linkage to carry unchanged so participant ids and marts survive."""
    if conn.execute("select to_regclass('linkage.deidentified_records') is null").fetchone()[0]:
        return [], []
    rows = conn.execute(
        """select source_system, source_record_key, participant_id, method, match_probability, match_weight,
                  model_version, linked_at, attributes from linkage.deidentified_records d
            where not (source_record_key = any(%s))
              and source_record_key not in (select source_record_key from linkage.erased_records)
            order by source_record_key""", (list(current_keys),)).fetchall()
    xref = [dict(zip(("source_system", "source_record_key", "participant_id", "method", "match_probability",
                      "match_weight", "model_version", "linked_at"), r[:8], strict=True)) for r in rows]
    attributes = [r[8] for r in rows if r[8]]
    return xref, attributes
