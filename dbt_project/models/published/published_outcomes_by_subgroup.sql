-- Published outcomes of started episodes by subgroup: one row per dimension, value (with an 'all'
-- total per dimension) and measure; rates with 95% confidence intervals, suppressed with their
-- counts. Source: analytics.outcomes_by_subgroup.
{% set counts = ['starters', 'starters_not_in_work_at_referral', 'job_start_starters', 'job_starts', 'contradicted_job_starts',
                 'sustained_short_due',
                 'sustained_short', 'sustained_long_due', 'sustained_long',
                 'earnings_outcome_short_due', 'earnings_outcome_short',
                 'earnings_outcome_long_due', 'earnings_outcome_long',
                 'sustained_short_achieved_to_date', 'sustained_long_achieved_to_date',
                 'earnings_outcome_short_achieved_to_date', 'earnings_outcome_long_achieved_to_date',
                 'ips_threshold_outcomes',
                 'self_employment_starts', 'progression_outcomes', 'moved_into_work',
                 'retained_short_due', 'retained_short', 'retained_long_due', 'retained_long'] %}
{% set rate_bases = outcome_rates() %}
{% set ratios = {} %}
{% for rate, (numerator, denominator) in rate_bases.items() %}
    {% do ratios.update({rate: (numerator, denominator, 'rate')}) %}
    {% do ratios.update({rate ~ '_ci_lower': (numerator, denominator, 'rate')}) %}
    {% do ratios.update({rate ~ '_ci_upper': (numerator, denominator, 'rate')}) %}
{% endfor %}
{% set value_columns = counts + (ratios.keys() | list) %}
with

source as (

    select * from {{ ref('outcomes_by_subgroup') }}

),

with_dimension_totals as (

    -- every dimension gets its own 'all' row (the overall total) so its values have a margin
    select dimension, dimension_value, {{ value_columns | join(', ') }}
    from source
    where dimension <> 'all'
    union all
    select dimensions.dimension, 'all',
        {% for column in value_columns %}overall.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from (select distinct dimension from source where dimension <> 'all') as dimensions
    cross join (select * from source where dimension = 'all') as overall

),

cells as (

    {{ sdc_cells('with_dimension_totals', ['dimension', 'dimension_value'], counts=counts, ratios=ratios) }}

),

{{ disclosure_control('cells', dims=['dimension', 'dimension_value'], margins=['dimension_value']) }}
