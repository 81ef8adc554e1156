{#- A published funnel by cohort month: the whole model of published_funnel_by_cohort_month and
    published_workwell_funnel_by_cohort_month, which differ only in their source, their grouping
    dimension and their stages. Totals ('all' for the group, the cohort month, both) are summed
    from the unrounded counts and each rate is computed from those sums, then the whole table goes
    through disclosure_control(), with both dimensions as margins. -#}
{% macro published_funnel(source, group_by, counts, rates) %}
with

totals as (

    select
        coalesce({{ group_by }}, 'all') as {{ group_by }},
        coalesce(to_char(cohort_month, 'YYYY-MM'), 'all') as cohort_month,
        {% for column in counts %}
        sum({{ column }}) as {{ column }},
        {% endfor %}
        {% for rate, (numerator, denominator, kind) in rates.items() %}
        {{ safe_ratio('sum(' ~ numerator ~ ')', 'sum(' ~ denominator ~ ')') }} as {{ rate }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ source }}
    group by grouping sets (({{ group_by }}, cohort_month), ({{ group_by }}), (cohort_month), ())

),

cells as (

    {{ sdc_cells('totals', [group_by, 'cohort_month'], counts=counts, ratios=rates) }}

),

{{ disclosure_control('cells', dims=[group_by, 'cohort_month'], margins=[group_by, 'cohort_month']) }}
{% endmacro %}
