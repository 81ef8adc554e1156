"""A partner is one folder: copying one (and nothing else) adds a partner to the contracts, the
nightly DAG, the dbt seeds, the sample data, the ingest and the published marts; the committed seeds
equal what the partner folders generate."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import yaml
from pydantic import ValidationError
from worklink.contracts import feed_files, load_contract, load_contracts, load_partners, programme_start
from worklink.seeds import generated_texts, seed_texts

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = REPO_ROOT / "contracts"


def _copy_partner(tmp_path: Path, source: str = "ancoats_trust", new: str = "salford_allies") -> Path:
    """A copy of contracts/ with `source`'s folder copied to `new` (only its id and name edited)."""
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    shutil.copytree(contracts / source, contracts / new)
    spec = yaml.safe_load((contracts / new / "partner.yml").read_text())
    spec.update(id=new, name="Salford Allies", borough="salford",
                grants=[{**spec["grants"][0], "reference": "SAL-ETB-01", "amount_gbp": 120000}])
    (contracts / new / "partner.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return contracts


def test_committed_dbt_files_equal_the_contracts():
    for name, text in generated_texts(CONTRACTS).items():
        committed = (REPO_ROOT / "dbt_project" / name).read_text(encoding="utf-8")
        assert committed == text, f"dbt_project/{name} is out of date: run `worklink contracts build-seeds`"


def test_feed_files_hold_only_the_feed():
    for path in feed_files(CONTRACTS):
        assert "partner" not in yaml.safe_load(path.read_text()), f"{path}: partner block belongs in partner.yml"
    assert {p.id for p in load_partners(CONTRACTS)} == {p.name for p in CONTRACTS.iterdir() if p.is_dir()}


def test_copying_a_partner_folder_adds_the_partner(tmp_path, monkeypatch):
    contracts = _copy_partner(tmp_path)
    feeds = [c for c in load_contracts(contracts) if c.partner.id == "salford_allies"]
    assert sorted(c.feed for c in feeds) == sorted(p.stem for p in (CONTRACTS / "ancoats_trust").glob("*.yml")
                                                   if p.name != "partner.yml")
    seeds = seed_texts(contracts)
    # the four delivery partners of the repository plus the copy, VCSE before the ICB, by id
    assert seeds["delivery_partners.csv"].splitlines()[1:] == [
        "ancoats_trust,Ancoats Community Trust,gm_etb,vcse,manchester",
        "mossside_carers,Moss Side Carers Network,gm_etb,vcse,manchester",
        "salford_allies,Salford Allies,gm_etb,vcse,salford",
        "wythenshawe_wellbeing,Wythenshawe Wellbeing Collective,gm_etb,vcse,manchester",
        "icb_workwell,Lancashire and South Cumbria ICB: WorkWell,workwell_bwd,nhs_icb,blackburn_with_darwen",
    ]
    assert ("salford_allies,SAL-ETB-01,2025-06-01,2026-03-31,120000,"
            "synthetic: Manchester ETB VCSE grant (up to 200k per organisation)") in seeds["partner_grants.csv"]

    # the nightly DAG, built from that contracts folder, gets the partner's task group
    monkeypatch.setenv("WORKLINK_CONTRACTS_DIR", str(contracts))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert dagbag.import_errors == {}
    nightly = dagbag.dags["worklink_nightly"]
    assert nightly.get_task("salford_allies.alert").upstream_task_ids == {"salford_allies.ingest"}
    assert "salford_allies.alert" in nightly.get_task("ingests_finished").upstream_task_ids
    assert "partner__salford_allies" in dagbag.dags


def test_partner_folder_mistakes_are_named(tmp_path):
    contracts = _copy_partner(tmp_path)
    # a copied folder whose partner.yml still carries the old id
    spec = yaml.safe_load((contracts / "salford_allies" / "partner.yml").read_text())
    (contracts / "salford_allies" / "partner.yml").write_text(yaml.safe_dump({**spec, "id": "ancoats_trust"}))
    with pytest.raises(ValueError, match="differs from its folder name 'salford_allies'"):
        load_contract(contracts / "salford_allies" / "referrals.yml")
    # a delivery partner without a borough (the seed row would have none)
    del spec["borough"]
    (contracts / "salford_allies" / "partner.yml").write_text(yaml.safe_dump(spec))
    with pytest.raises(ValidationError, match="needs a borough"):
        load_contract(contracts / "salford_allies" / "referrals.yml")
    # a feed file that still repeats the partner block
    feed = contracts / "ancoats_trust" / "starts.yml"
    data = yaml.safe_load(feed.read_text())
    feed.write_text(yaml.safe_dump({"partner": {"id": "ancoats_trust"}, **data}))
    with pytest.raises(ValueError, match="belongs in partner.yml"):
        load_contract(feed)


def test_programmes_are_declared_once(tmp_path, monkeypatch):
    programmes = yaml.safe_load((CONTRACTS / "_programmes.yml").read_text())
    dbt_vars = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]
    # dbt reads each programme's dates from the generated seed, never from a var repeating them
    assert "programme_start_date" not in dbt_vars
    with (REPO_ROOT / "dbt_project" / "seeds" / "programmes.csv").open(newline="") as f:
        seed = {row["programme"]: row for row in csv.DictReader(f)}
    assert seed["gm_etb"]["start_date"] == str(programmes["gm_etb"]["start"]) == "2025-06-01"
    assert str(programme_start("workwell_bwd", CONTRACTS)) == "2024-10-01"
    contracts = _copy_partner(tmp_path)
    spec = yaml.safe_load((contracts / "salford_allies" / "partner.yml").read_text())
    (contracts / "salford_allies" / "partner.yml").write_text(yaml.safe_dump({**spec, "programme": "gm_etb2"}))
    monkeypatch.setenv("WORKLINK_CONTRACTS_DIR", str(contracts))  # programmes are read from the copy
    with pytest.raises(ValidationError, match="unknown programme 'gm_etb2'"):
        load_contract(contracts / "salford_allies" / "referrals.yml")


# ------------------------------------------------------------------ end to end: sample data to marts
def _without_synthetic_block(contracts: Path, partner: str) -> None:
    """The copy keeps no ``synthetic:`` block: the generator must simulate it from the defaults."""
    spec = yaml.safe_load((contracts / partner / "partner.yml").read_text())
    spec.pop("synthetic", None)
    (contracts / partner / "partner.yml").write_text(yaml.safe_dump(spec, sort_keys=False))


def _dbt_build(project: Path, work: Path, select: str) -> None:
    """`dbt build` of ``select`` (models and seeds only) in ``project`` against the configured database."""
    from worklink.cli import _subprocess_env

    dbt = str(Path(sys.executable).with_name("dbt"))
    proc = subprocess.run(
        [dbt, "build", "--select", select, "--resource-type", "model", "--resource-type", "seed",
         "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs")],
        env={**_subprocess_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_copied_partner_gets_sample_data_ingested_and_published(module_db, tmp_path, monkeypatch):
    """Copy a partner folder (without its synthetic block), rebuild the seeds from it, and nothing else:
    the generator simulates the partner, the real ingest (GX suites built from its contracts) loads its
    files, and a dbt build of the referral marts publishes it under its programme. Lean: 80 people, only
    the new partner's files, only the models upstream of the published referrals."""
    from worklink.ingest.service import ingest_paths
    from worklink.seeds import write_generated
    from worklink.settings import load_settings
    from worklink.synth import generate

    contracts = _copy_partner(tmp_path, source="mossside_carers")
    _without_synthetic_block(contracts, "salford_allies")
    monkeypatch.setenv("WORKLINK_CONTRACTS_DIR", str(contracts))

    sample = tmp_path / "sample"
    summary = generate(sample, seed=5, participants=80)
    counts = json.loads((sample / "_truth" / "counts.json").read_text())
    new = counts["by_partner"]["salford_allies"]
    # a file every month for every feed of the copied folder, with the truth's referrals in them
    own = {k: v for k, v in summary["rows_per_file"].items() if k.startswith("landing/salford_allies/")}
    assert len(own) == 8 * 10  # 8 feeds (partner.yml aside), June 2025 .. March 2026
    assert new["referrals"] > 0
    referrals = pd.concat([pd.read_csv(p, dtype=str, encoding="cp1252")
                           for p in sorted((sample / "landing" / "salford_allies" / "referrals").glob("*.csv"))])
    assert len(referrals) == new["referrals"]
    # defaults of a partner.yml without a synthetic block: ids 'SA-' + 6 digits from 1 (the initials of
    # salford_allies), service variants standard / enhanced
    assert referrals["ClientID"].str.fullmatch(r"SA-\d{6}").all()
    assert set(referrals["Service Model"]) <= {"standard", "enhanced"}

    # the real ingest of the new partner's files only (every feed's landing table is made for all contracts)
    settings = dataclasses.replace(load_settings(), landing_dir=sample / "landing")
    assert not (settings.expectations_dir / "salford_allies__referrals.json").exists()  # suites from contracts
    results = ingest_paths([sample / "landing" / "salford_allies"], settings=settings)
    assert results and {r.partner for r in results} == {"salford_allies"}
    assert {r.status for r in results} <= {"loaded", "empty"}, sorted({r.status for r in results})
    with psycopg.connect(module_db) as conn:
        loaded = conn.execute("select count(*) from raw.vcse_referrals where _partner_id = 'salford_allies'"
                              " and _is_current").fetchone()[0]
    assert loaded == new["referrals"]
    # linkage: the truth stand-in of the warehouse tests (a handful of records cannot train the model)
    sys.path.insert(0, str(REPO_ROOT / "tests" / "dbt"))
    from dbt_linkage_fixture import build_linkage_fixture

    build_linkage_fixture(module_db, sample / "_truth")

    project = tmp_path / "dbt_project"
    shutil.copytree(REPO_ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    write_generated(contracts, project)  # what `worklink contracts build-seeds` writes
    _dbt_build(project, tmp_path / "dbt", "+published_referrals_by_partner_month partner_grants")
    with psycopg.connect(module_db) as conn:
        marts = dict(conn.execute(
            "select programme, count(*) from analytics.referrals where partner_id = 'salford_allies' group by 1"
        ).fetchall())
        published = conn.execute("select count(*) from published.referrals_by_partner_month"
                                 " where partner_id = 'salford_allies'").fetchone()[0]
        grants = conn.execute("select sum(grant_amount_gbp) from reference.partner_grants"
                              " where partner_id = 'salford_allies'").fetchone()[0]
    assert marts == {"gm_etb": new["referrals"]}  # its seed row: the programme, not 'unknown'
    assert published > 0
    assert grants == 120000
