-- One row per started WorkWell referral of a person in work at referral, with the retention
-- outcomes (docs: workwell_retention). Definitions, all dbt variables:
--   employment     the participant's HMRC RTI employments (any employer), joined into one spell
--                  when the next one starts at most var('workwell_retention_gap_days') days after
--                  the last day of the ones before (a change of employer with no gap beyond the
--                  allowance is continuous); an employment with no end date runs on.
--   retained N wks in work (HMRC) continuously from the WorkWell start through the last day of the
--                  N weeks from it (N = var('workwell_retention_short_weeks') = 13 and
--                  var('workwell_retention_long_weeks') = 26; the 7N days start .. start + 7N - 1,
--                  docs: n_weeks), and, for a person signed off sick at referral when
--                  var('workwell_retention_requires_return_to_work') is true, back at work (a
--                  fit-for-work / returned-to-work fit-note change) on or before that last day.
--   due            that last day is on or before both the as-at date and the HMRC coverage end;
--                  before then the status is 'pending', never 'not_achieved'.
with

journeys as (

    select * from {{ ref('int_workwell_journeys_assembled') }}
    where is_started and work_status_at_referral = 'in_work'

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

spells as (

    select
        participant_id,
        employer_ref,
        spell_start_date,
        coalesce(spell_end_date, date '9999-12-31') as spell_end_date
    from {{ ref('int_employment_spells_unioned') }}
    where evidence_source = 'hmrc'
        and participant_id in (select participant_id from journeys)
        and spell_start_date is not null

),

ordered as (

    select
        *,
        max(spell_end_date) over (
            partition by participant_id
            order by spell_start_date, spell_end_date
            rows between unbounded preceding and 1 preceding
        ) as prior_end_date
    from spells

),

numbered as (

    select
        *,
        sum(
            case
                when prior_end_date is null
                    or spell_start_date > prior_end_date + {{ var('workwell_retention_gap_days') }}
                then 1 else 0
            end
        ) over (
            partition by participant_id
            order by spell_start_date, spell_end_date
            rows between unbounded preceding and current row
        ) as employment_number
    from ordered

),

employment as (

    select
        participant_id,
        employment_number,
        min(spell_start_date) as employment_start_date,
        max(spell_end_date) as employment_end_date,
        count(distinct employer_ref) as employers_count
    from numbered
    group by participant_id, employment_number

),

at_start as (

    -- the continuous employment the participant holds on the day of the WorkWell start
    select distinct on (journeys.referral_key)
        journeys.referral_key,
        employment.employment_end_date,
        employment.employers_count
    from journeys
    inner join employment
        on journeys.participant_id = employment.participant_id
        and journeys.start_date >= employment.employment_start_date
        and journeys.start_date <= employment.employment_end_date
    order by journeys.referral_key asc, employment.employment_end_date desc

),

windows as (

    select
        journeys.referral_key,
        journeys.participant_id,
        journeys.partner_id,
        journeys.start_date,
        journeys.return_to_work_date,
        journeys.is_off_sick_at_referral,
        at_start.employment_end_date,
        coalesce(at_start.employers_count, 0) as employers_count,
        at_start.referral_key is not null as is_employed_at_start,
        least(dates.as_at_date, coalesce(dates.hmrc_coverage_end_date, dates.as_at_date)) as evidence_end_date,
        -- N weeks: the 7N days start .. start + 7N - 1 (docs: n_weeks)
        journeys.start_date + {{ var('workwell_retention_short_weeks') }} * 7 - 1 as short_window_last_date,
        journeys.start_date + {{ var('workwell_retention_long_weeks') }} * 7 - 1 as long_window_last_date
    from journeys
    cross join dates
    left join at_start on journeys.referral_key = at_start.referral_key

),

evaluated as (

    select
        *,
        short_window_last_date <= evidence_end_date as is_retained_short_due,
        long_window_last_date <= evidence_end_date as is_retained_long_due,
        short_window_last_date <= evidence_end_date
            and coalesce(employment_end_date >= short_window_last_date, false)
            and (
                not {{ var('workwell_retention_requires_return_to_work') }}
                or not is_off_sick_at_referral
                or coalesce(return_to_work_date <= short_window_last_date, false)
            ) as is_retained_short,
        long_window_last_date <= evidence_end_date
            and coalesce(employment_end_date >= long_window_last_date, false)
            and (
                not {{ var('workwell_retention_requires_return_to_work') }}
                or not is_off_sick_at_referral
                or coalesce(return_to_work_date <= long_window_last_date, false)
            ) as is_retained_long
    from windows

)

select
    -- ids
    referral_key,
    participant_id,
    partner_id,

    -- strings
    case when is_retained_short then 'achieved' when is_retained_short_due then 'not_achieved'
        else 'pending' end as retained_short_status,
    case when is_retained_long then 'achieved' when is_retained_long_due then 'not_achieved'
        else 'pending' end as retained_long_status,

    -- numerics
    employers_count,

    -- dates
    start_date,
    short_window_last_date,
    long_window_last_date,
    case when employment_end_date < date '9999-12-31' then employment_end_date end as employment_end_date,
    return_to_work_date,

    -- flags
    is_off_sick_at_referral,
    is_employed_at_start,
    employers_count > 1 as has_changed_employer,
    is_retained_short_due,
    is_retained_long_due,
    is_retained_short,
    is_retained_long
from evaluated
