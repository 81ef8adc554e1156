"""Who read the restricted data, and who was refused: `worklink audit report`.

PostgreSQL's pgaudit extension (Debian's postgresql-N-pgaudit, loaded by the embedded server) logs
every statement that reads or writes a table of ``identity`` or ``restricted`` (object audit through
the ``worklink_auditor`` role, see worklink.platform.roles.ensure_access_audit), with the database
role, the database and the application name in each line's prefix; a refused read is the server's
"permission denied" error. Statement text is never logged (``pgaudit.log_statement = off``,
``log_min_error_statement = panic``): a query may carry an identifier in its WHERE clause. This
module reads those lines back and summarises them; it never prints a statement.

The clerical-review command sets its application name to ``review:<reviewer>`` while it reads
identifiers, so the report names the person, not only the database role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) \S+ \[\d+\] user=(?P<user>\S*) db=(?P<db>\S*) "
    r"app=(?P<app>.*?) (?P<level>LOG|ERROR):\s+(?P<message>.*)$")
_AUDIT = re.compile(r"^AUDIT: (?:OBJECT|SESSION),\d+,\d+,(?P<cls>[A-Z]+),(?P<command>[A-Z ]+),"
                    r"(?P<object_type>[A-Z ]*),(?P<object>[^,]*)")
_REFUSED = re.compile(r"^permission denied for (?P<object_type>schema|table|relation|view) (?P<object>\S+)")


@dataclass(frozen=True)
class AccessEvent:
    at: datetime
    role: str
    database: str
    application: str
    kind: str  # read | write | refused
    object: str  # schema.table (refused: the schema or table the server named)


def parse(lines: Iterable[str], since: datetime | None = None, database: str | None = None) -> Iterator[AccessEvent]:
    for line in lines:
        match = _LINE.match(line.rstrip("\n"))
        if not match or (database and match["db"] != database):
            continue
        at = datetime.fromisoformat(match["ts"])
        if since and at < since:
            continue
        message = match["message"]
        if match["level"] == "LOG":
            audit = _AUDIT.match(message)
            if not audit or not audit["object"]:
                continue
            kind = "read" if audit["cls"] == "READ" else "write"
            yield AccessEvent(at, match["user"], match["db"], match["app"], kind, audit["object"])
        else:
            refused = _REFUSED.match(message)
            if refused:
                yield AccessEvent(at, match["user"], match["db"], match["app"], "refused", refused["object"])


@dataclass
class AccessSummary:
    role: str
    application: str
    kind: str
    object: str
    count: int
    first: datetime
    last: datetime

    def to_dict(self) -> dict:
        row = asdict(self)
        row["first"], row["last"] = self.first.isoformat(), self.last.isoformat()
        return row


def summarise(events: Iterable[AccessEvent]) -> list[AccessSummary]:
    groups: dict[tuple, AccessSummary] = {}
    for e in events:
        key = (e.role, e.application, e.kind, e.object)
        if key in groups:
            g = groups[key]
            g.count += 1
            g.first, g.last = min(g.first, e.at), max(g.last, e.at)
        else:
            groups[key] = AccessSummary(e.role, e.application, e.kind, e.object, 1, e.at, e.at)
    return sorted(groups.values(), key=lambda g: (g.kind != "refused", g.role, g.object, g.application))
