"""Assemble the evaluation report: one HTML file with inline CSS, inline SVG charts and a tiny inline
script that records that the page rendered (used by the headless-browser test). No external
resources: a Content-Security-Policy forbids any network fetch.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pandas as pd

from worklink.report import charts
from worklink.report.data import PUBLIC_ROLE, PublishedData, load_published
from worklink.report.labels import Labels
from worklink.report.sdc import SUPPRESSED, Policy

FUNNEL_STAGES = [
    ("referred", "Referred"),
    ("eligible", "Eligible"),
    ("first_contact", "First contact"),
    ("started", "Started (assessment + action plan)"),
    ("sustained_engagement", "Sustained engagement"),
    ("job_start", "Job start (4+ hours)"),
    ("sustained_short", "Job sustained {sustained_short} weeks"),
    ("sustained_long", "Job sustained {sustained_long} weeks"),
    ("left_programme", "Left the programme"),
]
FUNNEL_RATES = [
    ("eligible_rate", "Eligible / referred"),
    ("first_contact_rate", "First contact / eligible"),
    ("start_rate", "Started / first contact"),
    ("sustained_engagement_rate", "Sustained engagement / started"),
    ("job_start_rate", "Job start / started"),
    ("sustained_short_rate", "Sustained {sustained_short} weeks / job start"),
    ("sustained_long_rate", "Sustained {sustained_long} weeks / sustained {sustained_short} weeks"),
    ("leaver_rate", "Left / started"),
]
WORKWELL_STAGES = [
    ("referred", "Referred"),
    ("started", "Started (assessed by a Work and Health Coach)"),
    ("support_plan", "Support plan agreed"),
    ("job_start", "Job start (out of work at referral)"),
    ("retained_short", "Retained in work {retained_short} weeks (in work at referral)"),
    ("retained_long", "Retained in work {retained_long} weeks (in work at referral)"),
]
WORKWELL_MEASURES = [
    ("referred", "Referred"),
    ("started", "Started"),
    ("start_rate", "Started / referred"),
    ("support_plan", "Support plan agreed"),
    ("support_plan_rate", "Support plan / started"),
    ("job_start", "Job starts"),
    ("job_start_rate", "Job start / support plan (out of work)"),
    ("retained_short_due", "{retained_short}-week window over"),
    ("retained_short", "Retained in work {retained_short} weeks"),
    ("retained_short_rate", "Retained {retained_short} weeks / window over"),
    ("retained_long_due", "{retained_long}-week window over"),
    ("retained_long", "Retained in work {retained_long} weeks"),
    ("retained_long_rate", "Retained {retained_long} weeks / window over"),
    ("returned_to_work", "Returned to work after sickness absence"),
]
WORKWELL_GROUPS = [("out_of_work", "Out of work at referral"), ("in_work", "In work at referral"), ("all", "All")]
OUTCOME_RATES = [
    ("job_start_rate", "Job start"),
    ("sustained_short_rate", "Sustained {sustained_short} weeks (of jobs {sustained_short}+ weeks old)"),
    ("earnings_outcome_short_rate", "Earnings outcome {earnings_outcome_short} weeks (of jobs {earnings_outcome_short}+ weeks old)"),
    ("progression_rate", "Moving closer to work"),
]
TIMELINESS = [
    ("referral_to_first_contact", "Referral to first contact"),
    ("referral_to_start", "Referral to start"),
    ("start_to_first_job_start", "Start to first job start"),
    ("referral_to_return_to_work", "WorkWell: referral to return to work (fit note)"),
]
WELLBEING = [
    ("wemwbs", "WEMWBS (14-70)"),
    ("swemwbs", "SWEMWBS metric (7-35)"),
    ("ons4_life_satisfaction", "ONS life satisfaction (0-10)"),
    ("ons4_worthwhile", "ONS worthwhile (0-10)"),
    ("ons4_happy", "ONS happy (0-10)"),
    ("ons4_anxious", "ONS anxious (0-10, lower is better)"),
    ("phq9", "PHQ-9 (0-27, lower is better)"),
    ("gad7", "GAD-7 (0-21, lower is better)"),
]
# Labels above name a window by its role ({sustained_short}, {retained_long}, ...): PublishedData.weeks
# puts in the weeks the warehouse used (published.outcome_windows), never a number written here.


def _with_weeks(data: PublishedData, labelled: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(measure, data.weeks(label)) for measure, label in labelled]


DATA_QUALITY = [
    ("files_received", "Files received"),
    ("files_rejected", "Files rejected"),
    ("files_late", "Files late"),
    ("rows_received", "Rows received"),
    ("row_quarantine_rate", "Rows quarantined"),
    ("missing_ethnicity_rate", "Referrals missing ethnicity"),
    ("missing_main_condition_rate", "Referrals missing main condition"),
    ("without_nhs_or_ni_number_rate", "Referrals without NHS or NI number"),
    ("not_linked_rate", "Referrals not linked"),
    ("baseline_wellbeing_rate", "Starts with a baseline wellbeing measure"),
    ("baseline_and_follow_up_rate", "Leavers with baseline and follow-up"),
]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1b1b1b; background: #f7f7f5; }
main { max-width: 980px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
.coverage { color: #555; font-size: 0.85em; margin-top: 0.2em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 2px solid #1f5a96; }
.lede { color: #555; } .note { color: #555; font-size: 0.88em; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 1em 0; }
.tile { background: #eef3f8; padding: 12px; border-radius: 6px; }
.tile .number { font-size: 1.6em; font-weight: 600; } .tile .label { font-size: 0.85em; color: #444; }
figure.chart { margin: 1em 0; } figure.chart svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #555; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #eef3f8; }
td.suppressed { color: #888; }
"""

RENDER_CHECK = """
(function () {
  var root = document.documentElement;
  window.addEventListener('error', function (event) {
    root.setAttribute('data-render-errors', (root.getAttribute('data-render-errors') || '') + event.message + ';');
  });
  document.addEventListener('DOMContentLoaded', function () {
    var drawn = 0;
    document.querySelectorAll('figure.chart svg').forEach(function (svg) {
      var box = svg.getBBox();
      if (box.width > 0 && box.height > 0) { drawn += 1; }
    });
    document.body.setAttribute('data-charts-drawn', String(drawn));
    document.body.setAttribute('data-render-status', 'ok');
  });
})();
"""


def _esc(text) -> str:
    return html.escape(str(text))


def _cells(frame: pd.DataFrame, **where) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    return frame[mask]


def _one(frame: pd.DataFrame, **where) -> tuple[float | None, str]:
    rows = _cells(frame, **where)
    if rows.empty:
        return None, "–"
    row = rows.iloc[0]
    value = None if row["is_suppressed"] or pd.isna(row["value"]) else float(row["value"])
    return value, str(row["value_display"])


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="suppressed">{_esc(c)}</td>' if c == SUPPRESSED else f"<td>{_esc(c)}</td>"
                         for c in row) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    return f'<figure class="chart">{svg}<figcaption>{_esc(caption)}</figcaption></figure>'


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


# ------------------------------------------------------------------------------------------ sections
def _summary(data: PublishedData) -> tuple[str, str]:
    funnel = data["funnel_by_cohort_month"]
    months = sorted(m for m in funnel["cohort_month"].unique() if m != "all")
    period = f"{months[0]} to {months[-1]}" if months else "no cohorts"
    tiles = []
    for measure, label in [("referred", "Trailblazer referrals"), ("started", "Trailblazer starts"),
                           ("job_start", "Trailblazer job starts"),
                           ("sustained_short", "Trailblazer jobs sustained {sustained_short} weeks")]:
        _, display = _one(funnel, partner_id="all", cohort_month="all", measure=measure)
        tiles.append(f'<div class="tile"><div class="number">{_esc(display)}</div>'
                     f'<div class="label">{_esc(data.weeks(label))}</div></div>')
    workwell = data["workwell_funnel_by_cohort_month"]
    for measure, label in [("started", "WorkWell starts"), ("job_start", "WorkWell job starts (out of work)"),
                           ("retained_short", "WorkWell retained in work {retained_short} weeks"),
                           ("returned_to_work", "WorkWell returned to work")]:
        _, display = _one(workwell, work_status_at_referral="all", cohort_month="all", measure=measure)
        tiles.append(f'<div class="tile"><div class="number">{_esc(display)}</div>'
                     f'<div class="label">{_esc(data.weeks(label))}</div></div>')
    return period, f'<div class="tiles">{"".join(tiles)}</div>'


def _funnel_section(data: PublishedData) -> str:
    funnel = data["funnel_by_cohort_month"]
    funnel_stages, funnel_rates = _with_weeks(data, FUNNEL_STAGES), _with_weeks(data, FUNNEL_RATES)
    values, displays = zip(*[_one(funnel, partner_id="all", cohort_month="all", measure=m) for m, _ in funnel_stages],
                           strict=True)
    chart = charts.horizontal_bars([label for _, label in funnel_stages], list(values), list(displays),
                                   "Programme funnel, all partners and cohorts", "partner episodes (rounded to 5)")
    partners = sorted(p for p in funnel["partner_id"].unique() if p != "all") + ["all"]
    rate_rows = [[label] + [_one(funnel, partner_id=p, cohort_month="all", measure=m)[1] for p in partners]
                 for m, label in funnel_rates]
    months = sorted(m for m in funnel["cohort_month"].unique() if m != "all")
    monthly = charts.monthly_lines(months, {
        "referred": [_one(funnel, partner_id="all", cohort_month=m, measure="referred")[0] for m in months],
        "started": [_one(funnel, partner_id="all", cohort_month=m, measure="started")[0] for m in months],
        "job start": [_one(funnel, partner_id="all", cohort_month=m, measure="job_start")[0] for m in months],
    }, "By cohort month (month of referral), all partners")
    dns = data["did_not_start_reasons"]
    reasons = sorted(r for r in dns["did_not_start_reason"].unique() if r != "all")
    dns_values, dns_displays = zip(*[_one(dns, partner_id="all", did_not_start_reason=r, measure="did_not_start")
                                     for r in reasons], strict=True) if reasons else ((), ())
    dns_chart = charts.horizontal_bars([data.labels.code("did_not_start_reason", r) for r in reasons], list(dns_values), list(dns_displays),
                                       "Did-not-start reasons, all partners", "referrals (rounded to 5)",
                                       colour=charts.ORANGE) if reasons else ""
    return (
        "<h2 id='funnel'>Funnel</h2>"
        "<p>Trailblazer VCSE partners: how the referrals of each cohort month moved through the programme "
        "by the as-at date (WorkWell has its own funnel below). "
        "Counts are referral-level, as partners record them.</p>"
        + _figure(chart, "Counts rounded to the nearest 5; [c] = suppressed (1 to 7, or to protect another cell).")
        + _figure(monthly, "Suppressed months are left out of the lines.")
        + "<h3>Conversion rates</h3>"
        + _table(["Stage"] + [data.labels.partner(p) for p in partners], rate_rows)
        + (_figure(dns_chart, "Reasons recorded on did-not-start decisions.") if dns_chart else "")
    )


def _workwell_section(data: PublishedData) -> str:
    """WorkWell's own funnel: referred -> started -> support plan -> outcome, by work status at referral."""
    funnel = data["workwell_funnel_by_cohort_month"]
    stages = _with_weeks(data, WORKWELL_STAGES)
    values, displays = zip(*[_one(funnel, work_status_at_referral="all", cohort_month="all", measure=m)
                             for m, _ in stages], strict=True)
    chart = charts.horizontal_bars([label for _, label in stages], list(values), list(displays),
                                   "WorkWell funnel, all cohorts", "WorkWell episodes (rounded to 5)")
    rows = [[label] + [_one(funnel, work_status_at_referral=g, cohort_month="all", measure=m)[1]
                       for g, _ in WORKWELL_GROUPS] for m, label in _with_weeks(data, WORKWELL_MEASURES)]
    return (
        "<h2 id='workwell'>WorkWell</h2>"
        "<p>WorkWell (DWP and DHSC) supports people in work but off sick or at risk of falling out of work, "
        "and people who left work recently. Each referral's episode once: referred, assessed by a Work and "
        "Health Coach (the start), support plan agreed, then the outcome for its group: a job start for "
        "people out of work at referral, retention in work (HMRC employment with any employer, "
        + data.weeks("through {retained_short} and {retained_long} weeks from the start) ")
        + "for people in work at referral.</p>"
        + _figure(chart, "Counts rounded to the nearest 5; [c] = suppressed. Job starts and retention "
                         "apply to different groups.")
        + _table(["Measure"] + [label for _, label in WORKWELL_GROUPS], rows)
    )


def _rates_frame(outcomes: pd.DataFrame, dimension: str, rate: str, labels: Labels,
                 base: str = "starters") -> pd.DataFrame:
    rows = []
    values = [v for v in outcomes.loc[outcomes["dimension"] == dimension, "dimension_value"].unique() if v != "all"]
    for value in sorted(values) + ["all"]:
        point, display = _one(outcomes, dimension=dimension, dimension_value=value, measure=rate)
        lower, _ = _one(outcomes, dimension=dimension, dimension_value=value, measure=f"{rate}_ci_lower")
        upper, _ = _one(outcomes, dimension=dimension, dimension_value=value, measure=f"{rate}_ci_upper")
        starters = _one(outcomes, dimension=dimension, dimension_value=value, measure=base)[1]
        rows.append({"label": f"{labels.code(dimension, value)} (n={starters})", "rate": point, "lower": lower, "upper": upper,
                     "display": display})
    return pd.DataFrame(rows)


def _outcomes_section(data: PublishedData, dimension: str, title: str, anchor: str) -> str:
    outcomes = data["outcomes_by_subgroup"]
    outcome_rates = _with_weeks(data, OUTCOME_RATES)
    parts = [f"<h2 id='{anchor}'>{_esc(title)}</h2>",
             "<p>Outcomes of started episodes (each participant's episode once, any evidence: partner or "
             "HMRC). Points are rates, bars 95% Wilson confidence intervals.</p>"]
    for rate, label in outcome_rates[:2]:
        frame = _rates_frame(outcomes, dimension, rate, data.labels)
        parts.append(_figure(charts.rates_with_intervals(
            frame, f"{label} by {_lower_first(data.labels.dimension(dimension))}"),
                             "n = starters (rounded). Rates need a numerator and denominator of at least 10."))
    values = [v for v in outcomes.loc[outcomes["dimension"] == dimension, "dimension_value"].unique() if v != "all"]
    rows = []
    for value in sorted(values) + ["all"]:
        row = [data.labels.code(dimension, value),
               _one(outcomes, dimension=dimension, dimension_value=value, measure="starters")[1]]
        for rate, _ in outcome_rates:
            display = _one(outcomes, dimension=dimension, dimension_value=value, measure=rate)[1]
            low = _one(outcomes, dimension=dimension, dimension_value=value, measure=f"{rate}_ci_lower")[1]
            high = _one(outcomes, dimension=dimension, dimension_value=value, measure=f"{rate}_ci_upper")[1]
            row.append(display if display == SUPPRESSED else f"{display} ({low}–{high})")
        rows.append(row)
    parts.append(_table([data.labels.dimension(dimension), "Starters"] + [label for _, label in outcome_rates], rows))
    return "".join(parts)


# A comparison that could only detect a difference larger than this (80% power, two-sided 5%) is
# flagged as underpowered: 10 percentage points is larger than most test-and-learn effects.
UNDERPOWERED_ABOVE = 0.10
VARIANT_RATES = [
    ("job_start_rate", "Job start rate"),
    ("moved_into_work_rate", "Employment rate (out of work at referral)"),
    ("sustained_short_rate", "Sustained {sustained_short} weeks (of jobs {sustained_short}+ weeks old)"),
]


def as_at_date(data: PublishedData) -> str:
    """The as-at date of the outcomes, as published beside the variant comparison."""
    frame = data["outcomes_by_service_variant"]
    dates = sorted({str(d) for d in frame["as_at_date"].dropna()}) if "as_at_date" in frame else []
    if not dates:
        return "not known"
    return dt.date.fromisoformat(dates[-1][:10]).strftime("%-d %B %Y")


def _month_label(month: str) -> str:
    return dt.date.fromisoformat(f"{month}-01").strftime("%b %Y")


def coverage_line(data: PublishedData) -> str:
    """The as-at date and which monthly deliveries the published tables are built from.

    Printed under every section heading, so a page read (or printed, or pasted) on its own still
    says what it covers. Delivery months come from the scorecard's file counts, which are not about
    individuals and are published as they are."""
    dq = data["data_quality_scorecard"]
    delivered = dq[(dq["partner_id"] != "all") & (dq["reporting_month"] != "all")
                   & (dq["measure"] == "files_received") & (dq["value"].fillna(0) > 0)]
    spans = delivered.groupby("partner_id")["reporting_month"].agg(["min", "max"]).sort_index()
    covered = "; ".join(
        f"{data.labels.partner(partner)} {_month_label(row['min'])} to {_month_label(row['max'])}"
        for partner, row in spans.iterrows())
    return (f"<p class='coverage'>Outcomes as at {_esc(as_at_date(data))}. "
            f"Deliveries covered: {_esc(covered or 'none')}.</p>")


def with_coverage(section: str, coverage: str) -> str:
    """One section of the report: its heading, the coverage line, its body, in a <section>."""
    if "</h2>" not in section:
        return section
    heading_end = section.index("</h2>") + len("</h2>")
    return f"<section>{section[:heading_end]}{coverage}{section[heading_end:]}</section>"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}".replace("-", "\u2212")


def _difference(frame: pd.DataFrame, partner: str, variant: str, rate: str) -> tuple[str, bool]:
    """'+2.2 pp (-10.6 to +15.1)' and whether the comparison is underpowered."""
    where = {"partner_id": partner, "service_variant": variant}
    if (_cells(frame, **where)["reference_variant"] == variant).any():
        return "reference", False
    value, display = _one(frame, **where, measure=f"{rate}_difference")
    if value is None:  # suppressed, or no difference published (a rate without its base)
        return (display if display == SUPPRESSED else "–"), False
    lower = _one(frame, **where, measure=f"{rate}_difference_ci_lower")[0]
    upper = _one(frame, **where, measure=f"{rate}_difference_ci_upper")[0]
    detectable = _one(frame, **where, measure=f"{rate}_minimum_detectable_difference")[0]
    if lower is None or upper is None:
        return SUPPRESSED, False
    underpowered = detectable is None or detectable > UNDERPOWERED_ABOVE
    return f"{_points(value)} pp ({_points(lower)} to {_points(upper)})" + (" †" if underpowered else ""), underpowered


def _with_interval(frame: pd.DataFrame, rate: str, **where) -> str:
    display = _one(frame, **where, measure=rate)[1]
    if display in (SUPPRESSED, "–"):
        return display
    low = _one(frame, **where, measure=f"{rate}_ci_lower")[1]
    high = _one(frame, **where, measure=f"{rate}_ci_upper")[1]
    return f"{display} ({low}–{high})"


def _variant_section(data: PublishedData) -> str:
    """Test and learn: each partner's variants against its reference variant, with 95% intervals."""
    frame = data["outcomes_by_service_variant"]
    labels = data.labels
    variant_rates = _with_weeks(data, VARIANT_RATES)
    pairs = frame[["partner_id", "service_variant", "reference_variant"]].drop_duplicates()
    pairs = pairs.assign(is_reference=pairs["service_variant"] == pairs["reference_variant"])
    pairs = pairs.sort_values(["partner_id", "is_reference", "service_variant"], ascending=[True, False, True])
    outcome_rows, cost_rows, chart_rows, underpowered = [], [], [], []
    for row in pairs.itertuples(index=False):
        where = {"partner_id": row.partner_id, "service_variant": row.service_variant}
        variant = labels.code("service_variant", row.service_variant) + (" (reference)" if row.is_reference else "")
        cells = [labels.partner(row.partner_id), variant, _one(frame, **where, measure="starters")[1]]
        for rate, rate_label in variant_rates:
            text, weak = _difference(frame, row.partner_id, row.service_variant, rate)
            cells += [_with_interval(frame, rate, **where), text]
            if weak:
                underpowered.append(f"{labels.partner(row.partner_id)}, {_lower_first(rate_label)}")
        outcome_rows.append(cells)
        cost_rows.append([labels.partner(row.partner_id), variant, _one(frame, **where, measure="starters")[1],
                          _one(frame, **where, measure="job_starts")[1],
                          _one(frame, **where, measure="cost_per_start_gbp")[1],
                          _one(frame, **where, measure="cost_per_job_start_gbp")[1]])
        if not row.is_reference:
            value, display = _one(frame, **where, measure="job_start_rate_difference")
            chart_rows.append({
                "label": f"{labels.partner(row.partner_id)}: {labels.code('service_variant', row.service_variant)}"
                         f" vs {labels.code('service_variant', row.reference_variant)}",
                "difference": value, "display": _difference(frame, row.partner_id, row.service_variant,
                                                            "job_start_rate")[0].split(" (")[0],
                "lower": _one(frame, **where, measure="job_start_rate_difference_ci_lower")[0],
                "upper": _one(frame, **where, measure="job_start_rate_difference_ci_upper")[0]})
    header = ["Partner", "Variant", "Starters"]
    for _, rate_label in variant_rates:
        header += [rate_label + " (95% CI)", "Difference (95% CI)"]
    chart = charts.differences_with_intervals(pd.DataFrame(chart_rows), "Job start rate: variant minus reference") \
        if chart_rows else ""
    note = ("<p class='note'>† Underpowered: with these numbers a true difference of "
            f"{UNDERPOWERED_ABOVE * 100:.0f} percentage points or less would probably be missed (the minimum "
            "detectable difference at 80% power and 5% significance is larger). Read the interval, not the point: "
            "an interval that includes 0 shows no evidence of a difference. Underpowered here: "
            + _esc("; ".join(dict.fromkeys(underpowered))) + ".</p>") if underpowered else ""
    return (
        "<h2 id='service-variant'>Outcomes by service variant (test and learn)</h2>"
        f"<p>Each partner tests delivery models (variants) side by side. Outcomes as at {_esc(as_at_date(data))}, "
        "of started episodes, counted as in the subgroup tables. Each variant is compared with the partner's "
        "reference variant: the difference in percentage points (pp) with its 95% confidence interval "
        "(Newcombe's hybrid score method, built from the two Wilson intervals).</p>"
        + (_figure(chart, "Points are differences, bars 95% Newcombe intervals; the line is no difference.")
           if chart else "")
        + _table(header, outcome_rows) + note
        + "<h3>Cost per variant</h3>"
        "<p>Grants are made per partner, not per variant: each partner's grant is shared between its variants "
        "in proportion to the minutes of support (contacts and activities) their participants received, then "
        "divided by the variant's starts and job starts.</p>"
        + _table(["Partner", "Variant", "Starters", "Job starts", "Cost per start", "Cost per job start"], cost_rows)
    )


def _employment_rate_section(data: PublishedData) -> str:
    """IPS Grow-style employment rate: people out of work at referral who are in work at the as-at date."""
    outcomes = data["outcomes_by_subgroup"]
    parts = ["<h2 id='employment-rate'>Employment rate among people out of work at referral</h2>",
             f"<p>Of the starters who were unemployed or economically inactive at referral, the share in paid "
             f"work on {_esc(as_at_date(data))} (a continuous employment spell reaching that date, partner or "
             "HMRC evidence), with 95% Wilson intervals.</p>"]
    rows = []
    for dimension in ["programme", "delivery_partner"]:
        frame = _rates_frame(outcomes, dimension, "moved_into_work_rate", data.labels,
                             base="starters_not_in_work_at_referral")
        parts.append(_figure(charts.rates_with_intervals(
            frame, f"Employment rate by {_lower_first(data.labels.dimension(dimension))}"),
            "n = starters out of work at referral (rounded)."))
        values = sorted(v for v in outcomes.loc[outcomes["dimension"] == dimension, "dimension_value"].unique()
                        if v != "all")
        for value in values + (["all"] if dimension == "programme" else []):
            where = {"dimension": dimension, "dimension_value": value}
            rows.append([data.labels.dimension(dimension), data.labels.code(dimension, value),
                         _one(outcomes, **where, measure="starters_not_in_work_at_referral")[1],
                         _one(outcomes, **where, measure="moved_into_work")[1],
                         _with_interval(outcomes, "moved_into_work_rate", **where)])
    parts.append(_table(["By", "Group", "Out of work at referral", "In work at the as-at date",
                         "Employment rate (95% CI)"], rows))
    return "".join(parts)



def _other_subgroups(data: PublishedData) -> str:
    outcomes = data["outcomes_by_subgroup"]
    rows = []
    for dimension in ["programme", "workwell_work_status_at_referral", "main_condition", "age_band", "sex",
                      "ethnic_group", "borough", "benefit_status_at_start", "economic_status_at_referral",
                      "referral_source", "delivery_partner"]:
        values = [v for v in outcomes.loc[outcomes["dimension"] == dimension, "dimension_value"].unique()
                  if v != "all"]
        for value in sorted(values):
            rows.append([data.labels.dimension(dimension), data.labels.code(dimension, value),
                         _one(outcomes, dimension=dimension, dimension_value=value, measure="starters")[1],
                         _one(outcomes, dimension=dimension, dimension_value=value, measure="job_starts")[1],
                         _one(outcomes, dimension=dimension, dimension_value=value, measure="job_start_rate")[1],
                         _one(outcomes, dimension=dimension, dimension_value=value,
                              measure="sustained_short_rate")[1]])
    return ("<h2 id='subgroups'>Outcomes by other characteristics</h2>"
            + _table(["Characteristic", "Group", "Starters", "Job starts", "Job start rate",
                      data.weeks("Sustained {sustained_short} weeks rate")], rows))


def _timeliness_section(data: PublishedData) -> str:
    timeliness = data["timeliness_by_partner"]
    partners = sorted(p for p in timeliness["partner_id"].unique() if p != "all") + ["all"]
    parts = ["<h2 id='timeliness'>Timeliness</h2>",
             "<p>Days between steps: median (dot) and interquartile range (bar). Statistics of fewer than "
             "10 referrals are suppressed.</p>"]
    for measure, label in TIMELINESS:
        rows = []
        for partner in partners:
            where = {"partner_id": partner, "timeliness_measure": measure}
            rows.append({"label": f"{data.labels.partner(partner)} (n={_one(timeliness, **where, measure='referrals_measured')[1]})",
                         "median": _one(timeliness, **where, measure="median_days")[0],
                         "p25": _one(timeliness, **where, measure="p25_days")[0],
                         "p75": _one(timeliness, **where, measure="p75_days")[0]})
        parts.append(_figure(charts.medians_with_iqr(pd.DataFrame(rows), label), label + ", days."))
    return "".join(parts)


def _wellbeing_section(data: PublishedData) -> str:
    wellbeing = data["wellbeing_change_summary"]
    available = [(m, label) for m, label in WELLBEING if not _cells(wellbeing, wellbeing_measure=m).empty]
    baseline = [_one(wellbeing, partner_id="all", wellbeing_measure=m, measure="mean_baseline_score")[0]
                for m, _ in available]
    latest = [_one(wellbeing, partner_id="all", wellbeing_measure=m, measure="mean_latest_score")[0]
              for m, _ in available]
    chart = charts.paired_bars([label.split(" (")[0] for _, label in available], baseline, latest,
                               ("baseline", "latest follow-up"), "Wellbeing, baseline and latest (means)",
                               "mean score") if available else ""
    rows = []
    for m, label in available:
        where = {"partner_id": "all", "wellbeing_measure": m}
        rows.append([label, _one(wellbeing, **where, measure="pairs")[1],
                     _one(wellbeing, **where, measure="mean_baseline_score")[1],
                     _one(wellbeing, **where, measure="mean_latest_score")[1],
                     _one(wellbeing, **where, measure="mean_score_change")[1],
                     # ONS4 items have no meaningful-change threshold
                     "n/a" if m.startswith("ons4") else _one(wellbeing, **where,
                                                              measure="meaningful_improvement_rate")[1],
                     # reliable change: WEMWBS, PHQ-9 and GAD-7 only (no cell where it does not apply)
                     _one(wellbeing, **where, measure="reliable_improvement_rate")[1]])
    tt = {"partner_id": "all", "wellbeing_measure": "talking_therapies"}
    tt_rows = [[label, _one(wellbeing, **tt, measure=m)[1]] for m, label in [
        ("pairs", "PHQ-9 and GAD-7 at baseline and follow-up"), ("cases_at_baseline", "Clinical cases at baseline"),
        ("recovery_rate", "Recovery rate (of cases)"), ("reliable_improvement_rate", "Reliable improvement rate")]]
    return ("<h2 id='wellbeing'>Wellbeing change</h2>"
            "<p>Baseline to latest follow-up (review or exit), scored in the warehouse from item responses "
            "(SWEMWBS through the official conversion table; ONS4 items kept separate).</p>"
            + (_figure(chart, "Scales differ: compare baseline with follow-up within a measure.") if chart else "")
            + _table(["Measure", "Pairs", "Mean at baseline", "Mean at follow-up", "Mean change",
                      "Meaningful improvement", "Reliable improvement"], rows)
            + "<h3>NHS Talking Therapies measures</h3>" + _table(["", "All partners"], tt_rows))


def _partners_section(data: PublishedData) -> str:
    cost = data["cost_per_outcome"]
    funnel = data["funnel_by_cohort_month"]
    partners = sorted(p for p in cost["partner_id"].unique() if p != "all") + ["all"]
    rows = []
    for p in partners:
        rows.append([data.labels.partner(p), _one(cost, partner_id=p, measure="grant_amount_gbp")[1],
                     _one(cost, partner_id=p, measure="starts")[1],
                     _one(funnel, partner_id=p, cohort_month="all", measure="start_rate")[1],
                     _one(funnel, partner_id=p, cohort_month="all", measure="job_start_rate")[1],
                     _one(cost, partner_id=p, measure="cost_per_start_gbp")[1],
                     _one(cost, partner_id=p, measure="cost_per_job_start_gbp")[1],
                     _one(cost, partner_id=p, measure="cost_per_sustained_short_gbp")[1]])
    vcse = [p for p in partners if p not in ("all", "icb_workwell")]
    per_start = [_one(cost, partner_id=p, measure="cost_per_start_gbp") for p in vcse]
    chart = charts.horizontal_bars([data.labels.partner(p) for p in vcse], [v for v, _ in per_start], [d for _, d in per_start],
                                   "Cost per start by delivery partner", "GBP") if vcse else ""
    pbr = data["payment_by_results_summary"]
    pbr_rows = []
    for p in sorted(pbr["partner_id"].unique()):
        for outcome in sorted(pbr["outcome_type"].unique()):
            row = [data.labels.partner(p), data.labels.code("outcome_type", outcome)]
            for status in ["verified", "unverified", "contradicted", "all"]:
                row.append(_one(pbr, partner_id=p, outcome_type=outcome, verification_status=status,
                                measure="claims")[1])
            row.append(_one(pbr, partner_id=p, outcome_type=outcome, verification_status="all",
                            measure="duplicate_claims")[1])
            pbr_rows.append(row)
    return ("<h2 id='partners'>Partner comparison</h2>"
            + _table(["Partner", "Grant", "Starts", "Start rate", "Job start rate", "Cost per start",
                      "Cost per job start", data.weeks("Cost per job sustained {sustained_short} weeks")], rows)
            + (_figure(chart, "Grant divided by starts.") if chart else "")
            + "<h3>Payment by results: claimed outcomes and their verification against DWP/HMRC</h3>"
            + _table(["Partner", "Outcome", "Verified", "Unverified", "Contradicted", "All claims",
                      "Duplicate claims"], pbr_rows))


def _data_quality_section(data: PublishedData) -> str:
    dq = data["data_quality_scorecard"]
    partners = sorted(p for p in dq["partner_id"].unique() if p != "all") + ["all"]
    rows = [[label] + [_one(dq, partner_id=p, reporting_month="all", measure=m)[1] for p in partners]
            for m, label in DATA_QUALITY]
    return ("<h2 id='data-quality'>Data-quality scorecard</h2>"
            "<p>Whole period, per partner. Files are not about individuals and are shown as they are.</p>"
            + _table(["Measure"] + [data.labels.partner(p) for p in partners], rows))


def _method_section(policy: Policy, data: PublishedData) -> str:
    return (
        "<h2 id='method'>Definitions and disclosure control</h2>"
        "<p class='note'>Start: assessment with an agreed action plan. Job start: at least 4 hours of paid work "
        + data.weeks(
            "a week. Sustained {sustained_short}/{sustained_long} weeks: in work continuously from the job start "
            "for {sustained_short}/{sustained_long} weeks (gaps of up to 7 days allowed). WorkWell retained in work "
            "{retained_short}/{retained_long} weeks: HMRC employment with any employer from the WorkWell start "
            "through {retained_short}/{retained_long} weeks, ")
        + "a change of employer joined when the new job starts within "
        "14 days, and back at work by then for people off sick at referral. Earnings outcome: cumulative earnings in the window of at least 16 hours a week at the "
        "National Living Wage in force at the job start. Full definitions: docs/evaluation.md and dbt docs.</p>"
        f"<p class='note'>Disclosure control (the same policy as the published tables): counts from 1 to "
        f"{policy.small_count_max} are suppressed ({SUPPRESSED}), other counts rounded to the nearest "
        f"{policy.rounding_base}, totals computed before rounding; rates, means and medians need a numerator and "
        f"denominator of at least {policy.min_base}; further cells are suppressed where a suppressed cell could "
        "otherwise be recovered from a total. Synthetic data.</p>")


def render_report(data: PublishedData, policy: Policy, generated_at: dt.datetime | None = None) -> str:
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    period, tiles = _summary(data)
    coverage = coverage_line(data)
    sections = [
        _funnel_section(data),
        _workwell_section(data),
        _outcomes_section(data, "priority_group", "Outcomes by priority group", "priority-group"),
        _variant_section(data),
        _employment_rate_section(data),
        _other_subgroups(data),
        _timeliness_section(data),
        _wellbeing_section(data),
        _partners_section(data),
        _data_quality_section(data),
        _method_section(policy, data),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>worklink evaluation report</title>"
        f"<style>{CSS}</style><script>{RENDER_CHECK}</script></head><body><main>"
        "<h1>Employment and health programmes: evaluation report</h1>"
        f"<p class='lede'>GM Economic Activity Trailblazer VCSE partners and WorkWell. Cohorts {_esc(period)}. "
        f"<strong>Outcomes as at {_esc(as_at_date(data))}.</strong> "
        f"Built {_esc(generated_at.strftime('%Y-%m-%d %H:%M UTC'))} from the published, disclosure-controlled "
        "tables only.</p>"
        + tiles + "".join(with_coverage(section, coverage) for section in sections)
        + "</main></body></html>\n"
    )


def build_report(out: Path, url: str, role: str | None = PUBLIC_ROLE, policy: Policy | None = None) -> Path:
    """Read the published marts (as `role`), re-check them against the policy, write the HTML file."""
    policy = policy or Policy.from_dbt_project()
    data = load_published(url, role=role, policy=policy)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(data, policy), encoding="utf-8")
    return out
