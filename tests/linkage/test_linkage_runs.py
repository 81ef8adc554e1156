"""Linkage against the real database and real Splink: quality, stable ids, clerical decisions, constraints.

One generated programme year arrives over two nights (referrals up to December, then the rest);
the DWP and HMRC extracts arrive on the first night.
"""

from __future__ import annotations

import re

import pandas as pd
import psycopg
import pytest
from click.testing import CliRunner
from linkage_helpers import drop_database, fresh_database, ingest, linkage_files
from worklink.linkage import run_linkage
from worklink.linkage.config import load_config
from worklink.linkage.evaluate import evaluate, load_truth

FIRST_NIGHT_UNTIL = "2025-12"
ID_FORMAT = re.compile(r"^WL[0-9A-HJKMNP-TV-Z]{10}$")
METHODS = {"deterministic_nhs_number", "deterministic_ni_number", "probabilistic", "clerical", "singleton"}


def xref(url: str) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select source_system, source_record_key, participant_id, method, match_probability,"
                            " match_weight, model_version, linked_at from linkage.participant_xref").fetchall()
    return pd.DataFrame(rows, columns=["source_system", "source_record_key", "participant_id", "method",
                                       "match_probability", "match_weight", "model_version", "linked_at"]
                        ).set_index("source_record_key")


def same_participant(frame: pd.DataFrame, a: str, b: str) -> bool:
    return frame.loc[a, "participant_id"] == frame.loc[b, "participant_id"]


@pytest.fixture(scope="module")
def nights(server_admin_url, session_db, linkage_sample):
    url = fresh_database(server_admin_url, session_db, "link")
    landing = linkage_sample / "landing"
    ingest(url, landing, linkage_files(landing, until=FIRST_NIGHT_UNTIL))
    first = run_linkage(url, keep_outcome=True)
    first_xref = xref(url)
    again = run_linkage(url)
    again_xref = xref(url)
    ingest(url, landing, linkage_files(landing, after=FIRST_NIGHT_UNTIL))
    second = run_linkage(url, keep_outcome=True)
    yield {"url": url, "first": first, "first_xref": first_xref, "again": again, "again_xref": again_xref,
           "second": second, "second_xref": xref(url), "truth": load_truth(linkage_sample / "_truth")}
    drop_database(server_admin_url, url)


def test_every_source_record_gets_one_participant(nights):
    summary, frame = nights["second"], nights["second_xref"]
    assert len(frame) == summary["source_records"] > 500
    assert frame.index.is_unique
    assert set(frame["method"]) <= METHODS
    assert frame["participant_id"].map(lambda p: bool(ID_FORMAT.match(p))).all()
    assert frame["model_version"].str.startswith("lm-").all()
    assert set(frame["source_system"]) == {"ancoats_trust", "mossside_carers", "wythenshawe_wellbeing",
                                           "icb_workwell", "dwp", "hmrc"}
    keys = frame.index.to_series()
    assert keys[frame["source_system"] == "icb_workwell"].str.match(r"^icb_workwell:WW\d+$").all()
    assert keys[frame["source_system"] == "dwp"].str.match(r"^dwp:[0-9a-f]{64}$").all()
    assert keys[frame["source_system"] == "ancoats_trust"].str.match(r"^ancoats_trust:ACT-\d+$").all()
    prob = frame[frame["method"] == "probabilistic"]
    accept = load_config().thresholds.accept_match_probability
    assert len(prob) and prob["match_probability"].between(accept, 1).all() and prob["match_weight"].notna().all()
    assert frame.loc[frame["method"] == "singleton", "match_probability"].isna().all()


def test_linkage_quality_against_ground_truth(nights):
    outcome = nights["second"]["outcome"]
    quality = evaluate(outcome.records["source_record_key"].to_numpy(), outcome.participant_id, nights["truth"],
                       outcome.records)
    assert quality["records_without_truth"] == 0
    assert quality["pairs"]["precision"] >= 0.995, quality
    # against ALL true pairs too: the extracts carry names and postcodes (RTI, DWP address), so an
    # ICB referral (never a NINo) reaches its person's HMRC record (was ~0.86 when they did not)
    assert quality["pairs"]["recall"] >= 0.97 and quality["pairs"]["f1"] >= 0.985, quality
    assert quality["linkable_pairs"]["recall"] >= 0.97, quality
    assert quality["linkable_pairs"]["f1"] >= 0.985, quality
    by_method = nights["second"]["records_by_method"]
    assert by_method["deterministic_nhs_number"] > 0 and by_method["deterministic_ni_number"] > 0
    assert by_method["probabilistic"] > 0


def test_dwp_and_hmrc_records_of_one_nino_are_linked_deterministically(nights):
    frame = nights["second_xref"]
    with psycopg.connect(nights["url"]) as conn:
        both = conn.execute("""select distinct d.nino_token from raw.dwp_benefit_months d
                               join raw.hmrc_pay_events h using (nino_token) limit 50""").fetchall()
    assert both
    for (token,) in both:
        assert same_participant(frame, f"dwp:{token}", f"hmrc:{token}")


def test_rerun_on_unchanged_data_changes_no_participant_id(nights):
    before, after = nights["first_xref"], nights["again_xref"]
    assert before.index.equals(after.index)
    assert (before["participant_id"] == after.loc[before.index, "participant_id"]).all()
    assert (before["method"] == after.loc[before.index, "method"]).all()
    assert (before["linked_at"] == after.loc[before.index, "linked_at"]).all(), "unchanged links keep linked_at"
    assert nights["again"]["participant_ids"] == {"new": 0, "merged": 0, "retired": 0,
                                                   "kept": nights["first"]["participants"]}
    assert nights["again"]["model_trained_this_run"] is False


def test_a_new_nights_records_keep_all_earlier_ids(nights):
    before, after = nights["first_xref"], nights["second_xref"]
    assert len(after) > len(before)
    assert before.index.isin(after.index).all()
    moved = before[before["participant_id"] != after.loc[before.index, "participant_id"]]
    merged = nights["second"]["participant_ids"]["merged"]
    # an id only changes when a new record shows two earlier participants are one person
    assert len(moved) <= merged * 3, moved
    with psycopg.connect(nights["url"]) as conn:
        statuses = dict(conn.execute("select participant_id, status from linkage.participants").fetchall())
        merged_into = dict(conn.execute("select participant_id, merged_into from linkage.participants"
                                        " where status = 'merged'").fetchall())
    for key, row in moved.iterrows():
        assert merged_into.get(row["participant_id"]) == after.loc[key, "participant_id"]
    kept = set(before["participant_id"]) - set(merged_into)
    assert all(statuses[p] == "active" for p in kept)
    new_keys = after.index.difference(before.index)
    joined = after.loc[new_keys, "participant_id"].isin(set(before["participant_id"]))
    assert joined.any(), "some of the new night's referrals belong to people seen before"


def test_source_record_attributes_hold_no_identifiers(nights):
    with psycopg.connect(nights["url"]) as conn:
        cols = [r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'linkage'"
            " and table_name = 'source_record_attributes'").fetchall()]
        rows = conn.execute("select source_record_key, source_system, sex, age_band_at_referral,"
                            " age_band_at_extract, postcode_district, borough from linkage.source_record_attributes"
                            ).fetchall()
    assert not {"date_of_birth", "dob", "birth_year", "postcode", "first_name", "surname"} & set(cols)
    frame = pd.DataFrame(rows, columns=["key", "system", "sex", "band_ref", "band_ext", "district", "borough"])
    assert len(frame) == len(nights["second_xref"])
    referrals = frame[~frame["system"].isin(["dwp", "hmrc"])]
    assert referrals["band_ref"].dropna().isin(["16-24", "25-34", "35-49", "50-64", "65+"]).all()
    assert referrals["band_ref"].notna().mean() > 0.9
    assert frame.loc[frame["system"].isin(["dwp", "hmrc"]), "band_ext"].notna().mean() > 0.9
    assert frame["district"].dropna().str.fullmatch(r"[A-Z]{1,2}\d{1,2}[A-Z]?").all()
    icb = frame[frame["system"] == "icb_workwell"]
    assert (icb.loc[icb["district"].str.startswith("BB", na=False), "borough"] == "Blackburn with Darwen").all()
    assert (frame.loc[frame["district"].isin(["M14", "M22"]), "borough"] == "Manchester").all()


def test_do_not_link_decision_survives_full_reruns(nights):
    from worklink.linkage.review import record_decision, withdraw_decision

    url = nights["url"]
    current = xref(url)
    with psycopg.connect(url) as conn:
        key_l, key_r = conn.execute(
            "select key_l, key_r from linkage.match_pairs where method = 'probabilistic'"
            " and key_l not like 'dwp:%%' and key_l not like 'hmrc:%%' order by key_l limit 1").fetchone()
    assert same_participant(current, key_l, key_r)
    with psycopg.connect(url, autocommit=True) as conn:
        record_decision(conn, key_r, key_l, "do_not_link", decided_by="test", note="different people")
    run_linkage(url)
    assert not same_participant(xref(url), key_l, key_r)
    run_linkage(url, retrain=True)  # a full re-run with a newly trained model still honours it
    after = xref(url)
    assert not same_participant(after, key_l, key_r)
    with psycopg.connect(url, autocommit=True) as conn:
        assert withdraw_decision(conn, key_l, key_r)
    run_linkage(url)
    assert same_participant(xref(url), key_l, key_r), "without the decision the model links them again"


def test_link_decision_joins_two_participants(nights):
    from worklink.linkage.review import record_decision

    url = nights["url"]
    current = xref(url)
    singles = current[(current["method"] == "singleton") & (current["source_system"] == "wythenshawe_wellbeing")]
    a, b = singles.index[:2]
    with psycopg.connect(url, autocommit=True) as conn:
        record_decision(conn, a, b, "link", decided_by="test")
    run_linkage(url)
    after = xref(url)
    assert same_participant(after, a, b)
    assert after.loc[a, "method"] == after.loc[b, "method"] == "clerical"


def test_different_valid_nhs_numbers_are_never_merged_automatically(nights, linkage_sample, tmp_path):
    """Two referrals sharing a NINo and date of birth (a deterministic link) but not an NHS number."""
    url = nights["url"]
    landing = tmp_path / "landing"
    folder = landing / "wythenshawe_wellbeing" / "referrals"
    folder.mkdir(parents=True)
    header = ("referral_id,first_name,last_name,date_of_birth,sex,ethnicity,postcode,phone,email,nhs_number,"
              "ni_number,referral_date,referral_source,priority_group,main_condition,carer_hours_per_week,"
              "economic_status,service_variant,eligible,ineligible_reason")
    rows = [
        "WWC-990001,Imogen,Quartermaine,1971-03-04,F,,M22 5RT,,,9434765919,JZ552104A,2026-10-05,gp,carer,"
        "mental_health,20,inactive_other,digital_first,Y,",
        "WWC-990002,Imogen,Quartermaine,1971-03-04,F,,M22 5RT,,,4010232137,JZ552104A,2026-10-20,gp,carer,"
        "mental_health,20,inactive_other,digital_first,Y,",
    ]
    path = folder / "WWC_referrals_2026-10.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ingest(url, landing, [path])
    summary = run_linkage(url)
    after = xref(url)
    a, b = "wythenshawe_wellbeing:WWC-990001", "wythenshawe_wellbeing:WWC-990002"
    assert not same_participant(after, a, b)
    assert summary["links"]["blocked_by_constraint"] >= 1
    with psycopg.connect(url) as conn:
        reason = conn.execute("select reason from linkage.review_queue where key_l = %s and key_r = %s",
                              (a, b)).fetchone()
    assert reason == ("conflicting_nhs_number",)
    from worklink.linkage.review import record_decision

    with psycopg.connect(url, autocommit=True) as conn:  # a reviewer may still join them
        record_decision(conn, a, b, "link", decided_by="test", note="NHS number mistyped, checked with GP")
    run_linkage(url)
    assert same_participant(xref(url), a, b)


def test_cli_report_and_review(nights, linkage_sample):
    from worklink.linkage.cli import link_command

    url = nights["url"]
    runner = CliRunner()
    result = runner.invoke(link_command, ["--report", "--truth", str(linkage_sample / "_truth"),
                                          "--database-url", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    t = load_config().thresholds
    for text in ("precision", "recall", "F1", "B-cubed", "records by method", "deterministic_nhs_number",
                 f"accept >= {t.accept_match_probability}", f"review >= {t.review_match_probability}",
                 "match_weights"):
        assert text in out, out
    # blocking: candidate pairs per rule and recall of true pairs (>= 99.5% of the linkable ones)
    candidates = re.search(r"blocking\s+([\d,]+) candidate pairs of ([\d,]+) possible", out)
    assert candidates and 0 < int(candidates[1].replace(",", "")) < int(candidates[2].replace(",", "")), out
    recall = re.search(r"of the linkable ([\d,]+): ([\d,]+) \(recall ([\d.]+)\)", out)
    assert recall and float(recall[3]) >= 0.995, out
    chart = re.search(r"chart match_weights\s+(\S+)", out).group(1)
    html = open(chart, encoding="utf-8").read()
    assert "<html" in html.lower() and "vega" in html.lower()
    listed = runner.invoke(link_command, ["review", "--list", "--database-url", url], catch_exceptions=False)
    assert listed.exit_code == 0 and ("p=" in listed.output or "queue is empty" in listed.output)
    bad = runner.invoke(link_command, ["review", "decide", "nope:1", "nope:2", "--link", "--database-url", url])
    assert bad.exit_code != 0 and "unknown source record key" in bad.output


def test_a_warehouse_with_nothing_loaded_links_nothing(server_admin_url, session_db):
    url = fresh_database(server_admin_url, session_db, "empty")
    try:
        summary = run_linkage(url)
        again = run_linkage(url)
        with psycopg.connect(url) as conn:
            rows = conn.execute("select count(*) from linkage.participant_xref").fetchone()[0]
    finally:
        drop_database(server_admin_url, url)
    assert summary["source_records"] == summary["participants"] == rows == 0
    assert again["run_id"] == summary["run_id"] + 1
