-- One row per programme referral (VCSE and ICB) with the episode it belongs to.
-- An episode is one participant's continuous spell with a programme, across partners. A new
-- referral joins the open episode when it arrives before that episode's end plus
-- var('rereferral_window_days') (ESF: a participant re-entering the same operation is recorded
-- once; the start stays at the first entry and the exit moves to the final exit). An episode is
-- open while any of its referrals is started and not exited, or still awaiting a decision.
with

vcse as (

    select
        referral_key,
        participant_id,
        programme,
        partner_id,
        referral_date,
        start_date,
        exit_date,
        first_contact_date,
        is_started,
        is_did_not_start
    from {{ ref('int_referral_journeys_assembled') }}

),

icb as (

    -- WorkWell referrals: the service's own assessment (start) and exit (int_workwell_journeys_assembled)
    select
        referral_key,
        participant_id,
        programme,
        partner_id,
        referral_date,
        start_date,
        exit_date,
        first_contact_date,
        is_started,
        is_did_not_start
    from {{ ref('int_workwell_journeys_assembled') }}

),

referrals as (

    select * from vcse
    union all
    select * from icb

),

with_end as (

    select
        *,
        case
            when exit_date is not null then exit_date
            when is_started then date '9999-12-31'
            when is_did_not_start then coalesce(first_contact_date, referral_date)
            else date '9999-12-31'
        end as referral_end_date
    from referrals

),

with_prior_end as (

    select
        *,
        max(referral_end_date) over (
            partition by participant_id, programme
            order by referral_date, referral_key
            rows between unbounded preceding and 1 preceding
        ) as prior_episode_end_date
    from with_end

),

flagged as (

    select
        *,
        case
            when prior_episode_end_date is null then 1
            when referral_date > prior_episode_end_date + {{ var('rereferral_window_days') }} then 1
            else 0
        end as is_new_episode
    from with_prior_end

),

numbered as (

    select
        *,
        sum(is_new_episode) over (
            partition by participant_id, programme
            order by referral_date, referral_key
            rows between unbounded preceding and current row
        ) as episode_number
    from flagged

)

select
    referral_key,
    participant_id,
    programme,
    partner_id,
    participant_id || ':' || programme || ':' || episode_number as episode_key,
    episode_number,
    is_new_episode = 1 as is_first_referral_of_episode,
    referral_date,
    referral_end_date,
    prior_episode_end_date
from numbered
