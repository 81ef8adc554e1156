-- One row per programme referral (VCSE partners and the ICB WorkWell feed), pseudonymous: the
-- referral's journey, the episode it belongs to, benefit status from DWP, and the job start the
-- partner recorded for it with that job's outcomes (evaluated once per participant-level job).
with

linked as (

    select * from {{ ref('int_referrals_linked_to_participants') }}

),

journeys as (

    -- both programmes' journeys (VCSE partners; the WorkWell service's own feeds), same columns
    select
        referral_key, participant_id, first_contact_date, start_date, start_month,
        did_not_start_reason, did_not_start_recorded_month, exit_date, leaver_reason, is_planned_exit,
        activities_count, contact_days_count, days_referral_to_first_contact, days_referral_to_start,
        has_first_contact, is_started, is_did_not_start, is_pending_decision, is_sustained_engagement,
        is_leaver
    from {{ ref('int_referral_journeys_assembled') }}
    union all
    select
        referral_key, participant_id, first_contact_date, start_date, start_month,
        did_not_start_reason, did_not_start_recorded_month, exit_date, leaver_reason, is_planned_exit,
        activities_count, contact_days_count, days_referral_to_first_contact, days_referral_to_start,
        has_first_contact, is_started, is_did_not_start, is_pending_decision, is_sustained_engagement,
        is_leaver
    from {{ ref('int_workwell_journeys_assembled') }}

),

workwell as (

    select * from {{ ref('int_workwell_journeys_assembled') }}

),

retention as (

    select * from {{ ref('int_workwell_retention_evaluated') }}

),

episodes as (

    select referral_key, episode_key from {{ ref('int_referrals_grouped_into_episodes') }}

),

benefits as (

    select * from {{ ref('int_referrals_joined_to_benefit_status') }}

),

jobs as (

    select * from {{ ref('int_job_starts_evaluated') }}

),

recorded_claims as (

    -- the job starts the partner recorded for this referral whose job meets the job-start hours
    -- rule; whether each counts is decided once, in int_job_starts_evaluated
    select
        claims.referral_key,
        claims.claim_key,
        claims.job_start_key,
        claims.claimed_job_start_date,
        claims.verification_status,
        claims.verification_reason,
        jobs.is_job_start,
        jobs.is_contradicted
    from {{ ref('int_job_start_claims_matched') }} as claims
    inner join jobs on claims.job_start_key = jobs.job_start_key
    where jobs.meets_job_start_hours_rule
        and claims.hours_per_week >= {{ var('job_start_min_hours_per_week') }}

),

recorded_job_starts as (

    -- the first recorded job start that counts (not contradicted by the evidence)
    select distinct on (referral_key) *
    from recorded_claims
    where is_job_start
    order by referral_key, claimed_job_start_date, claim_key

),

contradicted_job_starts as (

    -- recorded job starts the DWP/HMRC evidence contradicts: reported, never counted
    select referral_key, count(*) as contradicted_job_starts_count
    from recorded_claims
    where is_contradicted
    group by referral_key

),

first_job_after_start as (

    -- any evidence (partner or HMRC): the participant's first job start after this start
    -- (the attribution rule: int_job_starts_attributed_to_spells)
    select distinct on (spell_key)
        spell_key as referral_key,
        job_start_key,
        job_start_date
    from {{ ref('int_job_starts_attributed_to_spells') }}
    where spell_level = 'referral' and is_job_start
    order by spell_key, job_start_date, job_start_key

)

select
    -- ids
    linked.referral_key,
    linked.participant_id,
    episodes.episode_key,
    linked.partner_id,
    linked.partner_referral_id,

    -- strings
    linked.programme,
    linked.source_feed,
    linked.referral_source,
    linked.priority_group,
    linked.main_condition,
    linked.economic_status,
    linked.economic_status_group,
    linked.service_variant,
    linked.ineligible_reason,
    journeys.did_not_start_reason,
    journeys.leaver_reason,
    linked.fit_note_status,
    linked.sex,
    linked.ethnicity,
    linked.ethnic_group,
    linked.age_band_at_referral,
    linked.postcode_district,
    linked.borough,
    benefits.benefit_status_at_referral,
    benefits.benefit_status_at_start,
    linked.match_method,
    recorded_job_starts.job_start_key as recorded_job_start_key,
    recorded_job_starts.verification_status as recorded_job_start_verification_status,
    jobs.sustained_short_status as recorded_job_sustained_short_status,
    jobs.sustained_long_status as recorded_job_sustained_long_status,
    first_job_after_start.job_start_key as first_job_start_key_after_start,

    -- numerics
    linked.carer_hours_per_week,
    linked.match_probability,
    coalesce(journeys.activities_count, 0) as activities_count,
    coalesce(journeys.contact_days_count, 0) as contact_days_count,
    journeys.days_referral_to_first_contact,
    journeys.days_referral_to_start,
    coalesce(contradicted_job_starts.contradicted_job_starts_count, 0) as contradicted_recorded_job_starts_count,
    first_job_after_start.job_start_date - journeys.start_date as days_start_to_first_job_start,

    -- dates
    linked.referral_date,
    linked.referral_month,
    journeys.first_contact_date,
    journeys.start_date,
    journeys.start_month,
    journeys.did_not_start_recorded_month,
    journeys.exit_date,
    recorded_job_starts.claimed_job_start_date as recorded_job_start_date,
    first_job_after_start.job_start_date as first_job_start_date_after_start,

    -- flags
    linked.is_linked,
    linked.is_eligible,
    coalesce(journeys.has_first_contact, false) as has_first_contact,
    coalesce(journeys.is_started, false) as is_started,
    coalesce(journeys.is_did_not_start, false) as is_did_not_start,
    coalesce(journeys.is_pending_decision, linked.source_feed = 'vcse') as is_pending_decision,
    coalesce(journeys.is_sustained_engagement, false) as is_sustained_engagement,
    coalesce(journeys.is_leaver, false) as is_leaver,
    journeys.is_planned_exit,
    recorded_job_starts.job_start_key is not null as has_recorded_job_start,
    recorded_job_starts.job_start_key is null and contradicted_job_starts.referral_key is not null
        as has_only_contradicted_recorded_job_start,
    coalesce(jobs.is_sustained_short, false) as is_recorded_job_sustained_short,
    coalesce(jobs.is_sustained_long, false) as is_recorded_job_sustained_long,
    benefits.is_linked_to_dwp,

    -- WorkWell (docs: workwell_journey, workwell_retention); null for VCSE referrals
    workwell.work_status_at_referral as workwell_work_status_at_referral,
    retention.retained_short_status,
    retention.retained_long_status,
    workwell.days_referral_to_return_to_work,
    workwell.days_start_to_return_to_work,
    workwell.support_plan_date,
    workwell.return_to_work_date,
    workwell.has_support_plan,
    workwell.is_off_sick_at_referral,
    retention.has_changed_employer,
    retention.is_retained_short_due,
    retention.is_retained_short,
    retention.is_retained_long_due,
    retention.is_retained_long
from linked
left join journeys on linked.referral_key = journeys.referral_key
left join episodes on linked.referral_key = episodes.referral_key
left join benefits on linked.referral_key = benefits.referral_key
left join recorded_job_starts on linked.referral_key = recorded_job_starts.referral_key
left join contradicted_job_starts on linked.referral_key = contradicted_job_starts.referral_key
left join jobs on recorded_job_starts.job_start_key = jobs.job_start_key
left join first_job_after_start on linked.referral_key = first_job_after_start.referral_key
left join workwell on linked.referral_key = workwell.referral_key
left join retention on linked.referral_key = retention.referral_key
