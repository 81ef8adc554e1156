-- Published (disclosure-controlled) funnel at episode grain with nested stages (see
-- funnel_by_cohort_month): one row per delivery partner (or 'all'), cohort month
-- (or 'all') and measure. Totals and rates as published_funnel() computes them (sums of
-- unrounded counts, then disclosure_control()). Source: analytics.funnel_by_cohort_month.
{% set counts = ['referred', 'eligible', 'first_contact', 'started', 'started_outside_funnel',
                 'did_not_start', 'pending_decision', 'sustained_engagement', 'job_start',
                 'contradicted_job_start', 'sustained_short', 'sustained_long', 'left_programme'] %}
{% set rates = {
    'eligible_rate': ('eligible', 'referred', 'rate'),
    'first_contact_rate': ('first_contact', 'eligible', 'rate'),
    'start_rate': ('started', 'first_contact', 'rate'),
    'sustained_engagement_rate': ('sustained_engagement', 'started', 'rate'),
    'job_start_rate': ('job_start', 'started', 'rate'),
    'sustained_short_rate': ('sustained_short', 'job_start', 'rate'),
    'sustained_long_rate': ('sustained_long', 'sustained_short', 'rate'),
    'leaver_rate': ('left_programme', 'started', 'rate'),
} %}
{{ published_funnel(ref('funnel_by_cohort_month'), 'partner_id', counts, rates) }}
