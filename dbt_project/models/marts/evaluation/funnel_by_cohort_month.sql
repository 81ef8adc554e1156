-- One row per VCSE delivery partner and cohort month (month the referral was received): how that
-- month's referrals moved through the programme, as the partners record it, up to the as-at date.
-- Stages (definitions in docs): referred -> eligible -> first contact -> started (assessment +
-- agreed action plan) -> sustained engagement -> job start (recorded, >= 4 hours) -> job sustained
-- 13 weeks -> 26 weeks; and left (started and exited). Conversion rates are each stage over the
-- stage before it. Counts are referral-level, so they reconcile with partners' own returns and with
-- the generator's truth; participant-level outcomes (any evidence) are in outcomes_by_subgroup.
with

referrals as (

    select * from {{ ref('referrals') }}
    where source_feed = 'vcse'

),

counted as (

    select
        partner_id,
        referral_month as cohort_month,
        count(*) as referred,
        count(*) filter (where is_eligible) as eligible,
        count(*) filter (where has_first_contact) as first_contact,
        count(*) filter (where is_started) as started,
        count(*) filter (where is_did_not_start) as did_not_start,
        count(*) filter (where is_pending_decision) as pending_decision,
        count(*) filter (where is_sustained_engagement) as sustained_engagement,
        count(*) filter (where has_recorded_job_start) as job_start,
        count(*) filter (where is_recorded_job_sustained_13_weeks) as sustained_13_weeks,
        count(*) filter (where is_recorded_job_sustained_26_weeks) as sustained_26_weeks,
        count(*) filter (where is_leaver) as left_programme
    from referrals
    group by partner_id, referral_month

)

select
    partner_id || ':' || to_char(cohort_month, 'YYYY-MM') as partner_cohort_key,
    *,
    {{ safe_ratio('eligible', 'referred') }} as eligible_rate,
    {{ safe_ratio('first_contact', 'eligible') }} as first_contact_rate,
    {{ safe_ratio('started', 'first_contact') }} as start_rate,
    {{ safe_ratio('sustained_engagement', 'started') }} as sustained_engagement_rate,
    {{ safe_ratio('job_start', 'started') }} as job_start_rate,
    {{ safe_ratio('sustained_13_weeks', 'job_start') }} as sustained_13_weeks_rate,
    {{ safe_ratio('sustained_26_weeks', 'job_start') }} as sustained_26_weeks_rate,
    {{ safe_ratio('left_programme', 'started') }} as leaver_rate
from counted
