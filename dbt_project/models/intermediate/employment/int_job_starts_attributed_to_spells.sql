-- The job-attribution rule, in one place: one row per started spell and job start that falls in
-- the spell's outcome window. A spell is a referral (its own start and exit) or an episode (a
-- participant's continuous spell across partners, its start and exit from
-- int_episode_spans_derived). A job start belongs to a spell when it is on or after the spell's
-- start and no later than var('outcome_followup_days_after_exit') days after the spell's exit (the
-- as-at date while the spell is open), and not before the participant's first referral. Whether
-- the job start counts (is_job_start) or the DWP/HMRC evidence contradicts it is decided once, in
-- int_job_starts_evaluated; referrals and episodes filter on those flags.
with

journeys as (

    -- both programmes' journeys (VCSE partners; the WorkWell service's own feeds)
    select referral_key, participant_id, start_date, exit_date, is_started, is_leaver
    from {{ ref('int_referral_journeys_assembled') }}
    union all
    select referral_key, participant_id, start_date, exit_date, is_started, is_leaver
    from {{ ref('int_workwell_journeys_assembled') }}

),

spells as (

    select
        'referral' as spell_level,
        referral_key as spell_key,
        participant_id,
        start_date,
        exit_date
    from journeys
    where is_started
    union all
    select
        'episode' as spell_level,
        episode_key as spell_key,
        participant_id,
        start_date,
        exit_date
    from {{ ref('int_episode_spans_derived') }}
    where is_started

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

)

select
    spells.spell_level,
    spells.spell_key,
    spells.participant_id,
    jobs.job_start_key,
    jobs.job_start_date,
    jobs.is_job_start,
    jobs.is_contradicted,
    jobs.meets_job_start_hours_rule
from spells
cross join dates
inner join {{ ref('int_job_starts_evaluated') }} as jobs
    on spells.participant_id = jobs.participant_id
    and not jobs.is_before_first_referral
    and spells.start_date <= jobs.job_start_date
    and jobs.job_start_date <= coalesce(
        spells.exit_date + {{ var('outcome_followup_days_after_exit') }}, dates.as_at_date)
