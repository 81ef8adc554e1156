"""Every defect listed in defects.csv is really present in the file at that row/column."""

import codecs
import datetime as dt

import pandas as pd
from synth_helpers import SEED, N, landing_files, read_landing
from worklink.identifiers import is_temporary_nino, is_valid_nhs_number, is_valid_nino, is_valid_postcode
from worklink.synth import generate
from worklink.synth.output import code_list
from worklink.synth.params import ETB_START, INSTRUMENTS, WW_START
from worklink.synth.schema import EVENT_DATE, PARTNERS


def _defects(out) -> pd.DataFrame:
    return pd.read_csv(out / "_truth" / "defects.csv", dtype=str, keep_default_na=False)


def test_clean_run_has_no_defects(clean_run):
    assert _defects(clean_run).empty
    sr = pd.read_csv(clean_run / "_truth" / "source_records.csv", dtype=str, keep_default_na=False)
    assert (sr["defect"] == "").all()


def _period_end(rel: str) -> str:
    period = pd.Period(rel.rsplit("_", 1)[1][:7], "M")
    return period.end_time.date().isoformat()


ALL_ROW_DEFECTS = {
    "invalid_nhs_number",
    "invalid_nino",
    "invalid_postcode",
    "future_date",
    "date_before_programme",
    "dates_out_of_order",
    "missing_required",
    "unknown_code",
    "wellbeing_out_of_range",
    "duplicate_row",
}


def _verify_row_defects(defect_run) -> set[str]:
    """Check every row-level defect in defects.csv against the file; return the defect types seen."""
    defects = _defects(defect_run)
    row_level = defects[defects["row_number"] != ""]
    assert set(row_level["defect_type"]) <= ALL_ROW_DEFECTS
    cache: dict[str, pd.DataFrame] = {}
    for d in row_level.itertuples(index=False):
        df = cache.setdefault(d.file, read_landing(defect_run, d.file))
        i = int(d.row_number) - 1
        row = df.iloc[i]
        feed = ("icb_" if "/icb_workwell/" in d.file else "") + d.file.split("/")[2]
        value = row[d.column] if d.column else None
        kind = d.defect_type
        if kind == "invalid_nhs_number":
            assert value and not is_valid_nhs_number(value), d
        elif kind == "invalid_nino":
            assert value and (not is_valid_nino(value) or is_temporary_nino(value)), d
        elif kind == "invalid_postcode":
            assert value and not is_valid_postcode(value), d
        elif kind == "future_date":
            assert value > _period_end(d.file), d
        elif kind == "date_before_programme":
            start = str(WW_START if feed == "icb_referrals" else ETB_START)
            assert value and value < start, d
        elif kind == "dates_out_of_order":
            other = "first_contact_date" if d.column == "start_date" else "job_start_date"
            assert value < row[other], d
        elif kind == "missing_required":
            assert value == "", d
        elif kind == "unknown_code":
            assert value and value not in code_list(feed, d.column), d
        elif kind == "wellbeing_out_of_range":
            _, lo, hi = INSTRUMENTS[row["instrument"]]
            assert not lo <= int(float(value)) <= hi, d
        elif kind == "duplicate_row":
            assert df.iloc[i].equals(df.iloc[i - 1]), d
        else:
            raise AssertionError(f"unexpected defect type {kind}")
        assert feed in EVENT_DATE
    return set(row_level["defect_type"])


def test_row_defects_are_present(defect_run):
    kinds = _verify_row_defects(defect_run)
    assert len(kinds) >= 6


def test_all_row_defect_types_at_high_rate(tmp_path):
    generate(tmp_path, seed=SEED, participants=N, defect_rate=0.4)
    assert _verify_row_defects(tmp_path) == ALL_ROW_DEFECTS


def test_source_records_flag_defects(defect_run):
    defects = _defects(defect_run)
    sr = pd.read_csv(defect_run / "_truth" / "source_records.csv", dtype=str, keep_default_na=False)
    flagged = sr[sr["defect"] != ""]
    row_level = defects[defects["row_number"] != ""]
    merged = row_level.merge(sr, on=["file", "row_number"], how="left")
    assert (merged["defect"] == merged["defect_type"]).all()
    file_level = defects[defects["row_number"] == ""]
    expected = len(row_level) + int(sr["file"].isin(file_level["file"]).sum())
    assert len(flagged) == expected
    # a duplicate row carries the same key and person as the row it copies
    dups = sr[sr["defect"] == "duplicate_row"]
    keyed = sr.set_index(["file", "row_number"])
    for d in dups.itertuples(index=False):
        prev = keyed.loc[(d.file, str(int(d.row_number) - 1))]
        assert (prev["source_record_key"], prev["person_id"]) == (d.source_record_key, d.person_id)


def test_file_level_defects(defect_run):
    defects = _defects(defect_run)
    file_level = defects[defects["row_number"] == ""]
    kinds = set(file_level["defect_type"])
    assert {"wrong_encoding", "missing_required_column", "empty_file"} <= kinds
    for d in file_level.itertuples(index=False):
        raw = (defect_run / d.file).read_bytes()
        partner, feed = d.file.split("/")[1:3]
        spec = PARTNERS.get(partner)
        if d.defect_type == "wrong_encoding":
            if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
                assert spec.encoding == "cp1252"
            else:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    raise AssertionError(f"{d.file} decodes as UTF-8")
        elif d.defect_type == "missing_required_column":
            header = read_landing(defect_run, d.file).columns
            missing = [c for c in spec.headers[feed] if c not in header]
            assert len(missing) == 1 and missing[0] in d.description
        elif d.defect_type == "empty_file":
            assert (defect_run / d.file).stat().st_size == 0
    assert len(landing_files(defect_run)) == len(set(landing_files(defect_run)))


def test_defect_fraction_close_to_rate(defect_run):
    defects = _defects(defect_run)
    sr = pd.read_csv(defect_run / "_truth" / "source_records.csv", dtype=str, keep_default_na=False)
    eligible = sr[~sr["file"].str.startswith(("landing/dwp", "landing/hmrc"))]
    share = (defects["row_number"] != "").sum() / len(eligible)
    assert 0.03 < share < 0.08
    assert dt.date.today()  # no wall clock in the files; this just keeps the import used
