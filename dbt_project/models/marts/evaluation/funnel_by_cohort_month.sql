-- The evaluation funnel, at episode grain: one row per VCSE delivery partner and cohort month.
-- The unit is a partner's episode (docs: funnel): the referrals one participant's episode holds at
-- one partner, so a re-referral to the partner inside the re-referral window counts once; its
-- cohort month is the month of its first referral. Stages are nested, each a subset of the one
-- before, so no rate can exceed 1:
--   referred > eligible (any referral eligible) > first contact (of an eligible referral)
--   > started > sustained engagement; started > job start (a recorded job start that counts, see
--   outcome_integrity) > sustained 13 weeks > sustained 26 weeks; started > left (no referral
--   still open). started, did_not_start and pending_decision partition the referred.
-- contradicted_job_start: started units whose only recorded job starts the DWP/HMRC evidence
-- contradicts (reported, never a job start). Referral-level counts for reconciling with the
-- partners' own returns: funnel_referral_counts_by_cohort_month.
with

referrals as (

    select * from {{ ref('referrals') }}
    where source_feed = 'vcse'

),

units as (

    select
        partner_id,
        episode_key,
        date_trunc('month', min(referral_date))::date as cohort_month,
        bool_or(is_eligible) as is_eligible,
        bool_or(is_eligible and has_first_contact) as has_eligible_first_contact,
        bool_or(is_started) as is_started,
        bool_or(is_pending_decision) as is_pending_decision,
        bool_or(is_did_not_start) as is_did_not_start,
        bool_or(is_started and is_sustained_engagement) as is_sustained_engagement,
        bool_or(is_started and has_recorded_job_start) as has_job_start,
        bool_or(is_started and has_only_contradicted_recorded_job_start) as has_contradicted_job_start,
        bool_or(is_started and has_recorded_job_start and is_recorded_job_sustained_short)
            as is_sustained_short,
        bool_or(is_started and has_recorded_job_start and is_recorded_job_sustained_long)
            as is_sustained_long,
        bool_or(is_started and not is_leaver) as has_open_start
    from referrals
    group by partner_id, episode_key

),

staged as (

    select
        partner_id,
        cohort_month,
        is_eligible,
        is_eligible and has_eligible_first_contact as is_first_contact,
        is_eligible and has_eligible_first_contact and is_started as is_started_stage,
        is_started,
        not is_started and is_pending_decision as is_pending,
        not is_started and not is_pending_decision and is_did_not_start as is_dns,
        is_sustained_engagement,
        has_job_start,
        has_contradicted_job_start and not has_job_start as has_only_contradicted_job_start,
        is_sustained_short,
        is_sustained_short and is_sustained_long as is_sustained_long,
        is_started and not has_open_start as has_left
    from units

),

counted as (

    select
        partner_id,
        cohort_month,
        count(*) as referred,
        count(*) filter (where is_eligible) as eligible,
        count(*) filter (where is_first_contact) as first_contact,
        count(*) filter (where is_started_stage) as started,
        count(*) filter (where is_started and not is_started_stage) as started_outside_funnel,
        count(*) filter (where is_dns) as did_not_start,
        count(*) filter (where is_pending) as pending_decision,
        count(*) filter (where is_started_stage and is_sustained_engagement) as sustained_engagement,
        count(*) filter (where is_started_stage and has_job_start) as job_start,
        count(*) filter (where is_started_stage and has_only_contradicted_job_start) as contradicted_job_start,
        count(*) filter (where is_started_stage and is_sustained_short) as sustained_short,
        count(*) filter (where is_started_stage and is_sustained_long) as sustained_long,
        count(*) filter (where is_started_stage and has_left) as left_programme
    from staged
    group by partner_id, cohort_month

)

select
    partner_id || ':' || to_char(cohort_month, 'YYYY-MM') as partner_cohort_key,
    *,
    {{ safe_ratio('eligible', 'referred') }} as eligible_rate,
    {{ safe_ratio('first_contact', 'eligible') }} as first_contact_rate,
    {{ safe_ratio('started', 'first_contact') }} as start_rate,
    {{ safe_ratio('sustained_engagement', 'started') }} as sustained_engagement_rate,
    {{ safe_ratio('job_start', 'started') }} as job_start_rate,
    {{ safe_ratio('sustained_short', 'job_start') }} as sustained_short_rate,
    {{ safe_ratio('sustained_long', 'sustained_short') }} as sustained_long_rate,
    {{ safe_ratio('left_programme', 'started') }} as leaver_rate
from counted
