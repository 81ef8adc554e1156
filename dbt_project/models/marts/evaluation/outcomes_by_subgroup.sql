-- One row per subgroup (dimension and value, plus 'all'): outcomes of started episodes
-- (participant-level, any evidence, each participant's episode counted once whichever partners
-- saw them). Rates carry 95% Wilson intervals. Sustained and earnings rates count, among the job
-- starts whose window is over ("due"), those that achieved the outcome: recent job starts neither
-- drag the rates down nor push them up (an early success is known before an early failure).
-- Dimensions: priority group, main condition, age band, sex, ethnic group, borough, postcode
-- district (deprivation deciles need an IMD lookup that is not loaded: area is used instead),
-- benefit status at start, economic status at referral, referral source, delivery partner and
-- service variant (the "test" in test-and-learn), programme (Trailblazer / WorkWell) and WorkWell
-- work status at referral (in work: measured by retention; out of work: by a job start).
{% set dimensions = {
    'priority_group': 'priority_group',
    'main_condition': 'main_condition',
    'age_band': 'age_band_at_referral',
    'sex': 'sex',
    'ethnic_group': 'ethnic_group',
    'borough': 'borough',
    'postcode_district': 'postcode_district',
    'benefit_status_at_start': 'benefit_status_at_start',
    'economic_status_at_referral': 'economic_status_group_at_referral',
    'referral_source': 'referral_source',
    'delivery_partner': 'lead_partner_id',
    'service_variant': "lead_partner_id || ':' || coalesce(service_variant, 'not_recorded')",
    'programme': 'programme',
    'workwell_work_status_at_referral': 'workwell_work_status_at_referral',
} %}
{% set rates = outcome_rates() %}
with

episodes as (

    select * from {{ ref('episodes') }}
    where is_started

),

by_dimension as (

    {% for dimension, column in dimensions.items() %}
    select '{{ dimension }}' as dimension, coalesce(({{ column }})::text, 'not_recorded') as dimension_value, *
    from episodes
    union all
    {% endfor %}
    select 'all', 'all', * from episodes

),

counted as (

    select
        dimension,
        dimension_value,
        count(*) as starters,
        count(*) filter (where economic_status_group_at_referral <> 'in_work') as starters_not_in_work_at_referral,
        -- starters measured by a job start: all but WorkWell participants in work at referral
        count(*) filter (where coalesce(workwell_work_status_at_referral, '') <> 'in_work') as job_start_starters,
        count(*) filter (where has_job_start) as job_starts,
        -- job starts the DWP/HMRC evidence contradicts: beside the outcomes, never one of them
        sum(contradicted_job_starts_count) as contradicted_job_starts,
        count(*) filter (where is_sustained_short_due) as sustained_short_due,
        count(*) filter (where is_sustained_short) as sustained_short,
        count(*) filter (where is_sustained_long_due) as sustained_long_due,
        count(*) filter (where is_sustained_long) as sustained_long,
        count(*) filter (where is_earnings_outcome_short_due) as earnings_outcome_short_due,
        count(*) filter (where is_earnings_outcome_short and is_earnings_outcome_short_due)
            as earnings_outcome_short,
        count(*) filter (where is_earnings_outcome_long_due) as earnings_outcome_long_due,
        count(*) filter (where is_earnings_outcome_long and is_earnings_outcome_long_due)
            as earnings_outcome_long,
        -- achieved to date, beside each rate among those due: every achievement known so far,
        -- including those whose window is not over yet (an earnings test can be met early)
        count(*) filter (where is_sustained_short) as sustained_short_achieved_to_date,
        count(*) filter (where is_sustained_long) as sustained_long_achieved_to_date,
        count(*) filter (where is_earnings_outcome_short) as earnings_outcome_short_achieved_to_date,
        count(*) filter (where is_earnings_outcome_long) as earnings_outcome_long_achieved_to_date,
        count(*) filter (where is_ips_threshold_outcome) as ips_threshold_outcomes,
        count(*) filter (where is_self_employment_start) as self_employment_starts,
        count(*) filter (where has_progression_outcome) as progression_outcomes,
        count(*) filter (where has_moved_into_work) as moved_into_work,
        -- WorkWell, in work at referral: retained in work (docs: workwell_retention), among those due
        count(*) filter (where is_retained_short_due) as retained_short_due,
        count(*) filter (where is_retained_short) as retained_short,
        count(*) filter (where is_retained_long_due) as retained_long_due,
        count(*) filter (where is_retained_long) as retained_long
    from by_dimension
    group by dimension, dimension_value

)

select
    dimension || ':' || dimension_value as subgroup_key,
    counted.*,
    {% for rate, (numerator, denominator) in rates.items() %}
    {{ safe_ratio(numerator, denominator) }} as {{ rate }},
    {{ wilson_interval(numerator, denominator, 'lower') }} as {{ rate }}_ci_lower,
    {{ wilson_interval(numerator, denominator, 'upper') }} as {{ rate }}_ci_upper{{ ',' if not loop.last }}
    {% endfor %}
from counted
