-- Published outcomes of started Trailblazer episodes by delivery partner x priority group (each with
-- an 'all' total): counts, rates among those due with 95% confidence intervals, and achieved-to-date
-- counts, suppressed under the same disclosure control as every published table (a margin in both
-- directions: a partner's priority groups add up to the partner's 'all', each priority group's
-- partners to its 'all'). Source: analytics.outcomes_by_partner_priority_group.
{% set counts = ['starters', 'starters_not_in_work_at_referral', 'job_starts', 'contradicted_job_starts',
                 'sustained_short_due', 'sustained_short', 'sustained_long_due', 'sustained_long',
                 'earnings_outcome_short_due', 'earnings_outcome_short',
                 'earnings_outcome_long_due', 'earnings_outcome_long',
                 'sustained_short_achieved_to_date', 'sustained_long_achieved_to_date',
                 'earnings_outcome_short_achieved_to_date', 'earnings_outcome_long_achieved_to_date',
                 'progression_outcomes', 'moved_into_work'] %}
{#- the Trailblazer outcome rates: rate -> (numerator count, denominator count) -#}
{% set rates = outcome_rates(with_retention=false) %}
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
