-- Published data-quality scorecard: one row per partner (or 'all'), reporting month (or 'all') and
-- measure. Files are not about individuals and are shown as they are; row and record counts and
-- the completeness rates built on them follow the disclosure-control policy.
{% set counts = ['rows_received', 'rows_quarantined', 'referrals', 'referrals_missing_sex',
                 'referrals_missing_ethnicity', 'referrals_missing_main_condition',
                 'referrals_without_nhs_or_ni_number', 'referrals_not_linked', 'starts',
                 'starts_with_baseline_wellbeing', 'leavers', 'leavers_with_baseline_and_follow_up'] %}
{% set files = ['files_received', 'files_rejected', 'files_late'] %}
{% set rates = {
    'row_quarantine_rate': ('rows_quarantined', 'rows_received', 'rate'),
    'missing_ethnicity_rate': ('referrals_missing_ethnicity', 'referrals', 'rate'),
    'missing_main_condition_rate': ('referrals_missing_main_condition', 'referrals', 'rate'),
    'without_nhs_or_ni_number_rate': ('referrals_without_nhs_or_ni_number', 'referrals', 'rate'),
    'not_linked_rate': ('referrals_not_linked', 'referrals', 'rate'),
    'baseline_wellbeing_rate': ('starts_with_baseline_wellbeing', 'starts', 'rate'),
    'baseline_and_follow_up_rate': ('leavers_with_baseline_and_follow_up', 'leavers', 'rate'),
} %}
with

totals as (

    select
        coalesce(partner_id, 'all') as partner_id,
        coalesce(to_char(reporting_month, 'YYYY-MM'), 'all') as reporting_month,
        {% for column in counts + files %}
        sum({{ column }}) as {{ column }},
        {% endfor %}
        {% for rate, (numerator, denominator, kind) in rates.items() %}
        {{ safe_ratio('sum(' ~ numerator ~ ')', 'sum(' ~ denominator ~ ')') }} as {{ rate }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('data_quality_scorecard_by_partner_month') }}
    group by grouping sets ((partner_id, reporting_month), (partner_id), (reporting_month), ())

),

cells as (

    {{ sdc_cells('totals', ['partner_id', 'reporting_month'], counts=counts, ratios=rates,
                 not_about_individuals=files) }}

),

{{ disclosure_control('cells', dims=['partner_id', 'reporting_month'], margins=['partner_id', 'reporting_month']) }}
