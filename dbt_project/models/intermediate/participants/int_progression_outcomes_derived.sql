-- One row per VCSE referral and "moving closer to work" outcome it achieved, with the first date:
--   volunteering_started          first volunteering placement after the start
--   training_or_education_started first training course or ESOL session after the start, or an
--                                 exit to education/training
--   esol_learning_started         first ESOL session after the start
--   job_search_started            first CV / job-search session after the start
--   qualification_gained          a qualification (ESOL or other) the leaver row reports, on the
--                                 exit date (partners report qualifications at exit, ESF style)
--   esol_qualification_gained     an ESOL qualification the leaver row reports, on the exit date
-- Paid work, sustained work and economic status change are in the employment models.
with

journeys as (

    select referral_key, participant_id, partner_id, start_date, exit_date, leaver_reason,
        qualification_gained_at_exit
    from {{ ref('int_referral_journeys_assembled') }}
    where is_started

),

activities as (

    select referral_key, activity_type, contact_date from {{ ref('stg_vcse__activities') }}

),

from_activities as (

    select
        journeys.referral_key,
        outcome.outcome_type,
        min(activities.contact_date) as achieved_date
    from journeys
    inner join activities
        on journeys.referral_key = activities.referral_key
        and journeys.start_date <= activities.contact_date
    cross join lateral (
        select unnest(case activities.activity_type
            when 'volunteering_placement' then array['volunteering_started']
            when 'training_course' then array['training_or_education_started']
            when 'esol' then array['esol_learning_started', 'training_or_education_started']
            when 'cv_job_search' then array['job_search_started']
            else array[]::text[]
        end) as outcome_type
    ) as outcome
    group by journeys.referral_key, outcome.outcome_type

),

from_exits as (

    select referral_key, 'training_or_education_started' as outcome_type, exit_date as achieved_date
    from journeys
    where leaver_reason = 'entered_education_training'
    union all
    select journeys.referral_key, qualification.outcome_type, journeys.exit_date
    from journeys
    cross join lateral unnest(case journeys.qualification_gained_at_exit
        when 'esol' then array['qualification_gained', 'esol_qualification_gained']
        when 'other' then array['qualification_gained']
        else array[]::text[]
    end) as qualification (outcome_type)

),

outcomes as (

    select referral_key, outcome_type, min(achieved_date) as achieved_date
    from (select * from from_activities
    union all
    select * from from_exits) as unioned
    group by referral_key, outcome_type

)

select
    outcomes.referral_key || ':' || outcomes.outcome_type as progression_outcome_key,
    outcomes.referral_key,
    journeys.participant_id,
    journeys.partner_id,
    outcomes.outcome_type,
    outcomes.achieved_date,
    outcomes.achieved_date - journeys.start_date as days_from_start
from outcomes
inner join journeys on outcomes.referral_key = journeys.referral_key
