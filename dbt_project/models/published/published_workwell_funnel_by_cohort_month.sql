-- Published (disclosure-controlled) WorkWell funnel at episode grain with nested stages (see
-- workwell_funnel_by_cohort_month): one row per work status at referral (or 'all'), cohort month
-- (or 'all') and measure. Totals and rates as published_funnel() computes them (sums of
-- unrounded counts, then disclosure_control()). Source: analytics.workwell_funnel_by_cohort_month.
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
{{ published_funnel(ref('workwell_funnel_by_cohort_month'), 'work_status_at_referral', counts, rates) }}
