"""Pseudonym key rotation: every token changes, participant ids and clerical decisions do not."""

from __future__ import annotations

import psycopg
import pytest
from linkage_helpers import drop_database, fresh_database, ingest, linkage_files
from worklink.identity.pseudonyms import key_id
from worklink.identity.rotation import rotate_key
from worklink.linkage import run_linkage
from worklink.linkage.records import LinkageInputError
from worklink.linkage.review import record_decision

OLD_KEY, NEW_KEY = "11" * 32, "22" * 32


def snapshot(url: str) -> dict:
    with psycopg.connect(url) as conn:
        return {
            "xref": dict(conn.execute("select source_record_key, participant_id from linkage.participant_xref")),
            "dwp_tokens": {r[0] for r in conn.execute("select distinct nino_token from raw.dwp_benefit_months")},
            "vcse_tokens": {r[0] for r in conn.execute("select nhs_number_token from raw.vcse_referrals"
                                                       " where nhs_number_token is not null")},
            "decisions": conn.execute("select key_l, key_r, decision from linkage.review_decisions").fetchall(),
        }


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv("WORKLINK_PSEUDONYM_KEY", OLD_KEY)
    return monkeypatch


def test_rotation_retokenises_raw_and_keeps_participants(keyed, server_admin_url, session_db, linkage_sample):
    url = fresh_database(server_admin_url, session_db, "rotate")
    try:
        landing = linkage_sample / "landing"
        ingest(url, landing, linkage_files(landing, until="2025-09"))
        run_linkage(url)
        with psycopg.connect(url, autocommit=True) as conn:
            dwp_key, referral_key = conn.execute(
                "select (select source_record_key from linkage.participant_xref where source_system = 'dwp'"
                "         order by 1 limit 1),"
                "       (select source_record_key from linkage.participant_xref where source_system = 'icb_workwell'"
                "         order by 1 limit 1)").fetchone()
            record_decision(conn, dwp_key, referral_key, "do_not_link", decided_by="test")
        run_linkage(url)
        before = snapshot(url)
        old_id = key_id()

        result = rotate_key(url, bytes.fromhex(NEW_KEY))
        assert result.old_key_id == old_id and result.key_file is None  # env key: the operator updates it
        with pytest.raises(LinkageInputError):  # raw now holds new-key tokens, the env still the old key
            run_linkage(url)
        keyed.setenv("WORKLINK_PSEUDONYM_KEY", NEW_KEY)
        assert key_id() == result.new_key_id != old_id
        summary = run_linkage(url)
        after = snapshot(url)
    finally:
        drop_database(server_admin_url, url)

    assert after["dwp_tokens"].isdisjoint(before["dwp_tokens"]) and len(after["dwp_tokens"]) == len(
        before["dwp_tokens"])
    assert after["vcse_tokens"].isdisjoint(before["vcse_tokens"])
    assert summary["participant_ids"]["new"] == summary["participant_ids"]["merged"] == 0
    # same participants: the DWP/HMRC keys moved to the new tokens, every id kept
    assert sorted(before["xref"].values()) == sorted(after["xref"].values())
    referral_ids = {k: v for k, v in before["xref"].items() if not k.startswith(("dwp:", "hmrc:"))}
    assert all(after["xref"][k] == v for k, v in referral_ids.items())
    assert len(after["decisions"]) == 1 and after["decisions"][0][2] == "do_not_link"
    new_dwp_key = next(k for k in after["decisions"][0][:2] if k.startswith("dwp:"))
    assert new_dwp_key != dwp_key and new_dwp_key in after["xref"]
    assert after["xref"][new_dwp_key] != after["xref"][referral_key]


def test_identity_cli_prints_the_key_fingerprint_and_guards_rotation(keyed):
    from click.testing import CliRunner
    from worklink.identity.cli import identity_command

    runner = CliRunner()
    shown = runner.invoke(identity_command, ["key-id"], catch_exceptions=False)
    assert shown.exit_code == 0 and shown.output.strip() == key_id()
    refused = runner.invoke(identity_command, ["rotate-key", "--yes"])  # env key set, no --new-key-env
    assert refused.exit_code != 0 and "--new-key-env" in refused.output
    short = runner.invoke(identity_command, ["rotate-key", "--yes", "--new-key-env", "SHORT_KEY"],
                          env={"SHORT_KEY": "abcd"})
    assert short.exit_code != 0 and "256 bits" in short.output
