-- One row per episode: a participant's continuous spell with a programme across partners (see
-- int_referrals_grouped_into_episodes for the re-referral rule). The start is the earliest start
-- of its referrals (assessment + agreed action plan), the exit the final exit, both decided once in
-- int_episode_spans_derived. The lead referral (first started, else first received) gives the
-- delivery partner, service variant and baseline characteristics. Job outcomes: the participant's
-- first job start (any evidence) from the start until var('outcome_followup_days_after_exit') days
-- after the exit (or the as-at date).
with

referrals as (

    select * from {{ ref('referrals') }}

),

jobs as (

    select * from {{ ref('int_job_starts_evaluated') }}
    where is_job_start and not is_before_first_referral

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

progression as (

    select referral_key, count(*) as progression_outcomes_count
    from {{ ref('int_progression_outcomes_derived') }}
    group by referral_key

),

in_work_at_as_at as (

    -- in work on the as-at date on the evidence: a continuous employment spell reaching it
    select distinct jobs_all.participant_id
    from {{ ref('int_job_starts_evaluated') }} as jobs_all
    cross join dates
    where jobs_all.job_start_date <= dates.as_at_date
        and jobs_all.continuous_end_date >= dates.as_at_date
        and not jobs_all.is_contradicted

),

aggregated as (

    select
        episode_key,
        participant_id,
        programme,
        min(referral_date) as first_referral_date,
        min(first_contact_date) as first_contact_date,
        bool_or(is_pending_decision) as has_pending_referral,
        count(*) as referrals_count,
        count(distinct partner_id) as partners_count,
        string_agg(distinct partner_id, ',' order by partner_id) as partners,
        bool_or(is_started) as is_started,
        bool_or(is_sustained_engagement) as is_sustained_engagement,
        sum(coalesce(progression.progression_outcomes_count, 0)) as progression_outcomes_count,
        sum(activities_count) as activities_count,
        (array_agg(referrals.referral_key order by (not is_started), start_date, referral_date, referrals.referral_key))[1]
            as lead_referral_key,
        -- WorkWell (docs: workwell_journey, workwell_retention)
        bool_or(coalesce(workwell_work_status_at_referral = 'in_work', false)) as is_workwell_in_work_at_referral,
        bool_or(coalesce(has_support_plan, false)) as has_support_plan,
        bool_or(coalesce(is_retained_short, false)) as is_retained_short,
        bool_or(coalesce(is_retained_long, false)) as is_retained_long,
        bool_or(coalesce(is_retained_short_due, false)) as is_retained_short_due,
        bool_or(coalesce(is_retained_long_due, false)) as is_retained_long_due,
        bool_or(coalesce(has_changed_employer, false)) as has_changed_employer,
        min(return_to_work_date) as return_to_work_date
    from referrals
    left join progression on referrals.referral_key = progression.referral_key
    group by episode_key, participant_id, programme

),

with_exit as (

    -- the episode's start and exit, decided once (int_episode_spans_derived)
    select
        aggregated.*,
        spans.start_date,
        spans.exit_date
    from aggregated
    inner join {{ ref('int_episode_spans_derived') }} as spans on aggregated.episode_key = spans.episode_key

),

attributed as (

    -- the job starts in each episode's outcome window (int_job_starts_attributed_to_spells)
    select * from {{ ref('int_job_starts_attributed_to_spells') }}
    where spell_level = 'episode'

),

episode_jobs as (

    select distinct on (with_exit.episode_key)
        with_exit.episode_key,
        jobs.*
    from with_exit
    inner join attributed
        on with_exit.episode_key = attributed.spell_key
        and attributed.is_job_start
    inner join jobs on attributed.job_start_key = jobs.job_start_key
    -- WorkWell participants in work at referral are measured by retention, not by a job start
    where with_exit.is_started and not with_exit.is_workwell_in_work_at_referral
    order by with_exit.episode_key, jobs.job_start_date, jobs.job_start_key

),

episode_contradicted_jobs as (

    -- job starts in the episode's outcome window that the DWP/HMRC evidence contradicts: reported
    -- beside the outcomes, never counted as one (int_job_starts_evaluated decides)
    select spell_key as episode_key, count(*) as contradicted_job_starts_count
    from attributed
    where is_contradicted and meets_job_start_hours_rule
    group by spell_key

)

select
    -- ids
    with_exit.episode_key,
    with_exit.participant_id,
    with_exit.lead_referral_key,
    lead.partner_id as lead_partner_id,
    episode_jobs.job_start_key as first_job_start_key,

    -- strings
    with_exit.programme,
    with_exit.partners,
    lead.service_variant,
    lead.referral_source,
    lead.priority_group,
    lead.main_condition,
    lead.economic_status as economic_status_at_referral,
    lead.economic_status_group as economic_status_group_at_referral,
    case when in_work_at_as_at.participant_id is not null then 'in_work' else 'not_in_work' end
        as economic_status_group_latest,
    lead.economic_status_group || '_to_'
        || case when in_work_at_as_at.participant_id is not null then 'in_work' else 'not_in_work' end
        as economic_status_change,
    lead.sex,
    lead.ethnic_group,
    lead.age_band_at_referral,
    lead.postcode_district,
    lead.borough,
    coalesce(lead.benefit_status_at_start, lead.benefit_status_at_referral) as benefit_status_at_start,
    episode_jobs.sustained_short_status,
    episode_jobs.sustained_long_status,
    episode_jobs.earnings_outcome_short_status,
    episode_jobs.earnings_outcome_long_status,
    episode_jobs.ips_threshold_status,

    -- numerics
    with_exit.referrals_count,
    with_exit.partners_count,
    with_exit.activities_count,
    with_exit.progression_outcomes_count,
    coalesce(episode_contradicted_jobs.contradicted_job_starts_count, 0) as contradicted_job_starts_count,
    with_exit.first_contact_date - with_exit.first_referral_date as days_referral_to_first_contact,
    with_exit.start_date - with_exit.first_referral_date as days_referral_to_start,
    episode_jobs.job_start_date - with_exit.start_date as days_start_to_first_job_start,

    -- dates
    with_exit.first_referral_date,
    date_trunc('month', with_exit.first_referral_date)::date as cohort_month,
    with_exit.first_contact_date,
    with_exit.start_date,
    with_exit.exit_date,
    episode_jobs.job_start_date as first_job_start_date,

    -- flags
    with_exit.is_started,
    with_exit.is_started and with_exit.exit_date is null as is_open,
    with_exit.is_sustained_engagement,
    episode_jobs.job_start_key is not null as has_job_start,
    coalesce(episode_jobs.is_sustained_short, false) as is_sustained_short,
    coalesce(episode_jobs.is_sustained_long, false) as is_sustained_long,
    coalesce(episode_jobs.is_sustained_short_due, false) as is_sustained_short_due,
    coalesce(episode_jobs.is_sustained_long_due, false) as is_sustained_long_due,
    coalesce(episode_jobs.is_earnings_outcome_short, false) as is_earnings_outcome_short,
    coalesce(episode_jobs.is_earnings_outcome_long, false) as is_earnings_outcome_long,
    coalesce(episode_jobs.is_earnings_outcome_short_due, false) as is_earnings_outcome_short_due,
    coalesce(episode_jobs.is_earnings_outcome_long_due, false) as is_earnings_outcome_long_due,
    coalesce(episode_jobs.is_ips_threshold_outcome, false) as is_ips_threshold_outcome,
    coalesce(episode_jobs.is_self_employment_start, false) as is_self_employment_start,
    with_exit.progression_outcomes_count > 0 as has_progression_outcome,
    lead.economic_status_group <> 'in_work' and in_work_at_as_at.participant_id is not null
        as has_moved_into_work,

    -- WorkWell (docs: workwell_journey, workwell_retention); null for the Trailblazer
    lead.workwell_work_status_at_referral,
    with_exit.return_to_work_date,
    with_exit.return_to_work_date - with_exit.start_date as days_start_to_return_to_work,
    with_exit.has_support_plan,
    with_exit.is_retained_short,
    with_exit.is_retained_long,
    with_exit.is_retained_short_due,
    with_exit.is_retained_long_due,
    with_exit.has_changed_employer
from with_exit
inner join referrals as lead on with_exit.lead_referral_key = lead.referral_key
left join episode_jobs on with_exit.episode_key = episode_jobs.episode_key
left join episode_contradicted_jobs on with_exit.episode_key = episode_contradicted_jobs.episode_key
left join in_work_at_as_at on with_exit.participant_id = in_work_at_as_at.participant_id
