-- One row per contact or activity delivered by a VCSE partner, with the participant and episode.
with

activities as (

    -- a resubmitted copy keeps the latest file's row
    select distinct on (activity_key) *
    from {{ ref('stg_vcse__activities') }}
    order by activity_key asc, file_id desc, source_row_number desc

),

referrals as (

    select referral_key, participant_id, episode_key, start_date, service_variant
    from {{ ref('referrals') }}

)

select
    -- ids
    activities.activity_key,
    activities.referral_key,
    coalesce(referrals.participant_id, 'unlinked:' || activities.referral_key) as participant_id,
    referrals.episode_key,
    activities.partner_id,

    -- strings
    activities.activity_type,
    activities.contact_mode,
    referrals.service_variant,

    -- numerics
    activities.duration_minutes,
    activities.contact_date - referrals.start_date as days_since_start,

    -- dates
    activities.contact_date,
    date_trunc('month', activities.contact_date)::date as contact_month
from activities
-- an activity whose referral is not in the warehouse (parent quarantined) is held out and counted
-- in int_child_rows_held_for_missing_parent
inner join referrals on activities.referral_key = referrals.referral_key
