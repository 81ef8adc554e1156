"""What one ingested file comes to: its result and the issues found in it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

LINEAGE_COLUMNS = ["_file_id", "_source_row_number", "_partner_id", "_period"]


@dataclass
class FileIssue:
    rule: str
    column: str | None
    row: int | None
    message: str
    severity: str
    record_id: str | None = None


@dataclass
class IngestResult:
    file: str
    sha256: str
    partner: str | None
    feed: str | None
    status: str  # see worklink.ingest.manifest for the statuses
    file_id: int | None = None
    period: str | None = None
    version: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_warned: int = 0
    blank_rows: int = 0
    supersedes_file_id: int | None = None
    duplicate_of: int | None = None
    errors: list[FileIssue] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
