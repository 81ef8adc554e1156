"""Content checks on the clean output: identifiers, shares, formats, read-back, CLI."""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner
from synth_helpers import landing_files, read_landing
from worklink.identifiers import (
    is_valid_nhs_number,
    is_valid_nino,
    valid_nhs_number_mask,
    valid_nino_mask,
    valid_postcode_mask,
)
from worklink.synth.cli import generate_command
from worklink.synth.schema import CODE_LISTS, FEEDS, ICB_CODE_LISTS, PARTNERS


def _all(out, pattern):
    return pd.concat([read_landing(out, f) for f in landing_files(out) if pattern in f], ignore_index=True)


def test_identifiers_valid_and_shares(clean_run):
    refs = pd.concat([_all(clean_run, f"/{p}/referrals/") for p in PARTNERS], ignore_index=True)
    nhs = refs["nhs_number"][refs["nhs_number"] != ""]
    nino = refs["ni_number"][refs["ni_number"] != ""]
    pc = refs["postcode"][refs["postcode"] != ""]
    assert valid_nhs_number_mask(nhs).all() and all(is_valid_nhs_number(x) for x in nhs)
    assert valid_nino_mask(nino).all() and all(is_valid_nino(x) for x in nino)
    assert valid_postcode_mask(pc).all()
    neither = ((refs["nhs_number"] == "") & (refs["ni_number"] == "")).mean()
    assert neither >= 0.30
    assert 0.2 < (refs["nhs_number"] != "").mean() < 0.6
    assert 0.25 < (refs["ni_number"] != "").mean() < 0.6
    assert (pc.str.upper().str.replace(" ", "").str.match(r"M\d")).all()
    icb = _all(clean_run, "/icb_workwell/referrals/")
    assert (icb["nhs_number"] != "").mean() > 0.9
    assert valid_nhs_number_mask(icb["nhs_number"][icb["nhs_number"] != ""]).all()
    assert valid_postcode_mask(icb["postcode"]).all()
    persons = pd.read_csv(clean_run / "_truth" / "persons.csv", dtype=str, keep_default_na=False)
    assert valid_nhs_number_mask(persons["nhs_number"][persons["nhs_number"] != ""]).all()
    assert valid_nino_mask(persons["ni_number"][persons["ni_number"] != ""]).all()
    assert not persons["nhs_number"].replace("", np.nan).dropna().duplicated().any()
    assert not persons["ni_number"].replace("", np.nan).dropna().duplicated().any()


def test_codes_and_ages(clean_run):
    for feed, cols in FEEDS.items():
        df = pd.concat([_all(clean_run, f"/{p}/{feed}/") for p in PARTNERS], ignore_index=True)
        for col in cols:
            if col in CODE_LISTS and col != "ineligible_reason":
                vals = set(df[col]) - {""}
                assert vals <= set(CODE_LISTS[col]), (feed, col, vals - set(CODE_LISTS[col]))
    icb = _all(clean_run, "/icb_workwell/referrals/")
    for col in ("referral_source", "fit_note_status", "main_condition", "employment_status_at_referral"):
        assert set(icb[col]) <= set(ICB_CODE_LISTS[col])
    refs = pd.concat([_all(clean_run, f"/{p}/referrals/") for p in PARTNERS], ignore_index=True)
    persons = pd.read_csv(clean_run / "_truth" / "persons.csv", dtype=str).set_index("person_id")
    sr = pd.read_csv(clean_run / "_truth" / "source_records.csv", dtype=str)
    ref_keys = sr[sr["file"].str.contains("/referrals/") & ~sr["file"].str.contains("icb_")]
    truth = ref_keys.set_index("source_record_key")["person_id"]
    for p in PARTNERS:
        sub = refs[refs["referral_id"].str.startswith(PARTNERS[p].id_prefix)]
        dob = pd.to_datetime(
            persons.loc[truth[[f"{p}:{r}" for r in sub["referral_id"]]], "date_of_birth"].values
        )
        age = (pd.to_datetime(sub["referral_date"]).values - dob).days / 365.25
        assert age.min() >= 16 and age.max() < 65


def test_readback_formats(clean_run):
    # Excel: header on row 3, real dates
    rel = next(
        f
        for f in landing_files(clean_run)
        if f.endswith(".xlsx") and "/referrals/" in f and len(read_landing(clean_run, f))
    )
    df = pd.read_excel(clean_run / rel, header=2, engine="openpyxl")
    assert list(df.columns) == list(PARTNERS["ancoats_trust"].headers["referrals"].values())
    assert pd.api.types.is_datetime64_any_dtype(df["Date Referred"])
    assert pd.read_excel(clean_run / rel, header=2, engine="calamine").shape == df.shape
    # Moss Side: Windows-1252, dd/mm/yyyy, CRLF
    ms = [f for f in landing_files(clean_run) if "/mossside_carers/" in f]
    raw = b"".join((clean_run / f).read_bytes() for f in ms)
    assert b"\r\n" in raw and any(b > 0x7F for b in raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        raise AssertionError("Moss Side files should not be valid UTF-8")
    rel = next(f for f in ms if "/referrals/" in f and len(read_landing(clean_run, f)))
    df = pd.read_csv(clean_run / rel, encoding="cp1252", dtype=str, keep_default_na=False)
    assert list(df.columns) == list(PARTNERS["mossside_carers"].headers["referrals"].values())
    pd.to_datetime(df["Date Referred"], format="%d/%m/%Y")
    # Wythenshawe: canonical snake_case, UTF-8, ISO dates
    rel = next(
        f
        for f in landing_files(clean_run)
        if "/wythenshawe_wellbeing/referrals/" in f and len(read_landing(clean_run, f))
    )
    df = pd.read_csv(clean_run / rel, encoding="utf-8", dtype=str, keep_default_na=False)
    assert list(df.columns) == list(FEEDS["referrals"])
    pd.to_datetime(df["referral_date"], format="%Y-%m-%d")


def test_cli(tmp_path):
    result = CliRunner().invoke(
        generate_command, ["--out", str(tmp_path), "--seed", "3", "--participants", "100"]
    )
    assert result.exit_code == 0, result.output
    assert "writing landing/" in result.stderr
    summary = json.loads((tmp_path / "_truth" / "summary.json").read_text())
    assert summary["arguments"] == {"seed": 3, "participants": 100, "defect_rate": 0.0}
    assert "--defect-rate" in CliRunner().invoke(generate_command, ["--help"]).output


def test_funnel_rates_plausible(tmp_path):
    from worklink.synth import generate

    generate(tmp_path, seed=5, participants=1500)
    c = json.loads((tmp_path / "_truth" / "counts.json").read_text())
    t = c["totals"]
    assert 0.8 < t["eligible"] / t["referrals"] < 0.9
    assert 0.45 < t["starts"] / t["referrals"] < 0.65
    assert 0.05 < t["job_starts"] / t["starts"] < 0.3
    assert t["sustained_long"] <= t["sustained_short"] <= t["job_starts"]
    assert t["leavers"] <= t["starts"]
    months = c["referrals_by_partner_month"]["ancoats_trust"]
    assert months["2025-06"] < months["2025-10"]  # ramp-up
    assert 700 < c["nhs_referrals_total"] < 1300  # ~900 BwD (60% of 1500) + MFT extension
