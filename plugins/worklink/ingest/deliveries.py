"""Late and missing deliveries, per partner and feed, each told once.

Every feed contract says when a month's file is due (``due_days_after_period`` after the month
ends). A month is **missing** when its due date has passed and no file for it was received; it is
**late** when its first file arrived after the due date. Only months due after the platform
started watching are judged (``WORKLINK_DELIVERIES_WATCHED_FROM``, default: the first ingest
run): history loaded on the first night was not late, the platform was simply not there yet.
Lateness uses the platform's own receipt time, never the file's modification time.

Each late or missing month is alerted once (``ingest.delivery_alerts``): to the data engineers
and to that partner's data-quality contacts, about that partner's own feeds only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import psycopg

from worklink.contracts import Contract, programme_start
from worklink.ingest.manifest import RECEIVED_STATUSES
from worklink.settings import load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryProblem:
    partner_id: str
    feed: str
    period: str
    kind: str  # late | missing
    due_at: datetime
    received_at: datetime | None = None

    def describe(self) -> str:
        due = self.due_at.date().isoformat()
        if self.kind == "missing":
            return f"{self.partner_id}/{self.feed} {self.period}: no file received (due {due})"
        return (f"{self.partner_id}/{self.feed} {self.period}: received {self.received_at.date().isoformat()}, "
                f"after it was due ({due})")


def _due(period: pd.Period, contract: Contract) -> pd.Timestamp:
    return (period + 1).to_timestamp().tz_localize("UTC") + pd.Timedelta(days=contract.file.due_days_after_period)


def delivery_problems(conn: psycopg.Connection, contracts: list[Contract], now: datetime | None = None
                      ) -> list[DeliveryProblem]:
    """Every late or missing month of every contract, as judged now (alerted or not)."""
    settings = load_settings()
    now = pd.Timestamp(now or conn.execute("select now()").fetchone()[0])
    watched = conn.execute("select coalesce(%s::timestamptz, (select min(processed_at) from ingest.file_manifest))",
                           (settings.deliveries_watched_from,)).fetchone()[0]
    if watched is None:
        return []  # nothing ever ingested: no history to judge against
    watched = pd.Timestamp(watched)
    first = {}
    for partner_id, feed, period, received in conn.execute(
            """select partner_id, feed, period, min(received_at) from ingest.file_manifest
                where period is not null and status = any(%s) group by 1, 2, 3""",
            (list(RECEIVED_STATUSES),)).fetchall():
        first[(partner_id, feed, period)] = pd.Timestamp(received)
    problems = []
    for contract in contracts:
        start = pd.Period(programme_start(contract.partner.programme), "M")
        last = pd.Period(contract.file.last_period, "M") if contract.file.last_period else pd.Period(now, "M")
        for period in pd.period_range(start, last, freq="M"):
            due = _due(period, contract)
            if due < watched or due >= now:
                continue
            key = (contract.partner.id, contract.feed, str(period))
            received = first.get(key)
            if received is None:
                problems.append(DeliveryProblem(*key, "missing", due.to_pydatetime()))
            elif received > due:
                problems.append(DeliveryProblem(*key, "late", due.to_pydatetime(), received.to_pydatetime()))
    return problems


def new_delivery_problems(conn: psycopg.Connection, contracts: list[Contract], now: datetime | None = None
                          ) -> list[DeliveryProblem]:
    """The problems not alerted before, recorded as alerted now (so each is told once)."""
    fresh = []
    for problem in delivery_problems(conn, contracts, now):
        inserted = conn.execute(
            """insert into ingest.delivery_alerts (partner_id, feed, period, kind, due_at)
               values (%s, %s, %s, %s, %s) on conflict do nothing returning 1""",
            (problem.partner_id, problem.feed, problem.period, problem.kind, problem.due_at)).fetchone()
        if inserted:
            fresh.append(problem)
    return fresh
