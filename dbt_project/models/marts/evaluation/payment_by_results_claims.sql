-- One row per outcome a delivery partner claims for a participant, with its verification status
-- against the DWP/HMRC evidence and whether another partner already claimed the same outcome for
-- the same participant (duplicate claims across partners).
-- Claimed outcomes:
--   job_start            every job start a partner records
--   sustained_short   a recorded job that, on the partner's own record, has lasted 13 weeks
--   sustained_long   the same at 26 weeks
-- verification_status (docs: verification_status, outcome_integrity):
--   job_start claims: the claim's own verification (int_job_start_claims_matched);
--   sustained claims: the same sustained rule as the outcome, chosen by var('sustained_claim_rule'):
--     earnings_test  the job's earnings outcome (cumulative earnings from all paid work, so a job
--                    change with a gap still passes when the earnings do)
--     in_work        the job's in-work continuity (gaps of at most var('job_restart_gap_days'))
--   verified when the outcome is achieved on HMRC evidence, contradicted only when the evidence
--   contradicts it (HMRC shows the outcome not achieved, or the job start itself is contradicted),
--   otherwise unverified;
--   not_eligible: the job does not meet the job-start hours rule, so no outcome can be paid on it.
-- The first claimant (earliest recorded month, then partner id) is the original; later claims of
-- the same outcome for the same participant-level job are duplicates (docs: duplicate_claim_attribution).
{% set windows = {'short': var('sustained_short_weeks'), 'long': var('sustained_long_weeks')} %}
{% set rule = var('sustained_claim_rule') %}
{% if rule not in ('earnings_test', 'in_work') %}
    {{ exceptions.raise_compiler_error("var sustained_claim_rule must be earnings_test or in_work, not " ~ rule) }}
{% endif %}
{% set status_column = 'earnings_outcome_{}_status' if rule == 'earnings_test' else 'sustained_{}_status' %}
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
        case
            when not coalesce(jobs.meets_job_start_hours_rule, false) then 'not_eligible'
            else claims.verification_status
        end as outcome_verification_status,
        case
            when not coalesce(jobs.meets_job_start_hours_rule, false) then 'below_job_start_hours'
            else claims.verification_reason
        end as outcome_verification_reason
    from claims
    left join jobs on claims.job_start_key = jobs.job_start_key

    {% for label, weeks in windows.items() %}
    union all

    select
        claims.*,
        'sustained_{{ label }}',
        case
            when not coalesce(jobs.meets_job_start_hours_rule, false) then 'not_eligible'
            when claims.verification_status = 'contradicted' or jobs.is_contradicted then 'contradicted'
            when claims.hmrc_spell_key is null then 'unverified'
            when jobs.{{ status_column.format(label) }} = 'achieved' then 'verified'
            when jobs.{{ status_column.format(label) }} = 'not_achieved' then 'contradicted'
            else 'unverified'
        end,
        case
            when not coalesce(jobs.meets_job_start_hours_rule, false) then 'below_job_start_hours'
            when claims.verification_status = 'contradicted' or jobs.is_contradicted then claims.verification_reason
            when claims.hmrc_spell_key is null then claims.verification_reason
            when jobs.{{ status_column.format(label) }} = 'achieved' then
                '{{ "hmrc_earnings_met_threshold" if rule == "earnings_test" else "hmrc_shows_job_lasted" }}'
            when jobs.{{ status_column.format(label) }} = 'not_achieved' then
                '{{ "hmrc_earnings_below_threshold" if rule == "earnings_test" else "hmrc_shows_job_ended_earlier" }}'
            else 'awaiting_hmrc_data'
        end
    from claims
    cross join dates
    left join jobs on claims.job_start_key = jobs.job_start_key
    -- N weeks: the 7N days start .. start + 7N - 1 (docs: n_weeks)
    where claims.claimed_job_start_date + {{ weeks }} * 7 - 1 <= dates.as_at_date
        and (claims.claimed_job_end_date is null
            or claims.claimed_job_end_date >= claims.claimed_job_start_date + {{ weeks }} * 7 - 1)
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
