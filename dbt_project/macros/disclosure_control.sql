{#-
Statistical disclosure control for every aggregate in the `published` schema (one macro, one
policy; docs block `disclosure_control`). Thresholds are dbt variables:

  counts 1..var('sdc_small_count_max') (7)      -> suppressed, shown '[c]'    suppressed_small_count
  0                                             -> shown (or suppressed when var('sdc_suppress_zeros'))
  other counts                                  -> rounded to the nearest var('sdc_rounding_base') (5)
  rates, means, medians, costs per outcome      -> suppressed when the numerator or denominator count
                                                   is under var('sdc_min_base') (10)     suppressed_small_base
                                                   or when a count they are built from is suppressed
                                                                                         suppressed_linked_cell
  secondary suppression: in every margin group (the cells that add up to a published total, and
  that total) a lone suppressed cell would be recoverable by subtraction, so the smallest other
  non-zero cell (a component before the total) is suppressed too           suppressed_secondary
  repeated var('sdc_secondary_passes') times over all margins, because suppressing in one
  direction can leave a lone suppressed cell in another.

Totals are computed by the caller from unrounded values, then rounded here. Unrounded values never
leave this macro: the output holds only the published value.

Call it as the last CTEs of a model:

    with ..., cells as (
        select <dims as text>, measure, measure_kind, raw_value,
               numerator, denominator, numerator_measure, denominator_measure
        from ...
    ),
    {{ disclosure_control('cells', dims=['partner_id', 'cohort_month'], margins=['partner_id', 'cohort_month']) }}

measure_kind: count | rate | mean | median | money_per_outcome (subject to the base rule) |
money and count_not_about_individuals (e.g. a grant, files received: shown as is, as NHS Digital
does for values not about individuals).
numerator / denominator: the counts behind a rate (for a mean or median, denominator = n and
numerator null); numerator_measure / denominator_measure: the names of those count cells in the
same table, if published, so a rate is suppressed with them.
margins: the dimensions whose value `total_label` ('all') is a total of the other values.

as_cte: name a CTE to hold the result (for a model that reshapes it) instead of selecting it.

Output: <dims>, measure, measure_kind, value (numeric, null when suppressed), value_display
(text, '[c]' when suppressed), is_suppressed, sdc_rule_applied.
-#}
{% macro disclosure_control(input_cte, dims, margins=[], total_label='all', as_cte=none) %}
{%- set small = var('sdc_small_count_max') | int -%}
{%- set base = var('sdc_rounding_base') | int -%}
{%- set min_base = var('sdc_min_base') | int -%}
{%- set passes = var('sdc_secondary_passes') | int -%}
{%- set suppress_zeros = var('sdc_suppress_zeros') -%}
{%- set dim_list = dims | join(', ') -%}
{%- set step = namespace(n=0) -%}

sdc_counts_0 as (

    select
        {{ dim_list }},
        measure,
        raw_value,
        case
            when raw_value >= 1 and raw_value <= {{ small }} then 'suppressed_small_count'
            {% if suppress_zeros %}when raw_value = 0 then 'suppressed_zero'{% endif %}
        end as suppression_rule
    from {{ input_cte }}
    where measure_kind = 'count'

),

{%- for pass in range(passes) %}
{%- for margin in margins %}
{%- set group_cols = (dims | reject('equalto', margin) | list) + ['measure'] %}

sdc_counts_{{ step.n + 1 }} as (

    -- pass {{ pass + 1 }}, margin {{ margin }}: no margin group may hold exactly one suppressed cell
    select
        {{ dim_list }},
        measure,
        raw_value,
        case
            when suppression_rule is null and suppressed_in_group = 1 and candidate_rank = 1
                then 'suppressed_secondary'
            else suppression_rule
        end as suppression_rule
    from (
        select
            *,
            count(*) filter (where suppression_rule is not null) over (
                partition by {{ group_cols | join(', ') }}) as suppressed_in_group,
            case when suppression_rule is null and raw_value > 0 then
                row_number() over (
                    partition by {{ group_cols | join(', ') }}, (suppression_rule is null and raw_value > 0)
                    order by ({{ margin }} = '{{ total_label }}'), raw_value, {{ margin }}
                )
            end as candidate_rank
        from sdc_counts_{{ step.n }}
    ) as grouped

),
{%- set step.n = step.n + 1 %}
{%- endfor %}
{%- endfor %}

sdc_counts_final as (

    select * from sdc_counts_{{ step.n }}

),

sdc_published_counts as (

    select
        {{ dim_list }},
        measure,
        'count'::text as measure_kind,
        case when suppression_rule is null then round(raw_value / {{ base }}.0) * {{ base }} end as value,
        case
            when suppression_rule is not null then '[c]'
            else to_char(round(raw_value / {{ base }}.0) * {{ base }}, 'FM999,999,999,990')
        end as value_display,
        suppression_rule is not null as is_suppressed,
        coalesce(
            suppression_rule,
            case when raw_value = 0 then 'zero_shown' else 'rounded_to_nearest_{{ base }}' end
        ) as sdc_rule_applied
    from sdc_counts_final

),

sdc_other_cells as (

    select
        cells.*,
        coalesce(numerator_cell.suppression_rule, denominator_cell.suppression_rule) as linked_suppression_rule
    from {{ input_cte }} as cells
    left join sdc_counts_final as numerator_cell
        on numerator_cell.measure = cells.numerator_measure
        {% for dim in dims %}and numerator_cell.{{ dim }} = cells.{{ dim }}
        {% endfor %}
    left join sdc_counts_final as denominator_cell
        on denominator_cell.measure = cells.denominator_measure
        {% for dim in dims %}and denominator_cell.{{ dim }} = cells.{{ dim }}
        {% endfor %}
    where cells.measure_kind <> 'count'

),

sdc_other_ruled as (

    select
        *,
        case
            when measure_kind in ('money', 'count_not_about_individuals') then 'not_about_individuals'
            when denominator is null or denominator < {{ min_base }}
                or (numerator is not null and numerator < {{ min_base }}) then 'suppressed_small_base'
            when linked_suppression_rule is not null then 'suppressed_linked_cell'
            when raw_value is null then 'suppressed_no_value'
            else 'shown_base_at_least_{{ min_base }}'
        end as rule
    from sdc_other_cells

),

sdc_published_others as (

    select
        {{ dim_list }},
        measure,
        measure_kind,
        case when rule like 'suppressed%' then null
            when measure_kind = 'rate' then round(raw_value, 4)
            when measure_kind in ('money', 'money_per_outcome', 'count_not_about_individuals') then round(raw_value, 0)
            else round(raw_value, 1)
        end as value,
        case
            when rule like 'suppressed%' then '[c]'
            when measure_kind = 'rate' then to_char(raw_value * 100, 'FM990.0') || '%'
            when measure_kind in ('money', 'money_per_outcome') then '£' || to_char(round(raw_value, 0), 'FM999,999,999,990')
            when measure_kind = 'count_not_about_individuals' then to_char(raw_value, 'FM999,999,999,990')
            else to_char(round(raw_value, 1), 'FM999,999,990.0')
        end as value_display,
        rule like 'suppressed%' as is_suppressed,
        rule as sdc_rule_applied
    from sdc_other_ruled

)

{% if as_cte %},
{{ as_cte }} as (
    select * from sdc_published_counts
    union all
    select * from sdc_published_others
)
{% else %}
select * from sdc_published_counts
union all
select * from sdc_published_others
{% endif %}
{% endmacro %}


{#- Turn a wide aggregate into the long `cells` shape disclosure_control() reads.
    counts: list of count columns; ratios: {measure: (numerator column, denominator column, kind)}
    where kind is rate | mean | median | money_per_outcome and numerator may be none (means, medians);
    money / not_about_individuals: columns not about individuals (shown as they are).
    A null count, and a ratio whose numerator count is null, is a statistic that does not apply to
    that row (e.g. reliable improvement for SWEMWBS): it gets no cell at all. -#}
{% macro sdc_cells(relation, dims, counts=[], ratios={}, money=[], not_about_individuals=[]) %}
    {%- set dim_list = dims | join(', ') -%}
    {%- set parts = [] -%}
    {%- for column in counts -%}
        {%- do parts.append("select " ~ dim_list ~ ", '" ~ column ~ "'::text as measure, 'count'::text as measure_kind, ("
            ~ column ~ ")::numeric as raw_value, (" ~ column ~ ")::numeric as numerator, (" ~ column
            ~ ")::numeric as denominator, null::text as numerator_measure, null::text as denominator_measure from "
            ~ relation ~ " where (" ~ column ~ ") is not null") -%}
    {%- endfor -%}
    {%- for measure, spec in ratios.items() -%}
        {%- set numerator = spec[0] -%}
        {%- set denominator = spec[1] -%}
        {%- set kind = spec[2] -%}
        {%- set value_column = spec[3] if spec | length > 3 else measure -%}
        {%- do parts.append("select " ~ dim_list ~ ", '" ~ measure ~ "', '" ~ kind ~ "', (" ~ value_column
            ~ ")::numeric, " ~ ("(" ~ numerator ~ ")::numeric" if numerator else "null::numeric") ~ ", ("
            ~ denominator ~ ")::numeric, " ~ ("'" ~ numerator ~ "'" if numerator and numerator in counts else "null")
            ~ ", " ~ ("'" ~ denominator ~ "'" if denominator in counts else "null") ~ " from " ~ relation
            ~ (" where (" ~ numerator ~ ") is not null" if numerator else "")) -%}
    {%- endfor -%}
    {%- for column in money -%}
        {%- do parts.append("select " ~ dim_list ~ ", '" ~ column ~ "', 'money', (" ~ column
            ~ ")::numeric, null, null, null, null from " ~ relation) -%}
    {%- endfor -%}
    {%- for column in not_about_individuals -%}
        {%- do parts.append("select " ~ dim_list ~ ", '" ~ column ~ "', 'count_not_about_individuals', ("
            ~ column ~ ")::numeric, null, null, null, null from " ~ relation) -%}
    {%- endfor -%}
    {{ parts | join('\nunion all\n') }}
{% endmacro %}
