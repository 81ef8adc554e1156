-- One row per episode (a participant's continuous spell with a programme across partners; see
-- int_referrals_grouped_into_episodes): when it started and when it ended, decided once for the
-- job-attribution rule (int_job_starts_attributed_to_spells) and the episodes mart. The start is the
-- earliest start of its referrals; the exit is the latest exit once the episode has started and none
-- of its started referrals is still open (null while open, and for an episode never started).
with

journeys as (

    -- both programmes' journeys (VCSE partners; the WorkWell service's own feeds)
    select referral_key, start_date, exit_date, is_started, is_leaver
    from {{ ref('int_referral_journeys_assembled') }}
    union all
    select referral_key, start_date, exit_date, is_started, is_leaver
    from {{ ref('int_workwell_journeys_assembled') }}

),

episode_referrals as (

    select
        episodes.episode_key,
        linked.participant_id,
        linked.programme,
        journeys.start_date,
        journeys.exit_date,
        coalesce(journeys.is_started, false) as is_started,
        coalesce(journeys.is_leaver, false) as is_leaver
    from {{ ref('int_referrals_linked_to_participants') }} as linked
    left join journeys on linked.referral_key = journeys.referral_key
    inner join {{ ref('int_referrals_grouped_into_episodes') }} as episodes
        on linked.referral_key = episodes.referral_key

)

select
    episode_key,
    participant_id,
    programme,
    min(start_date) as start_date,
    case when bool_or(is_started) and not bool_or(is_started and not is_leaver) then max(exit_date) end
        as exit_date,
    bool_or(is_started) as is_started
from episode_referrals
group by episode_key, participant_id, programme
