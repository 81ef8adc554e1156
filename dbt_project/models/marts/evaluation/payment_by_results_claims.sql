-- One row per outcome a delivery partner claims for a participant, with its verification status
-- against the DWP/HMRC evidence and whether another partner already claimed the same outcome for
-- the same participant (duplicate claims across partners).
-- Claimed outcomes:
--   job_start            every job start a partner records
--   sustained_13_weeks   a recorded job that, on the partner's own record, has lasted 13 weeks
--   sustained_26_weeks   the same at 26 weeks
-- verification_status: verified | unverified | contradicted (see int_job_start_claims_matched;
-- for sustained claims HMRC must show the job lasting the full period, else contradicted).
-- The first claimant (earliest recorded month, then partner id) is the original; later claims of
-- the same outcome for the same participant-level job are duplicates.
{% set windows = {'13': var('sustained_short_weeks'), '26': var('sustained_long_weeks')} %}
with

claims as (

    select * from {{ ref('int_job_start_claims_matched') }}

),

jobs as (

    select * from {{ ref('int_job_starts_evaluated') }}

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

claimed_outcomes as (

    select
        claims.*,
        'job_start' as outcome_type,
        claims.verification_status as outcome_verification_status,
        claims.verification_reason as outcome_verification_reason
    from claims

    {% for label, weeks in windows.items() %}
    union all

    select
        claims.*,
        'sustained_{{ label }}_weeks',
        case
            when claims.hmrc_spell_key is null then claims.verification_status
            when jobs.sustained_{{ label }}_weeks_status = 'achieved' then 'verified'
            when jobs.sustained_{{ label }}_weeks_status = 'not_achieved' then 'contradicted'
            else 'unverified'
        end,
        case
            when claims.hmrc_spell_key is null then claims.verification_reason
            when jobs.sustained_{{ label }}_weeks_status = 'achieved' then 'hmrc_shows_job_lasted'
            when jobs.sustained_{{ label }}_weeks_status = 'not_achieved' then 'hmrc_shows_job_ended_earlier'
            else 'awaiting_hmrc_data'
        end
    from claims
    cross join dates
    left join jobs on claims.job_start_key = jobs.job_start_key
    where claims.claimed_job_start_date + {{ weeks }} * 7 <= dates.as_at_date
        and (claims.claimed_job_end_date is null
            or claims.claimed_job_end_date >= claims.claimed_job_start_date + {{ weeks }} * 7)
    {% endfor %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by participant_id, outcome_type, job_start_key
            order by recorded_month, partner_id, claim_key
        ) as claim_order,
        count(*) over (partition by participant_id, outcome_type, job_start_key) as claims_for_same_outcome
    from claimed_outcomes

)

select
    -- ids
    claim_key || ':' || outcome_type as pbr_claim_key,
    claim_key,
    partner_id,
    referral_key,
    participant_id,
    job_start_key,

    -- strings
    outcome_type,
    outcome_verification_status as verification_status,
    outcome_verification_reason as verification_reason,
    evidence_type as partner_evidence_type,

    -- numerics
    hours_per_week,
    claims_for_same_outcome,

    -- dates
    claimed_job_start_date,
    recorded_month,

    -- flags
    is_self_employed,
    hours_per_week >= {{ var('job_start_min_hours_per_week') }} as meets_job_start_rule,
    claim_order > 1 as is_duplicate_claim,
    claims_for_same_outcome > 1 and claim_order = 1 as is_claimed_by_other_partners_too
from ranked
