-- One row per delivery partner and service variant it recorded (the test-and-learn arms): the
-- variant's outcomes (from outcomes_by_subgroup, so counted exactly as there), each rate's 95% Wilson
-- interval, and its difference from the partner's reference variant (the first in alphabetical
-- order) with a 95% Newcombe hybrid score interval (docs: service_variant_comparison), plus the
-- partner's grant apportioned to the variant by the minutes of support it delivered, per start and
-- per job start. Participants with no variant recorded (and WorkWell, which records none) have no row.
{% set rates = outcome_rates() %}
{% set compared = ['job_start_rate', 'moved_into_work_rate', 'sustained_short_rate'] %}
{#- z for a two-sided 5% test and for 80% power -#}
{% set z_alpha = 1.959963985 %}
{% set z_power = 0.841621234 %}
with

variants as (

    select
        split_part(dimension_value, ':', 1) as partner_id,
        substr(dimension_value, length(split_part(dimension_value, ':', 1)) + 2) as service_variant,
        *
    from {{ ref('outcomes_by_subgroup') }}
    where dimension = 'service_variant'
        and dimension_value not like '%:not_recorded'

),

with_reference as (

    select
        *,
        first_value(service_variant) over (partition by partner_id order by service_variant) as reference_variant
    from variants

),

minutes as (

    select partner_id, service_variant, sum(coalesce(duration_minutes, 0)) as activity_minutes
    from {{ ref('activities') }}
    group by partner_id, service_variant

),

partner_minutes as (

    -- every minute the partner delivered, whether or not its referral recorded a variant
    select partner_id, sum(activity_minutes) as activity_minutes
    from minutes
    group by partner_id

),

grants as (

    select partner_id, sum(grant_amount_gbp) as grant_amount_gbp
    from {{ ref('partner_grants') }}
    group by partner_id

),

costed as (

    select
        with_reference.*,
        coalesce(minutes.activity_minutes, 0) as activity_minutes,
        grants.grant_amount_gbp * coalesce(minutes.activity_minutes, 0)
            / nullif(partner_minutes.activity_minutes, 0) as apportioned_grant_gbp
    from with_reference
    left join minutes
        on with_reference.partner_id = minutes.partner_id
        and with_reference.service_variant = minutes.service_variant
    left join partner_minutes on with_reference.partner_id = partner_minutes.partner_id
    left join grants on with_reference.partner_id = grants.partner_id

),

paired as (

    select
        variant.*,
        {% for rate in compared %}
        {%- set numerator, denominator = rates[rate] %}
        reference.{{ numerator }} as reference_{{ numerator }},
        reference.{{ denominator }} as reference_{{ denominator }}{{ ',' if not loop.last }}
        {% endfor %}
    from costed as variant
    inner join costed as reference
        on variant.partner_id = reference.partner_id
        and variant.reference_variant = reference.service_variant

)

select
    partner_id || ':' || service_variant as partner_variant_key,
    partner_id,
    service_variant,
    reference_variant,
    service_variant = reference_variant as is_reference_variant,
    (select as_at_date from {{ ref('int_reporting_dates_derived') }}) as as_at_date,
    starters,
    {% for rate in compared %}
    {%- set numerator, denominator = rates[rate] %}
    {%- set x1, n1 = numerator, denominator %}
    {%- set x0, n0 = 'reference_' ~ numerator, 'reference_' ~ denominator %}
    {%- set p1 = safe_ratio(x1, n1) %}
    {%- set p0 = safe_ratio(x0, n0) %}
    {{ denominator }},
    {{ numerator }},
    {{ p1 }} as {{ rate }},
    {{ wilson_interval(x1, n1, 'lower') }} as {{ rate }}_ci_lower,
    {{ wilson_interval(x1, n1, 'upper') }} as {{ rate }}_ci_upper,
    -- Newcombe (1998) method 10: the difference's limits from each arm's Wilson limits
    case when service_variant <> reference_variant and {{ n1 }} > 0 and {{ n0 }} > 0 then
        round({{ p1 }} - {{ p0 }}, 4)
    end as {{ rate }}_difference,
    case when service_variant <> reference_variant and {{ n1 }} > 0 and {{ n0 }} > 0 then
        round({{ p1 }} - {{ p0 }} - sqrt(
            power({{ p1 }} - {{ wilson_interval(x1, n1, 'lower') }}, 2)
            + power({{ wilson_interval(x0, n0, 'upper') }} - {{ p0 }}, 2)), 4)
    end as {{ rate }}_difference_ci_lower,
    case when service_variant <> reference_variant and {{ n1 }} > 0 and {{ n0 }} > 0 then
        round({{ p1 }} - {{ p0 }} + sqrt(
            power({{ wilson_interval(x1, n1, 'upper') }} - {{ p1 }}, 2)
            + power({{ p0 }} - {{ wilson_interval(x0, n0, 'lower') }}, 2)), 4)
    end as {{ rate }}_difference_ci_upper,
    -- the smallest difference this pair could detect: 80% power, two-sided 5% test, pooled rate
    case when service_variant <> reference_variant and {{ n1 }} > 0 and {{ n0 }} > 0 then
        round(({{ z_alpha }} + {{ z_power }}) * sqrt(
            {{ safe_ratio(x1 ~ ' + ' ~ x0, n1 ~ ' + ' ~ n0) }} * (1 - {{ safe_ratio(x1 ~ ' + ' ~ x0, n1 ~ ' + ' ~ n0) }})
            * (1.0 / {{ n1 }} + 1.0 / {{ n0 }})), 4)
    end as {{ rate }}_minimum_detectable_difference,
    {%- endfor %}
    activity_minutes,
    -- GBP to the penny
    round(apportioned_grant_gbp, 2) as apportioned_grant_gbp,
    round(apportioned_grant_gbp / nullif(starters, 0), 2) as cost_per_start_gbp,
    round(apportioned_grant_gbp / nullif(job_starts, 0), 2) as cost_per_job_start_gbp
from paired
