-- One row per payslip a VCSE partner sent, matched by the partner's job id to the job it evidences
-- and to that job's participant-level job start (int_job_start_claims_matched), with the days its
-- pay covers: from the day after the job's previous payslip (or the job start, for the first) to
-- its pay date. A payslip that cannot be matched is held (hold_reason; counted in
-- int_child_rows_held_for_missing_parent, never dropped):
--   parent_referral_not_in_warehouse  its referral was quarantined / never sent
--   unknown_job                       no job start of that referral carries the job id
--   paid_before_job_start             the pay date precedes the job it names
-- A payslip sent twice (same job, same pay date) counts once: the latest file's row.
-- int_job_starts_evaluated uses matched payslips in the earnings test (docs: earnings_evidence).
with

payslips as (

    select * from {{ ref('stg_vcse__payslips') }}

),

referrals as (

    select referral_key from {{ ref('int_referrals_linked_to_participants') }}

),

job_starts as (

    -- the current row of each partner job id (the latest file's row if it was sent twice)
    select distinct on (partner_job_key)
        partner_job_key,
        referral_key,
        job_start_date,
        'partner:' || referral_key || ':' || job_start_date as claim_key
    from {{ ref('stg_vcse__job_starts') }}
    where partner_job_key is not null
    order by partner_job_key asc, file_id desc, source_row_number desc

),

claims as (

    select claim_key, job_start_key, participant_id from {{ ref('int_job_start_claims_matched') }}

),

matched as (

    select
        payslips.*,
        job_starts.job_start_date,
        claims.claim_key,
        claims.job_start_key,
        claims.participant_id,
        case
            when referrals.referral_key is null then 'parent_referral_not_in_warehouse'
            when job_starts.partner_job_key is null or claims.claim_key is null then 'unknown_job'
            when payslips.pay_date < job_starts.job_start_date then 'paid_before_job_start'
        end as hold_reason,
        -- a re-sent payslip (same job and pay date) counts once
        row_number() over (
            partition by payslips.partner_job_key, payslips.pay_date
            order by payslips.file_id desc, payslips.source_row_number desc
        ) as copy_number
    from payslips
    left join referrals on payslips.referral_key = referrals.referral_key
    left join job_starts on payslips.partner_job_key = job_starts.partner_job_key
    left join claims on job_starts.claim_key = claims.claim_key

),

covered as (

    select
        *,
        coalesce(
            lag(pay_date) over (
                partition by partner_job_key order by pay_date
            ) + 1,
            job_start_date
        ) as covered_from_date
    from matched
    where hold_reason is null and copy_number = 1

)

select
    matched.payslip_row_key,
    matched.partner_id,
    matched.referral_key,
    matched.partner_job_key,
    matched.claim_key,
    matched.job_start_key,
    matched.participant_id,
    matched.gross_pay_gbp,
    matched.pay_date,
    covered.covered_from_date,
    matched.pay_date as covered_to_date,
    matched.pay_date - covered.covered_from_date + 1 as covered_days,
    matched.file_id,
    matched.source_row_number,
    matched.reporting_period,
    matched.hold_reason,
    case
        when matched.hold_reason is not null then 'held'
        when matched.copy_number > 1 then 'duplicate'
        else 'matched'
    end as payslip_status
from matched
left join covered on matched.payslip_row_key = covered.payslip_row_key
