-- One row per participant (a person referred to a programme at least once), pseudonymous: no
-- identifiers or tokens, only the opaque participant id from linkage. Characteristics are taken
-- from the earliest referral that records them (sex, age band) or the latest (ethnicity, area).
with

referrals as (

    select * from {{ ref('referrals') }}

),

episodes as (

    select * from {{ ref('episodes') }}

),

xref as (

    select participant_id,
        bool_or(source_record_key like 'dwp:%') as is_linked_to_dwp,
        bool_or(source_record_key like 'hmrc:%') as is_linked_to_hmrc
    from {{ ref('stg_linkage__participant_xrefs') }}
    group by participant_id

),

by_participant as (

    select
        participant_id,
        string_agg(distinct programme, ',' order by programme) as programmes,
        string_agg(distinct partner_id, ',' order by partner_id) as partners,
        count(*) as referrals_count,
        count(distinct partner_id) as partners_count,
        min(referral_date) as first_referral_date,
        (array_agg(sex order by referral_date) filter (where sex is not null))[1] as sex,
        (array_agg(age_band_at_referral order by referral_date)
            filter (where age_band_at_referral is not null))[1] as age_band_at_first_referral,
        (array_agg(ethnic_group order by referral_date desc)
            filter (where ethnic_group <> 'not_recorded'))[1] as ethnic_group,
        (array_agg(borough order by referral_date desc) filter (where borough is not null))[1] as borough,
        (array_agg(postcode_district order by referral_date desc)
            filter (where postcode_district is not null))[1] as postcode_district,
        (array_agg(priority_group order by referral_date) filter (where priority_group is not null))[1]
            as priority_group,
        (array_agg(main_condition order by referral_date) filter (where main_condition is not null))[1]
            as main_condition,
        (array_agg(economic_status order by referral_date) filter (where economic_status is not null))[1]
            as economic_status_at_first_referral,
        bool_and(is_linked) as is_linked
    from referrals
    group by participant_id

),

episode_summary as (

    select
        participant_id,
        count(*) as episodes_count,
        count(*) filter (where is_started) as started_episodes_count,
        min(start_date) as first_start_date,
        min(first_job_start_date) as first_job_start_date,
        bool_or(is_started) as is_started,
        bool_or(has_job_start) as has_job_start,
        bool_or(is_sustained_short) as has_sustained_short,
        bool_or(is_sustained_long) as has_sustained_long,
        bool_or(is_earnings_outcome_long) as has_earnings_outcome_long,
        bool_or(has_progression_outcome) as has_progression_outcome,
        bool_or(is_started and workwell_work_status_at_referral = 'in_work') as is_workwell_started_in_work,
        bool_or(is_retained_short) as has_retained_short,
        bool_or(is_retained_long) as has_retained_long,
        min(return_to_work_date) as first_return_to_work_date
    from episodes
    group by participant_id

)

select
    -- ids
    by_participant.participant_id,

    -- strings
    by_participant.programmes,
    by_participant.partners,
    by_participant.sex,
    by_participant.age_band_at_first_referral,
    coalesce(by_participant.ethnic_group, 'not_recorded') as ethnic_group,
    by_participant.borough,
    by_participant.postcode_district,
    by_participant.priority_group,
    by_participant.main_condition,
    by_participant.economic_status_at_first_referral,

    -- numerics
    by_participant.referrals_count,
    by_participant.partners_count,
    episode_summary.episodes_count,
    episode_summary.started_episodes_count,

    -- dates
    by_participant.first_referral_date,
    episode_summary.first_start_date,
    episode_summary.first_job_start_date,

    -- flags
    by_participant.is_linked,
    coalesce(xref.is_linked_to_dwp, false) as is_linked_to_dwp,
    coalesce(xref.is_linked_to_hmrc, false) as is_linked_to_hmrc,
    episode_summary.is_started,
    episode_summary.has_job_start,
    episode_summary.has_sustained_short,
    episode_summary.has_sustained_long,
    episode_summary.has_earnings_outcome_long,
    episode_summary.has_progression_outcome,

    -- WorkWell (docs: workwell_retention)
    episode_summary.first_return_to_work_date,
    coalesce(episode_summary.is_workwell_started_in_work, false) as is_workwell_started_in_work,
    coalesce(episode_summary.has_retained_short, false) as has_retained_short,
    coalesce(episode_summary.has_retained_long, false) as has_retained_long
from by_participant
left join episode_summary on by_participant.participant_id = episode_summary.participant_id
left join xref on by_participant.participant_id = xref.participant_id
