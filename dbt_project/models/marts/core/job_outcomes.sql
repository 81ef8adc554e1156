-- One row per participant-level job start after the participant's first referral, with every
-- outcome rule's result (docs: job_start, sustained_employment, earnings_test, ips_threshold,
-- self_employment) and the evidence behind it. A job claimed by two partners appears once. A job
-- the DWP/HMRC evidence contradicts is listed (verification_status = contradicted) with every
-- status 'contradicted' and every outcome flag false (int_job_starts_evaluated decides).
with

jobs as (

    select * from {{ ref('int_job_starts_evaluated') }}
    where not is_before_first_referral

),

episodes as (

    -- a job can be the first job of two programmes' episodes (a Trailblazer participant also
    -- referred to WorkWell): it is listed once, under the earliest-starting episode
    select distinct on (first_job_start_key) episode_key, first_job_start_key
    from {{ ref('episodes') }}
    where first_job_start_key is not null
    order by first_job_start_key, start_date, episode_key

)

select
    -- ids
    jobs.job_start_key,
    jobs.participant_id,
    episodes.episode_key,
    jobs.first_claim_referral_key,

    -- strings
    jobs.claiming_partners,
    jobs.attributed_partner_id,
    case
        when jobs.has_hmrc_evidence then 'verified'
        when jobs.is_contradicted then 'contradicted'
        else 'unverified'
    end as verification_status,
    jobs.hours_band,
    case
        when jobs.has_hmrc_evidence and jobs.has_partner_claim then 'hmrc_and_partner'
        when jobs.has_hmrc_evidence then 'hmrc_only'
        else 'partner_only'
    end as evidence_sources,
    jobs.sustained_short_status,
    jobs.sustained_long_status,
    jobs.earnings_outcome_short_status,
    jobs.earnings_outcome_long_status,
    jobs.earnings_short_basis,
    jobs.earnings_long_basis,
    jobs.ips_threshold_status,

    -- numerics
    jobs.hours_per_week,
    round(jobs.evidenced_hours_per_week, 1) as evidenced_hours_per_week,
    jobs.hourly_pay_gbp,
    round(jobs.average_weekly_pay_gbp, 2) as average_weekly_pay_gbp,
    jobs.nlw_at_job_start_gbp,
    jobs.earnings_short_gbp,
    jobs.earnings_threshold_short_gbp,
    jobs.earnings_long_gbp,
    jobs.earnings_threshold_long_gbp,
    jobs.ips_qualifying_days,
    jobs.claims_count,
    jobs.claiming_partners_count,

    -- dates
    jobs.job_start_date,
    date_trunc('month', jobs.job_start_date)::date as job_start_month,
    jobs.evidenced_end_date,
    jobs.continuous_end_date,
    jobs.sustained_short_due_date,
    jobs.sustained_long_due_date,
    jobs.as_at_date,

    -- flags
    jobs.is_job_start,
    jobs.meets_job_start_hours_rule,
    jobs.is_contradicted,
    jobs.is_self_employed,
    jobs.is_self_employment_start,
    jobs.is_sustained_short,
    jobs.is_sustained_long,
    jobs.is_earnings_outcome_short,
    jobs.is_earnings_outcome_long,
    jobs.is_ips_threshold_outcome,
    jobs.is_self_employment_sustained_long,
    jobs.has_hmrc_evidence,
    jobs.has_partner_claim
from jobs
left join episodes on jobs.job_start_key = episodes.first_job_start_key
