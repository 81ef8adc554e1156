"""The month a file reports on, from its name."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from worklink.contracts import Contract


def period_of(path: Path, contract: Contract) -> str | None:
    match = re.search(contract.file.period_regex, path.name)
    return match.group("period") if match else None

PERIOD_FORMAT = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

def period_problem(period: str, delivered: datetime) -> str | None:
    """Why a file name's period cannot be the month it reports on, or None."""
    if not PERIOD_FORMAT.fullmatch(period):
        return "is not a month (YYYY-MM with a month from 01 to 12)"
    if period > delivered.strftime("%Y-%m"):
        return f"is after the month the file was delivered ({delivered.strftime('%Y-%m')})"
    return None
