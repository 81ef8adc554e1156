"""Hand-computed cases: every case folder's landing files, merged into one landing tree, run once
through the real path (the ingest service, `run_linkage`, `worklink dbt build`) on a database of
this module's own. See tests/cases/README.md for how a case is laid out and how to add one.

Merging: the same file name (partner, feed, period) in several cases becomes one file whose rows
are the cases' rows in case order, under the one heading line they must share. Case files are
UTF-8 CSV with the contract's own headings; each merged file is written the way its contract
agrees (encoding, and a workbook with the title lines above the headings for `xlsx` feeds).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "dbt"))

from dbt_warehouse_helpers import Warehouse  # noqa: E402

# The as-at date every case is computed against: the last day of the latest VCSE month delivered
# (_as_at/landing holds a header-only referrals file for 2026-10); HMRC and DWP extracts are
# delivered for 2026-10 too, so the HMRC coverage ends on the same day.
AS_AT_DATE = "2026-10-31"


@dataclass
class Case:
    name: str
    folder: Path
    spec: dict
    files: list[Path] = field(default_factory=list)

    @property
    def xfail(self) -> str | None:
        return self.spec.get("xfail")


def load_cases() -> list[Case]:
    cases = []
    for folder in sorted(p for p in HERE.iterdir() if p.is_dir() and (p / "landing").is_dir()):
        spec_file = folder / "expected.yml"
        spec = yaml.safe_load(spec_file.read_text()) if spec_file.exists() else {}
        files = sorted(p for p in (folder / "landing").rglob("*") if p.is_file())
        cases.append(Case(folder.name, folder, spec or {}, files))
    return cases


def _contract_for(partner: str, feed: str):
    from worklink.contracts import load_contracts

    for contract in load_contracts():
        if contract.partner.id == partner and contract.feed == feed:
            return contract
    return None


def _feeds(case: Case) -> set[tuple[str, str]]:
    return {tuple(p.relative_to(case.folder / "landing").parts[:2]) for p in case.files}


def merge_landing(cases: list[Case], landing: Path) -> dict[str, int]:
    """Write the merged landing tree; returns data rows per written file.

    A case marked xfail whose feeds have no contract yet (a feed another branch is adding) is left
    out of the tree, so it cannot break the others; it then fails its checks, as expected."""
    merged: dict[tuple[str, str, str], tuple[list[str], list[list[str]], list[str]]] = {}
    for case in cases:
        missing = sorted(f"{partner}/{feed}" for partner, feed in _feeds(case) if _contract_for(partner, feed) is None)
        if missing:
            assert case.xfail, f"{case.name}: no contract for landing folder(s) {missing}"
            continue
        for path in case.files:
            rel = path.relative_to(case.folder / "landing")
            assert len(rel.parts) == 3 and rel.suffix == ".csv", f"{case.name}: {rel} is not <partner>/<feed>/<file>.csv"
            partner, feed, name = rel.parts
            rows = [row for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))) if row]
            header, body = rows[0], rows[1:]
            key = (partner, feed, path.stem)
            if key in merged:
                assert merged[key][0] == header, f"{case.name}: {rel} headings differ from another case's"
                merged[key][1].extend(body)
                merged[key][2].append(case.name)
            else:
                merged[key] = (header, body, [case.name])
    written = {}
    for (partner, feed, stem), (header, body, _owners) in merged.items():
        contract = _contract_for(partner, feed)
        spec = contract.file
        folder = landing / partner / feed
        folder.mkdir(parents=True, exist_ok=True)
        if spec.format == "xlsx":
            from worklink.synth.output import write_xlsx

            titles = [f"{contract.partner.name}: {feed} (hand-computed cases)"] + [""] * (spec.header_row - 2)
            write_xlsx(folder / f"{stem}.xlsx", pd.DataFrame(body, columns=header), header, spec.sheet, titles)
        else:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows([header, *body])
            (folder / f"{stem}.csv").write_bytes(buffer.getvalue().encode(spec.encoding))
        written[f"{partner}/{feed}/{stem}"] = len(body)
    return written


def small_delivery_linkage_config():
    """The linkage settings file as it is, except the number of record pairs sharing a valid NHS
    number or NINo needed to learn what true matches look like from them (200 by default): the
    cases hold a few dozen people, whose shared identifiers give a handful of pairs, and the other
    way to train (expectation maximisation) finds nothing to learn from in so few records."""
    from worklink.linkage.config import load_config

    config = load_config()
    training = config.model.training.model_copy(update={"min_identifier_label_pairs": 1})
    return config.model_copy(update={"model": config.model.model_copy(update={"training": training})})


@pytest.fixture(scope="module")
def cases_warehouse(module_db, tmp_path_factory) -> Warehouse:
    """All cases' landing folders ingested, linked and built once, on this module's database."""
    import os

    from worklink.contracts import load_contracts
    from worklink.ingest.service import ingest_paths
    from worklink.linkage import run_linkage
    from worklink.settings import load_settings

    work = tmp_path_factory.mktemp("cases")
    landing = work / "landing"
    merge_landing(load_cases(), landing)
    env = {
        **os.environ,
        "WORKLINK_LANDING_DIR": str(landing),
        "DBT_TARGET_PATH": str(work / "dbt_target"),
        "DBT_LOG_PATH": str(work / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    warehouse = Warehouse(url=module_db, sample=work, env=env)

    started = time.monotonic()
    settings = dataclasses.replace(load_settings(), database_url=module_db, landing_dir=landing)
    results = ingest_paths([landing], settings=settings, contracts=load_contracts())
    warehouse.timings["ingest"] = time.monotonic() - started
    warehouse.ingest_results = results
    warehouse.landing = landing
    not_loaded = [(r.file, r.status, [e.message for e in r.errors][:3]) for r in results
                  if r.status not in ("loaded", "loaded_with_quarantine")]
    assert not not_loaded, not_loaded

    started = time.monotonic()
    warehouse.linkage = run_linkage(module_db, config=small_delivery_linkage_config())
    warehouse.timings["linkage"] = time.monotonic() - started

    # the build's exit is checked by the tests (a case may be about it), so that one failed data
    # test does not hide every case's answers
    started = time.monotonic()
    warehouse.build = warehouse.dbt("build", check=False)
    warehouse.timings["dbt_build"] = time.monotonic() - started
    print("hand-computed cases built:", ", ".join(f"{k} {v:.0f} s" for k, v in warehouse.timings.items()))
    return warehouse
