"""The report answers the test-and-learn questions: each partner's service variants compared with 95%
intervals for the difference, cost per variant, the employment rate among people out of work at
referral, the as-at date, and labels instead of codes.

The unit tests render hand-built published tables (no database); the e2e tests check the report
built from the shared warehouse against the published tables and an independent computation.
"""

from __future__ import annotations

import csv
import html
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from psycopg.rows import dict_row
from worklink.report.data import TABLES, PublishedData
from worklink.report.labels import Labels, humanise
from worklink.report.sdc import Policy

REPO = Path(__file__).resolve().parents[2]
Z = 1.959963985


def wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def newcombe(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float]:
    """Newcombe (1998) method 10, written out independently of the dbt model."""
    p1, p0 = x1 / n1, x0 / n0
    (l1, u1), (l0, u0) = wilson(x1, n1), wilson(x0, n0)
    d = p1 - p0
    return d, d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def test_newcombe_reference_implementation_matches_the_paper():
    # Newcombe 1998, example (a): 56/70 - 48/80 = 0.2000, method 10 interval 0.0524 to 0.3339
    d, lower, upper = newcombe(56, 70, 48, 80)
    assert (round(d, 4), round(lower, 4), round(upper, 4)) == (0.2, 0.0524, 0.3339)


# ----------------------------------------------------------------------------------- no database
def _cell(dims: dict, measure: str, kind: str, value, display: str) -> dict:
    return {**dims, "measure": measure, "measure_kind": kind, "value": value, "value_display": display,
            "is_suppressed": value is None, "sdc_rule_applied": "test"}


def hand_built_tables() -> PublishedData:
    """Published tables as dbt would publish Newcombe's example for partner ancoats_trust: variant
    peer_led 56 job starts of 70 starters against keyworker_only 48 of 80 (the reference).
    By hand (z = 1.959964): Wilson 56/70 = (0.6918, 0.8770), 48/80 = (0.4905, 0.7004); d = 0.8 - 0.6 =
    0.2; lower = 0.2 - sqrt((0.8 - 0.6918)^2 + (0.7004 - 0.6)^2) = 0.2 - sqrt(0.011700 + 0.010077) =
    0.0524; upper = 0.2 + sqrt((0.8770 - 0.8)^2 + (0.6 - 0.4905)^2) = 0.2 + sqrt(0.005922 + 0.012000)
    = 0.3339; minimum detectable difference 0.2114 > 0.10, so the comparison is flagged underpowered.
    """
    tables = {name: pd.DataFrame(columns=["partner_id", "measure", "measure_kind", "value", "value_display",
                                          "is_suppressed", "sdc_rule_applied"]) for name in TABLES}
    rows = []
    for variant, starters, starts, rate, low, high in [("peer_led", 70, 55, 0.8, 0.6918, 0.8770),
                                                      ("keyworker_only", 80, 50, 0.6, 0.4905, 0.7004)]:
        dims = {"partner_id": "ancoats_trust", "service_variant": variant, "reference_variant": "keyworker_only",
                "as_at_date": "2026-03-31"}
        rows += [_cell(dims, "starters", "count", starters, str(starters)),
                 _cell(dims, "job_starts", "count", starts, str(starts)),
                 _cell(dims, "job_start_rate", "rate", rate, f"{rate * 100:.1f}%"),
                 _cell(dims, "job_start_rate_ci_lower", "rate", low, f"{low * 100:.1f}%"),
                 _cell(dims, "job_start_rate_ci_upper", "rate", high, f"{high * 100:.1f}%"),
                 _cell(dims, "cost_per_start_gbp", "money_per_outcome", 600, "£600")]
    dims = {"partner_id": "ancoats_trust", "service_variant": "peer_led", "reference_variant": "keyworker_only",
            "as_at_date": "2026-03-31"}
    rows += [_cell(dims, "job_start_rate_difference", "rate", 0.2, "20.0%"),
             _cell(dims, "job_start_rate_difference_ci_lower", "rate", 0.0524, "5.2%"),
             _cell(dims, "job_start_rate_difference_ci_upper", "rate", 0.3339, "33.4%"),
             _cell(dims, "job_start_rate_minimum_detectable_difference", "rate", 0.2114, "21.1%"),
             _cell(dims, "moved_into_work_rate_difference", "rate", None, "[c]")]
    tables["outcomes_by_service_variant"] = pd.DataFrame(rows)
    subgroup = []
    for value, label_x, label_n in [("gm_etb", 40, 300), ("all", 40, 300)]:
        dims = {"dimension": "programme", "dimension_value": value}
        subgroup += [_cell(dims, "starters_not_in_work_at_referral", "count", label_n, str(label_n)),
                     _cell(dims, "moved_into_work", "count", label_x, str(label_x)),
                     _cell(dims, "moved_into_work_rate", "rate", 0.1333, "13.3%")]
    for value in ["f", "16_24", "all"]:
        subgroup.append(_cell({"dimension": "sex" if value == "f" else "age_band", "dimension_value": value},
                              "starters", "count", 100, "100"))
    tables["outcomes_by_subgroup"] = pd.DataFrame(subgroup)
    tables["outcome_windows"] = hand_built_windows(sustained_short=12, sustained_long=24)
    return PublishedData(tables, Labels.from_seeds())


def hand_built_windows(**weeks) -> pd.DataFrame:
    """published.outcome_windows as a build with --vars '{sustained_short_weeks: 12, ...}' publishes it:
    windows not at the defaults, so a heading that wrote 13 or 26 itself would show."""
    weeks = {"sustained_short": 13, "sustained_long": 26, "retained_short": 13, "retained_long": 26} | weeks
    weeks |= {"earnings_outcome_short": weeks["sustained_short"], "earnings_outcome_long": weeks["sustained_long"]}
    return pd.DataFrame([_cell({"outcome_window": role, "dbt_var": f"{role}_weeks"}, "weeks",
                               "count_not_about_individuals", n, str(n)) for role, n in weeks.items()])


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def hand_built_sections() -> str:
    from worklink.report import build

    data = hand_built_tables()
    return _text(build._variant_section(data) + build._employment_rate_section(data) + build._other_subgroups(data))


def test_variant_difference_is_shown_with_its_interval_and_flagged_underpowered(hand_built_sections):
    assert "peer_led" not in hand_built_sections and "Peer led" in hand_built_sections  # labels, not codes
    assert "Ancoats Community Trust" in hand_built_sections and "ancoats_trust" not in hand_built_sections
    assert "Keyworker only (reference)" in hand_built_sections
    assert "+20.0 pp (+5.2 to +33.4) †" in hand_built_sections
    assert "Underpowered here: Ancoats Community Trust, job start rate" in hand_built_sections
    assert "Outcomes as at 31 March 2026" in hand_built_sections
    assert "£600" in hand_built_sections  # cost per variant


def test_headings_name_the_published_windows_not_a_number_of_their_own(hand_built_sections):
    # sustained_short 12 weeks, sustained_long 24 (hand_built_windows): the headings follow the data
    assert "Sustained 12 weeks (of jobs 12+ weeks old) (95% CI)" in hand_built_sections  # variant table
    assert "Sustained 12 weeks rate" in hand_built_sections  # other characteristics
    assert "13 weeks" not in hand_built_sections and "26 weeks" not in hand_built_sections


def test_every_window_label_of_the_report_is_filled_from_the_data():
    from worklink.report import build

    data = PublishedData({"outcome_windows": hand_built_windows(sustained_short=11, sustained_long=22,
                                                                retained_short=9, retained_long=18)})
    lists = [build.FUNNEL_STAGES, build.FUNNEL_RATES, build.WORKWELL_STAGES, build.WORKWELL_MEASURES,
             build.OUTCOME_RATES, build.VARIANT_RATES]
    labels = [label for labelled in lists for _, label in build._with_weeks(data, labelled)]
    assert "Job sustained 11 weeks" in labels and "Sustained 22 weeks / sustained 11 weeks" in labels
    assert "9-week window over" in labels and "Retained in work 18 weeks" in labels
    assert "Earnings outcome 11 weeks (of jobs 11+ weeks old)" in labels
    assert not [label for label in labels if re.search(r"\b(13|26)\b|[{}]", label)]
    method = build._method_section(Policy(), data)
    assert "Sustained 11/22 weeks" in method and "retained in work 9/18 weeks" in method
    # no windows published: the report refuses rather than guess the weeks
    with pytest.raises(ValueError, match="outcome_windows holds no window"):
        PublishedData({"outcome_windows": hand_built_windows().iloc[0:0]}).weeks("{sustained_short}")


def test_labels_replace_raw_codes(hand_built_sections):
    assert "Female" in hand_built_sections and "16-24" in hand_built_sections
    assert "16 24" not in hand_built_sections
    assert "GM Economic Activity Trailblazer" in hand_built_sections  # programme code gm_etb
    assert "Employment rate" in hand_built_sections and "13.3%" in hand_built_sections


def test_every_code_of_the_shown_code_lists_has_a_label():
    """Labels cannot drift from the contracts: each code of a code list the report shows has one."""
    code_lists = yaml.safe_load((REPO / "contracts" / "_code_lists.yml").read_text())
    labels = Labels.from_seeds()
    missing = [(name, code) for name in ["priority_group", "main_condition", "sex", "referral_source",
                                         "did_not_start_reason"]
               for code in code_lists[name] if (name, code) not in labels.codes]
    assert missing == []
    with (REPO / "dbt_project" / "seeds" / "delivery_partners.csv").open() as handle:
        for row in csv.DictReader(handle):
            assert labels.partner(row["partner_id"]) == row["partner_name"]
    assert labels.code("sex", "f") == "Female" and labels.code("age_band", "65_plus") == "65 and over"
    assert labels.code("priority_group", "a_new_code") == humanise("a_new_code") == "A new code"


# ---------------------------------------------------------------------------------- real warehouse
@pytest.fixture(scope="module")
def report_text(warehouse, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report_variants") / "evaluation.html"
    proc = subprocess.run([str(Path(sys.executable).with_name("worklink")), "report", "--out", str(out)],
                          env=warehouse.env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return _text(out.read_text())


@pytest.mark.e2e
def test_report_shows_the_as_at_date(report_text, warehouse):
    with warehouse.connect() as conn:
        as_at = conn.execute("select as_at_date from intermediate.int_reporting_dates_derived").fetchone()[0]
    assert f"Outcomes as at {as_at.day} {as_at:%B %Y}" in report_text


RATE_BASES = {"job_start_rate": ("job_starts", "job_start_starters"),
              "moved_into_work_rate": ("moved_into_work", "starters_not_in_work_at_referral"),
              "sustained_short_rate": ("sustained_short", "sustained_short_due")}


@pytest.mark.e2e
def test_mart_differences_are_newcombe_intervals(warehouse):
    """Every difference in analytics.outcomes_by_service_variant (unsuppressed) equals Newcombe's
    interval recomputed here from its counts, by an implementation independent of the dbt model."""
    checked = 0
    with warehouse.connect() as conn:
        conn.row_factory = dict_row
        rows = conn.execute("select * from analytics.outcomes_by_service_variant").fetchall()
    by_variant = {(r["partner_id"], r["service_variant"]): r for r in rows}
    assert len(rows) >= 6  # three partners, two variants each
    for row in rows:
        reference = by_variant[(row["partner_id"], row["reference_variant"])]
        for rate, (x, n) in RATE_BASES.items():
            if row["is_reference_variant"] or not row[n] or not reference[n]:
                assert row[f"{rate}_difference"] is None
                continue
            expected = newcombe(row[x], row[n], reference[x], reference[n])
            actual = [float(row[f"{rate}{suffix}"]) for suffix in
                      ("_difference", "_difference_ci_lower", "_difference_ci_upper")]
            assert actual == pytest.approx(expected, abs=6e-5), (row["partner_variant_key"], rate)
            checked += 1
    assert checked >= 6


@pytest.mark.e2e
def test_report_shows_the_variant_comparison_as_published(report_text, warehouse):
    """The report's variant table shows each variant's rate with its interval, and each difference as
    published: with its Newcombe interval when shown, [c] when suppressed."""
    labels = Labels.from_seeds()
    with warehouse.connect() as conn:
        cells = {(p, v, m): (value, display, suppressed) for p, v, m, value, display, suppressed in conn.execute(
            "select partner_id, service_variant, measure, value, value_display, is_suppressed"
            " from published.outcomes_by_service_variant").fetchall()}
    variants = {(p, v) for p, v, _ in cells}
    assert len(variants) >= 6
    assert "Outcomes by service variant (test and learn)" in report_text and "Cost per variant" in report_text
    for partner, variant in variants:
        assert f"{labels.partner(partner)} {labels.code('service_variant', variant)}" in report_text
        value, display, suppressed = cells[(partner, variant, "job_start_rate")]
        if not suppressed:
            low = cells[(partner, variant, "job_start_rate_ci_lower")][1]
            high = cells[(partner, variant, "job_start_rate_ci_upper")][1]
            assert f"{display} ({low}\u2013{high})" in report_text
        for rate in RATE_BASES:
            if (partner, variant, f"{rate}_difference") not in cells:
                continue  # the reference variant
            d, _, hidden = cells[(partner, variant, f"{rate}_difference")]
            if hidden:
                continue
            lower, upper = cells[(partner, variant, f"{rate}_difference_ci_lower")][0], \
                cells[(partner, variant, f"{rate}_difference_ci_upper")][0]
            text = f"{float(d) * 100:+.1f} pp ({float(lower) * 100:+.1f} to {float(upper) * 100:+.1f})"
            assert text.replace("-", "\u2212") in report_text


@pytest.mark.e2e
def test_report_has_no_raw_codes(report_text):
    for raw in ["16 24", "ancoats trust", "uc searching for work", "gm etb", " f (n="]:
        assert raw not in report_text, raw
    for label in ["16-24", "Female", "Ancoats Community Trust", "Cost per variant",
                  "Employment rate among people out of work at referral"]:
        assert label in report_text, label


def test_coverage_line_names_the_as_at_date_and_each_partners_delivery_months():
    """Delivery months per partner from the scorecard's file counts. By hand: ancoats_trust sent
    files in 2025-04 (1), 2025-05 (0 files, still inside the span) and 2025-06 (2), so its span is
    Apr 2025 to Jun 2025; mossside_carers sent none (0 in 2025-04) and is left out; 'all' rows and
    the 'all' month are margins, not deliveries."""
    from worklink.report import build

    data = hand_built_tables()
    dq = [_cell({"partner_id": partner, "reporting_month": month}, "files_received", "count_not_about_individuals",
                files, str(files))
          for partner, month, files in [("ancoats_trust", "2025-04", 1), ("ancoats_trust", "2025-05", 0),
                                        ("ancoats_trust", "2025-06", 2), ("ancoats_trust", "all", 3),
                                        ("mossside_carers", "2025-04", 0), ("all", "2025-07", 9)]]
    data.tables["data_quality_scorecard"] = pd.DataFrame(dq)
    line = _text(build.coverage_line(data)).strip()
    assert line == ("Outcomes as at 31 March 2026. "
                    "Deliveries covered: Ancoats Community Trust Apr 2025 to Jun 2025.")
    section = build.with_coverage("<h2 id='x'>X</h2><p>body</p>", build.coverage_line(data))
    assert section.startswith("<section><h2 id='x'>X</h2><p class='coverage'>") and section.endswith(
        "<p>body</p></section>")


def test_only_the_reference_variant_is_labelled_reference():
    """Hand-built: peer_led has no sustained-rate difference published (no row at all) and a
    suppressed employment-rate difference; it is not the reference, so it shows '–' and '[c]', while
    keyworker_only (its own reference_variant) shows 'reference' for every rate."""
    from worklink.report import build

    frame = hand_built_tables()["outcomes_by_service_variant"]
    assert build._difference(frame, "ancoats_trust", "peer_led", "sustained_short_rate") == ("–", False)
    assert build._difference(frame, "ancoats_trust", "peer_led", "moved_into_work_rate") == ("[c]", False)
    for rate in ("job_start_rate", "moved_into_work_rate", "sustained_short_rate"):
        assert build._difference(frame, "ancoats_trust", "keyworker_only", rate) == ("reference", False)
