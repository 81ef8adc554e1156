-- Published outcomes of started Trailblazer episodes by delivery partner x priority group (each with
-- an 'all' total): counts, rates among those due with 95% confidence intervals, and achieved-to-date
-- counts, suppressed under the same disclosure control as every published table (a margin in both
-- directions: a partner's priority groups add up to the partner's 'all', each priority group's
-- partners to its 'all'). Source: analytics.outcomes_by_partner_priority_group.
{% set counts = ['starters', 'starters_not_in_work_at_referral', 'job_starts', 'contradicted_job_starts',
                 'sustained_13_weeks_due', 'sustained_13_weeks', 'sustained_26_weeks_due', 'sustained_26_weeks',
                 'earnings_outcome_13_weeks_due', 'earnings_outcome_13_weeks',
                 'earnings_outcome_26_weeks_due', 'earnings_outcome_26_weeks',
                 'sustained_13_weeks_achieved_to_date', 'sustained_26_weeks_achieved_to_date',
                 'earnings_outcome_13_weeks_achieved_to_date', 'earnings_outcome_26_weeks_achieved_to_date',
                 'progression_outcomes', 'moved_into_work'] %}
{#- the Trailblazer outcome rates (outcome_rates() without the WorkWell retention rates, which do
    not apply to VCSE episodes): rate -> (numerator count, denominator count) -#}
{% set rates = {
    'job_start_rate': ('job_starts', 'starters'),
    'sustained_13_weeks_rate': ('sustained_13_weeks', 'sustained_13_weeks_due'),
    'sustained_26_weeks_rate': ('sustained_26_weeks', 'sustained_26_weeks_due'),
    'earnings_outcome_13_weeks_rate': ('earnings_outcome_13_weeks', 'earnings_outcome_13_weeks_due'),
    'earnings_outcome_26_weeks_rate': ('earnings_outcome_26_weeks', 'earnings_outcome_26_weeks_due'),
    'progression_rate': ('progression_outcomes', 'starters'),
    'moved_into_work_rate': ('moved_into_work', 'starters_not_in_work_at_referral'),
} %}
{% set ratios = {} %}
{% for rate, (numerator, denominator) in rates.items() %}
    {% do ratios.update({rate: (numerator, denominator, 'rate')}) %}
    {% do ratios.update({rate ~ '_ci_lower': (numerator, denominator, 'rate')}) %}
    {% do ratios.update({rate ~ '_ci_upper': (numerator, denominator, 'rate')}) %}
{% endfor %}
with

source as (

    select * from {{ ref('outcomes_by_partner_priority_group') }}

),

cells as (

    {{ sdc_cells('source', ['partner_id', 'priority_group'], counts=counts, ratios=ratios) }}

),

{{ disclosure_control('cells', dims=['partner_id', 'priority_group'], margins=['partner_id', 'priority_group']) }}
