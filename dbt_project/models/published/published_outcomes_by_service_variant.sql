-- Published comparison of each partner's service variants: one row per partner, variant and
-- measure. Counts, rates and Wilson intervals are taken as published.outcomes_by_subgroup publishes
-- them (the same cells, so the two tables can never disagree about a suppression); the differences
-- from the reference variant, their Newcombe intervals, minimum detectable differences and costs per
-- start and job start are added under the same policy: a difference needs both variants' numerators
-- and denominators of at least var('sdc_min_base') and is suppressed with either variant's rate; a
-- cost with its count. Source: analytics.outcomes_by_service_variant (docs: service_variant_comparison).
{% set rates = outcome_rates() %}
{% set compared = ['job_start_rate', 'moved_into_work_rate', 'sustained_short_rate'] %}
{% set shown = ['starters'] %}
{% for rate in compared %}
    {% do shown.extend([rates[rate][1], rates[rate][0], rate, rate ~ '_ci_lower', rate ~ '_ci_upper']) %}
{% endfor %}
with

source as (

    select * from {{ ref('outcomes_by_service_variant') }}

),

subgroup_cells as (

    select
        split_part(dimension_value, ':', 1) as partner_id,
        substr(dimension_value, length(split_part(dimension_value, ':', 1)) + 2) as service_variant,
        measure,
        measure_kind,
        value,
        value_display,
        is_suppressed,
        sdc_rule_applied
    from {{ ref('published_outcomes_by_subgroup') }}
    where dimension = 'service_variant'
        and dimension_value <> 'all'
        and measure in ('{{ shown | join("', '") }}')

),

cells as (

    {% for rate in compared %}
    {%- set numerator, denominator = rates[rate] %}
    {%- for suffix in ['_difference', '_difference_ci_lower', '_difference_ci_upper', '_minimum_detectable_difference'] %}
    select
        source.partner_id,
        source.service_variant,
        '{{ rate ~ suffix }}'::text as measure,
        'rate'::text as measure_kind,
        source.{{ rate ~ suffix }}::numeric as raw_value,
        least(source.{{ numerator }}, reference.{{ numerator }})::numeric as numerator,
        least(source.{{ denominator }}, reference.{{ denominator }})::numeric as denominator,
        null::text as numerator_measure,
        null::text as denominator_measure
    from source
    inner join source as reference
        on source.partner_id = reference.partner_id and source.reference_variant = reference.service_variant
    where source.{{ rate ~ suffix }} is not null
    union all
    {% endfor %}
    {% endfor %}
    select partner_id, service_variant, 'cost_per_start_gbp', 'money_per_outcome', cost_per_start_gbp::numeric,
        null, starters::numeric, null, null
    from source
    union all
    select partner_id, service_variant, 'cost_per_job_start_gbp', 'money_per_outcome', cost_per_job_start_gbp::numeric,
        null, job_starts::numeric, null, null
    from source

),

{{ disclosure_control('cells', dims=['partner_id', 'service_variant'], as_cte='controlled') }},

linked as (

    -- the cells each added measure is read beside: the variant's (and the reference's) rate or count
    select
        controlled.*,
        case
            when controlled.measure = 'cost_per_start_gbp' then 'starters'
            when controlled.measure = 'cost_per_job_start_gbp' then 'job_starts'
            else regexp_replace(controlled.measure, '_(difference|difference_ci_lower|difference_ci_upper|minimum_detectable_difference)$', '')
        end as linked_measure,
        source.reference_variant
    from controlled
    inner join source
        on controlled.partner_id = source.partner_id and controlled.service_variant = source.service_variant

),

added as (

    select
        linked.partner_id,
        linked.service_variant,
        linked.measure,
        linked.measure_kind,
        case when linked_cell.is_suppressed then null else linked.value end as value,
        case when linked_cell.is_suppressed then '[c]' else linked.value_display end as value_display,
        linked.is_suppressed or linked_cell.is_suppressed as is_suppressed,
        case
            when linked.is_suppressed then linked.sdc_rule_applied
            when linked_cell.is_suppressed then 'suppressed_linked_cell'
            else linked.sdc_rule_applied
        end as sdc_rule_applied
    from linked
    left join lateral (
        -- suppressed when the variant's or the reference variant's linked cell is (or is missing)
        select coalesce(bool_or(cells.is_suppressed), true) or count(*) < case
            when linked.measure like 'cost_per%' or linked.service_variant = linked.reference_variant then 1 else 2
        end as is_suppressed
        from subgroup_cells as cells
        where cells.partner_id = linked.partner_id
            and cells.measure = linked.linked_measure
            and (cells.service_variant = linked.service_variant
                or (linked.measure not like 'cost_per%' and cells.service_variant = linked.reference_variant))
    ) as linked_cell on true

),

combined as (

    select partner_id, service_variant, measure, measure_kind, value, value_display, is_suppressed, sdc_rule_applied
    from subgroup_cells
    where (partner_id, service_variant) in (select partner_id, service_variant from source)
    union all
    select * from added

)

select
    combined.partner_id,
    combined.service_variant,
    source.reference_variant,
    source.as_at_date,
    combined.measure,
    combined.measure_kind,
    combined.value,
    combined.value_display,
    combined.is_suppressed,
    combined.sdc_rule_applied
from combined
inner join source
    on combined.partner_id = source.partner_id and combined.service_variant = source.service_variant
