-- REFERRAL-LEVEL COUNTS, for reconciling with partners' own returns (and with the generator's
-- truth): one row per VCSE delivery partner and cohort month (month the referral was received),
-- counting referral rows as partners do. A re-referral inside the re-referral window counts twice
-- here and stages are not nested (an ineligible referral can have a first contact), so this table
-- has no rates. The evaluation funnel, at episode grain with nested stages and rates, is
-- funnel_by_cohort_month.
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
        count(*) filter (where has_only_contradicted_recorded_job_start) as contradicted_job_start,
        count(*) filter (where is_recorded_job_sustained_short) as sustained_short,
        count(*) filter (where is_recorded_job_sustained_long) as sustained_long,
        count(*) filter (where is_leaver) as left_programme
    from referrals
    group by partner_id, referral_month

)

select
    partner_id || ':' || to_char(cohort_month, 'YYYY-MM') as partner_cohort_key,
    *
from counted
