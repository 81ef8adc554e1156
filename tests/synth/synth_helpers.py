"""Helpers for the synthetic-data tests: constants and a reader mapping partner files to canonical columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from worklink.synth import workwell
from worklink.synth.schema import FEEDS, ICB_COLUMNS, PARTNERS

# the ICB's feeds: referrals (with identifiers) and the WorkWell service's own feeds
ICB_FEED_COLUMNS = {
    "referrals": ICB_COLUMNS,
    "starts": workwell.STARTS_COLUMNS,
    "contacts": workwell.CONTACTS_COLUMNS,
    "exits": workwell.EXITS_COLUMNS,
    "fit_notes": workwell.FIT_NOTES_COLUMNS,
}

SEED = 11
N = 300


def landing_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in (out / "landing").rglob("*") if p.is_file())


def read_landing(out: Path, rel: str) -> pd.DataFrame:
    """Read a VCSE or ICB landing file into canonical column names, all values as strings ('' = empty);
    dates as ISO yyyy-mm-dd strings."""
    parts = rel.split("/")
    partner, feed = parts[1], parts[2]
    path = out / rel
    if partner == "icb_workwell":
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        assert list(df.columns) == list(ICB_FEED_COLUMNS[feed])
        return df
    spec = PARTNERS[partner]
    types = FEEDS[feed]
    back = {h: c for c, h in spec.headers[feed].items()}
    if spec.file_format == "xlsx":
        df = pd.read_excel(path, header=spec.header_row - 1, dtype=object, engine="openpyxl")
        df = df.rename(columns=back)
        for col in df.columns:
            if types.get(col) == "date":
                df[col] = df[col].map(lambda v: "" if pd.isna(v) else pd.Timestamp(v).date().isoformat())
            elif types.get(col) in ("int", "float"):
                df[col] = df[col].map(lambda v: "" if pd.isna(v) else f"{float(v):g}")
            else:
                df[col] = df[col].map(lambda v: "" if pd.isna(v) else str(v))
        return df.astype(str)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=spec.encoding)
    df = df.rename(columns=back)
    if spec.date_format != "%Y-%m-%d":
        for col in df.columns:
            if types.get(col) == "date":
                parsed = pd.to_datetime(df[col].replace("", None), format=spec.date_format)
                df[col] = parsed.dt.strftime("%Y-%m-%d").fillna("")
    return df
