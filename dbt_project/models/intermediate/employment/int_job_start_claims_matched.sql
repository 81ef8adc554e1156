-- One row per job start claimed (recorded) by a VCSE partner, matched to the HMRC employment it
-- describes and given the key of the participant-level job start it belongs to.
--   * A PAYE claim matches the participant's HMRC employment whose start date is nearest and
--     within var('job_match_window_days'); two partners claiming that employment share its key.
--   * Claims with no HMRC match (self-employment, no NINo, not yet in the extract) form
--     partner-only jobs: claims of one participant starting within the window are one job.
-- Verification against DWP/HMRC evidence:
--   verified      HMRC shows the employment
--   contradicted  the participant is linked to the DWP/HMRC extracts, the extract already covers
--                 the claimed start (plus var('hmrc_reporting_lag_days')), and HMRC has no such job
--   unverified    self-employment (never in RTI), no DWP/HMRC link, or too recent to check
with

spells as (

    select * from {{ ref('int_employment_spells_unioned') }}

),

claims as (

    select * from spells where evidence_source = 'partner'

),

hmrc as (

    select * from spells where evidence_source = 'hmrc'

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

dwp_hmrc_linked as (

    select distinct participant_id
    from {{ ref('stg_linkage__participant_xrefs') }}
    where source_record_key like 'dwp:%' or source_record_key like 'hmrc:%'

),

candidates as (

    select
        claims.spell_key as claim_key,
        hmrc.spell_key as hmrc_spell_key,
        row_number() over (
            partition by claims.spell_key
            order by abs(hmrc.spell_start_date - claims.spell_start_date), hmrc.spell_key
        ) as match_rank
    from claims
    inner join hmrc
        on claims.participant_id = hmrc.participant_id
        and abs(hmrc.spell_start_date - claims.spell_start_date) <= {{ var('job_match_window_days') }}
    where not claims.is_self_employed

),

matched as (

    select
        claims.*,
        candidates.hmrc_spell_key
    from claims
    left join candidates
        on claims.spell_key = candidates.claim_key
        and candidates.match_rank = 1

),

unmatched as (

    select
        spell_key,
        participant_id,
        spell_start_date,
        case
            when lag(spell_start_date) over by_start
                >= spell_start_date - {{ var('job_match_window_days') }}
            then 0 else 1
        end as is_new_job
    from matched
    where hmrc_spell_key is null
    window by_start as (partition by participant_id order by spell_start_date, spell_key)

),

unmatched_grouped as (

    select
        *,
        sum(is_new_job) over (
            partition by participant_id
            order by spell_start_date, spell_key
            rows between unbounded preceding and current row
        ) as job_group
    from unmatched

),

unmatched_jobs as (

    -- the key of a partner-only job is its earliest claim's key
    select
        spell_key,
        first_value(spell_key) over (
            partition by participant_id, job_group
            order by spell_start_date, spell_key
        ) as partner_job_key
    from unmatched_grouped

),

verified as (

    select
        matched.spell_key as claim_key,
        matched.participant_id,
        matched.partner_id,
        matched.referral_key,
        coalesce(matched.hmrc_spell_key, unmatched_jobs.partner_job_key) as job_start_key,
        matched.hmrc_spell_key,
        matched.evidence_type,
        matched.hours_per_week,
        matched.hourly_pay_gbp,
        matched.is_self_employed,
        matched.spell_start_date as claimed_job_start_date,
        matched.spell_end_date as claimed_job_end_date,
        matched.recorded_month,
        case
            when matched.hmrc_spell_key is not null then 'verified'
            when matched.is_self_employed then 'unverified'
            when dwp_hmrc_linked.participant_id is null then 'unverified'
            when dates.hmrc_coverage_end_date is null
                or matched.spell_start_date + {{ var('hmrc_reporting_lag_days') }} > dates.hmrc_coverage_end_date
                then 'unverified'
            else 'contradicted'
        end as verification_status,
        case
            when matched.hmrc_spell_key is not null then 'hmrc_employment_found'
            when matched.is_self_employed then 'self_employment_not_in_rti'
            when dwp_hmrc_linked.participant_id is null then 'not_linked_to_dwp_hmrc'
            when dates.hmrc_coverage_end_date is null
                or matched.spell_start_date + {{ var('hmrc_reporting_lag_days') }} > dates.hmrc_coverage_end_date
                then 'awaiting_hmrc_data'
            else 'no_matching_hmrc_employment'
        end as verification_reason,
        dwp_hmrc_linked.participant_id is not null as is_linked_to_dwp_hmrc
    from matched
    cross join dates
    left join unmatched_jobs on matched.spell_key = unmatched_jobs.spell_key
    left join dwp_hmrc_linked on matched.participant_id = dwp_hmrc_linked.participant_id

)

select * from verified
