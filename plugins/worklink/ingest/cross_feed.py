"""Dates already loaded from a partner's other feeds, for the cross-feed date-order rules."""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg import sql


def earliest_dates(conn: psycopg.Connection, partner_id: str):
    """Lookup for cross-feed date rules: earliest current date per record id in raw.<table>."""

    def lookup(table: str, column: str, ids: list[str]) -> pd.Series:
        exists = conn.execute("select to_regclass(%s)", (f"raw.{table}",)).fetchone()[0]
        if not exists or not ids:
            return pd.Series(dtype="object")
        rows = conn.execute(
            sql.SQL("select referral_id, min({col}) from {tbl} where _partner_id = %s and _is_current"
                    " and referral_id = any(%s) and {col} is not null group by 1").format(
                col=sql.Identifier(column), tbl=sql.Identifier("raw", table)),
            (partner_id, ids),
        ).fetchall()
        return pd.Series(dict(rows), dtype="object")

    return lookup
