-- One row per participant-level job start: an HMRC employment (with any partner claims that
-- describe it) or a partner-only job (claims with no HMRC match). This is the unit the outcome
-- rules are applied to, so a job claimed by two partners is evaluated once.
-- evidenced_end_date: HMRC's end date, or the latest end date a partner recorded; null while the
-- job is (as far as the evidence goes) ongoing. open_end_date: the last day the evidence can speak
-- for an ongoing job (the HMRC coverage end, or the as-at date for partner-only evidence).
-- is_contradicted: a partner-only job whose every claim the DWP/HMRC evidence contradicts
-- (int_job_start_claims_matched); int_job_starts_evaluated never counts it as an outcome.
with

spells as (

    select * from {{ ref('int_employment_spells_unioned') }}

),

claims as (

    select * from {{ ref('int_job_start_claims_matched') }}

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

first_referrals as (

    select participant_id, min(referral_date) as first_referral_date
    from {{ ref('int_referrals_linked_to_participants') }}
    group by participant_id

),

claims_by_job as (

    select
        job_start_key,
        min(claimed_job_start_date) as first_claimed_start_date,
        max(claimed_job_end_date) as latest_claimed_end_date,
        bool_and(claimed_job_end_date is not null) as all_claims_record_an_end,
        max(hours_per_week) as hours_per_week,
        max(hourly_pay_gbp) as hourly_pay_gbp,
        bool_or(is_self_employed) as is_self_employed,
        count(*) as claims_count,
        count(distinct partner_id) as claiming_partners_count,
        string_agg(distinct partner_id, ',' order by partner_id) as claiming_partners,
        (array_agg(referral_key order by recorded_month, claimed_job_start_date, claim_key))[1]
            as first_claim_referral_key,
        -- duplicate-claim attribution (docs: duplicate_claim_attribution): the first claimant by
        -- recorded month, then partner id, then claim key; the same order as payment_by_results_claims
        (array_agg(partner_id order by recorded_month, partner_id, claim_key))[1] as attributed_partner_id,
        bool_and(verification_status = 'contradicted') as all_claims_contradicted
    from claims
    group by job_start_key

),

hmrc_jobs as (

    select
        spells.spell_key as job_start_key,
        spells.participant_id,
        spells.spell_start_date as job_start_date,
        spells.spell_end_date as evidenced_end_date,
        dates.hmrc_coverage_end_date as open_end_date,
        true as has_hmrc_evidence,
        claims_by_job.job_start_key is not null as has_partner_claim,
        spells.hours_band,
        claims_by_job.hours_per_week,
        claims_by_job.hourly_pay_gbp,
        false as is_self_employed,
        spells.total_gross_pay_gbp,
        spells.pay_events_count,
        spells.first_payment_date,
        coalesce(claims_by_job.claims_count, 0) as claims_count,
        coalesce(claims_by_job.claiming_partners_count, 0) as claiming_partners_count,
        claims_by_job.claiming_partners,
        claims_by_job.first_claim_referral_key,
        claims_by_job.attributed_partner_id,
        -- HMRC shows this employment: never contradicted
        false as is_contradicted
    from spells
    cross join dates
    left join claims_by_job on spells.spell_key = claims_by_job.job_start_key
    where spells.evidence_source = 'hmrc'

),

partner_only_jobs as (

    select
        claims_by_job.job_start_key,
        spells.participant_id,
        claims_by_job.first_claimed_start_date as job_start_date,
        -- one partner may record the end while another has not: the recorded end is evidence
        claims_by_job.latest_claimed_end_date as evidenced_end_date,
        dates.as_at_date as open_end_date,
        false as has_hmrc_evidence,
        true as has_partner_claim,
        null::text as hours_band,
        claims_by_job.hours_per_week,
        claims_by_job.hourly_pay_gbp,
        claims_by_job.is_self_employed,
        null::numeric as total_gross_pay_gbp,
        null::integer as pay_events_count,
        null::date as first_payment_date,
        claims_by_job.claims_count,
        claims_by_job.claiming_partners_count,
        claims_by_job.claiming_partners,
        claims_by_job.first_claim_referral_key,
        claims_by_job.attributed_partner_id,
        -- every claim of the job is contradicted by the DWP/HMRC evidence
        claims_by_job.all_claims_contradicted as is_contradicted
    from claims_by_job
    inner join spells on claims_by_job.job_start_key = spells.spell_key
    cross join dates
    where spells.evidence_source = 'partner'

),

jobs as (

    select * from hmrc_jobs
    union all
    select * from partner_only_jobs

)

select
    jobs.*,
    first_referrals.first_referral_date,
    jobs.job_start_date < first_referrals.first_referral_date as is_before_first_referral
from jobs
left join first_referrals on jobs.participant_id = first_referrals.participant_id
