-- One row per VCSE delivery partner and priority group (each with an 'all' total, and 'all' x 'all'):
-- outcomes of started Trailblazer episodes, attributed to the episode's lead partner and the
-- priority group recorded at referral. Same counts, rates (among those due) and 95% Wilson intervals
-- as outcomes_by_subgroup (its Trailblazer rates), crossed by partner and priority group, which
-- partners report against (published: published_outcomes_by_partner_priority_group).
{#- the Trailblazer outcome rates: rate -> (numerator count, denominator count) -#}
{% set rates = outcome_rates(with_retention=false) %}
with

episodes as (

    select
        *,
        coalesce(priority_group, 'not_recorded') as priority_group_recorded
    from {{ ref('episodes') }}
    where is_started and programme = 'gm_etb'

),

counted as (

    select
        coalesce(lead_partner_id, 'all') as partner_id,
        coalesce(priority_group_recorded, 'all') as priority_group,
        count(*) as starters,
        count(*) filter (where economic_status_group_at_referral <> 'in_work') as starters_not_in_work_at_referral,
        count(*) filter (where has_job_start) as job_starts,
        -- job starts the DWP/HMRC evidence contradicts: beside the outcomes, never one of them
        sum(contradicted_job_starts_count) as contradicted_job_starts,
        count(*) filter (where is_sustained_short_due) as sustained_short_due,
        count(*) filter (where is_sustained_short and is_sustained_short_due) as sustained_short,
        count(*) filter (where is_sustained_long_due) as sustained_long_due,
        count(*) filter (where is_sustained_long and is_sustained_long_due) as sustained_long,
        count(*) filter (where is_earnings_outcome_short_due) as earnings_outcome_short_due,
        count(*) filter (where is_earnings_outcome_short and is_earnings_outcome_short_due)
            as earnings_outcome_short,
        count(*) filter (where is_earnings_outcome_long_due) as earnings_outcome_long_due,
        count(*) filter (where is_earnings_outcome_long and is_earnings_outcome_long_due)
            as earnings_outcome_long,
        -- achieved to date, beside each rate among those due
        count(*) filter (where is_sustained_short) as sustained_short_achieved_to_date,
        count(*) filter (where is_sustained_long) as sustained_long_achieved_to_date,
        count(*) filter (where is_earnings_outcome_short) as earnings_outcome_short_achieved_to_date,
        count(*) filter (where is_earnings_outcome_long) as earnings_outcome_long_achieved_to_date,
        count(*) filter (where has_progression_outcome) as progression_outcomes,
        count(*) filter (where has_moved_into_work) as moved_into_work
    from episodes
    group by grouping sets ((lead_partner_id, priority_group_recorded), (lead_partner_id), (priority_group_recorded), ())

)

select
    partner_id || ':' || priority_group as partner_priority_group_key,
    counted.*,
    {% for rate, (numerator, denominator) in rates.items() %}
    {{ safe_ratio(numerator, denominator) }} as {{ rate }},
    {{ wilson_interval(numerator, denominator, 'lower') }} as {{ rate }}_ci_lower,
    {{ wilson_interval(numerator, denominator, 'upper') }} as {{ rate }}_ci_upper{{ ',' if not loop.last }}
    {% endfor %}
from counted
