"""`worklink reprocess --partner P --period YYYY-MM`: take in a partner's corrected month, then rebuild.

A partner who corrects a month sends the month's file again (same name pattern, same period) into
its landing folder. Reprocessing ingests exactly the landed files of that partner whose file name
says that month, with the rules the nightly uses:

* a corrected file (new content) is loaded and becomes the month's current version; the version it
  replaces stays in the archive and the manifest, flagged not current;
* an earlier version sent again becomes current again (``reinstated``);
* the current version itself, sent again, is a ``duplicate``: nothing changes;

and then, unless ``--no-build``, links participants again and runs the nightly dbt build, which
rebuilds what the changed rows affect (``worklink.orchestration.nightly_dbt``). Everything is
recorded under the run label ``reprocess__<partner>__<period>__<UTC time>`` in ``ingest.file_manifest``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from worklink.contracts import Contract, load_contracts

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass
class ReprocessOutcome:
    partner: str
    period: str
    run_label: str
    files: list = field(default_factory=list)  # IngestResult
    linkage: dict | None = None
    dbt: dict | None = None

    @property
    def changed(self) -> bool:
        return any(r.status in ("loaded", "loaded_with_quarantine", "reinstated") for r in self.files)


def month_files(partner_id: str, period: str, contracts: list[Contract], landing_dir: Path) -> list[Path]:
    """The partner's landed files whose name says ``period`` (any of its feeds)."""
    from worklink.ingest.periods import period_of

    found = []
    for contract in (c for c in contracts if c.partner.id == partner_id):
        folder = landing_dir / partner_id / contract.feed
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.match(contract.file.pattern) and period_of(path, contract) == period:
                found.append(path)
    return found


def reprocess(partner_id: str, period: str, *, build: bool = True, say: Callable[[str], None] = print,
              contracts: list[Contract] | None = None) -> ReprocessOutcome:
    from worklink.ingest.service import ingest_paths
    from worklink.settings import load_settings

    if not PERIOD.match(period):
        raise ValueError(f"--period must be a month as YYYY-MM, got {period!r}")
    settings = load_settings()
    contracts = contracts if contracts is not None else load_contracts(settings.contracts_dir)
    partners = sorted({c.partner.id for c in contracts})
    if partner_id not in partners:
        raise ValueError(f"unknown partner {partner_id!r}; partners: {', '.join(partners)}")
    paths = month_files(partner_id, period, contracts, settings.landing_dir)
    if not paths:
        raise ValueError(f"no file of {partner_id} for {period} in {settings.landing_dir / partner_id}: "
                         "land the corrected file there first")
    label = f"reprocess__{partner_id}__{period}__{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    outcome = ReprocessOutcome(partner_id, period, label)
    outcome.files = ingest_paths(paths, settings=settings, contracts=contracts, run_label=label)
    for result in outcome.files:
        say(f"{result.status:23} {Path(result.file).name} rows_loaded={result.rows_loaded} "
            f"rows_quarantined={result.rows_quarantined}")
    if not build:
        say("--no-build: the warehouse is rebuilt by the next nightly")
        return outcome
    if not outcome.changed:
        say("nothing changed (the landed files are the current versions): no rebuild needed")
        return outcome
    from worklink.linkage import run_linkage
    from worklink.orchestration.nightly_dbt import default_work_dir, run_nightly_dbt
    from worklink.platform.database import runtime_env

    # dbt runs in this process: its profile reads the connection from these variables (the DAG's
    # tasks and `worklink dbt` get them from the same place)
    for key, value in runtime_env(settings).items():
        if key.startswith(("WORKLINK_DBT_", "DBT_")):
            os.environ.setdefault(key, value)

    say("linking participants")
    summary = run_linkage()
    outcome.linkage = {k: summary.get(k) for k in ("source_records", "participants") if k in summary}
    say("dbt: nightly build of what the corrected month affects")
    result = run_nightly_dbt(settings.dbt_project_dir, default_work_dir(), log=say)
    outcome.dbt = result.__dict__
    if not result.success:
        raise RuntimeError("the dbt build failed: see its output above; the corrected files are loaded, "
                           "so the next nightly (or `worklink reprocess` again) rebuilds")
    return outcome
