-- Published (disclosure-controlled) WorkWell funnel at episode grain with nested stages (see
-- workwell_funnel_by_cohort_month): one row per work status at referral (or 'all'), cohort month
-- (or 'all') and measure. Totals are summed from unrounded counts, then the whole table goes
-- through disclosure_control(). Source: analytics.workwell_funnel_by_cohort_month.
{% set counts = ['referred', 'started', 'did_not_start', 'pending_decision', 'support_plan',
                 'support_plan_out_of_work', 'job_start',
                 'job_start_outside_funnel', 'retained_short_due', 'retained_short',
                 'retained_long_due', 'retained_long', 'returned_to_work', 'left_programme'] %}
{% set rates = {
    'start_rate': ('started', 'referred', 'rate'),
    'support_plan_rate': ('support_plan', 'started', 'rate'),
    'job_start_rate': ('job_start', 'support_plan_out_of_work', 'rate'),
    'retained_short_rate': ('retained_short', 'retained_short_due', 'rate'),
    'retained_long_rate': ('retained_long', 'retained_long_due', 'rate'),
    'leaver_rate': ('left_programme', 'started', 'rate'),
} %}
with

totals as (

    select
        coalesce(work_status_at_referral, 'all') as work_status_at_referral,
        coalesce(to_char(cohort_month, 'YYYY-MM'), 'all') as cohort_month,
        {% for column in counts %}
        sum({{ column }}) as {{ column }},
        {% endfor %}
        {% for rate, (numerator, denominator, kind) in rates.items() %}
        {{ safe_ratio('sum(' ~ numerator ~ ')', 'sum(' ~ denominator ~ ')') }} as {{ rate }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('workwell_funnel_by_cohort_month') }}
    group by grouping sets ((work_status_at_referral, cohort_month), (work_status_at_referral), (cohort_month), ())

),

cells as (

    {{ sdc_cells('totals', ['work_status_at_referral', 'cohort_month'], counts=counts, ratios=rates) }}

),

{{ disclosure_control('cells', dims=['work_status_at_referral', 'cohort_month'],
                      margins=['work_status_at_referral', 'cohort_month']) }}
