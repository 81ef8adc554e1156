-- The WorkWell funnel, at episode grain (docs: workwell_funnel): one row per work status at
-- referral ('in_work': off sick or at risk of falling out of work; 'out_of_work': left work
-- recently) and cohort month (the month of the episode's first referral). Stages are nested, each
-- a subset of the one before, so no rate can exceed 1:
--   referred > started (assessed by a Work and Health Coach) > support plan agreed > outcome
--   outcome, out of work at referral: a job start (any evidence, as for the Trailblazer)
--   outcome, in work at referral:     retained in work 13 / 26 weeks (docs: workwell_retention),
--                                     counted among those whose window is over ("due")
-- started, did_not_start and pending_decision partition the referred; returned_to_work counts
-- people off sick at referral whose fit-note changes show a return to work.
with

episodes as (

    select * from {{ ref('episodes') }}
    where programme = 'workwell_bwd'

),

referrals as (

    -- referral-level states of each episode (pending / did-not-start are not on the episode)
    select
        episode_key,
        bool_or(is_pending_decision) as is_pending_decision,
        bool_or(is_did_not_start) as is_did_not_start
    from {{ ref('referrals') }}
    where programme = 'workwell_bwd'
    group by episode_key

),

staged as (

    select
        episodes.workwell_work_status_at_referral as work_status_at_referral,
        episodes.cohort_month,
        episodes.is_started,
        not episodes.is_started and coalesce(referrals.is_pending_decision, false) as is_pending,
        not episodes.is_started and not coalesce(referrals.is_pending_decision, false)
            and coalesce(referrals.is_did_not_start, false) as is_dns,
        episodes.is_started and coalesce(episodes.has_support_plan, false) as is_support_plan,
        episodes.has_job_start,
        coalesce(episodes.is_retained_short_due, false) as is_retained_short_due,
        coalesce(episodes.is_retained_short, false) as is_retained_short,
        coalesce(episodes.is_retained_long_due, false) as is_retained_long_due,
        coalesce(episodes.is_retained_long, false) as is_retained_long,
        episodes.return_to_work_date is not null as has_returned_to_work,
        episodes.is_started and episodes.exit_date is not null as has_left
    from episodes
    left join referrals on episodes.episode_key = referrals.episode_key

),

counted as (

    select
        work_status_at_referral,
        cohort_month,
        count(*) as referred,
        count(*) filter (where is_started) as started,
        count(*) filter (where is_dns) as did_not_start,
        count(*) filter (where is_pending) as pending_decision,
        count(*) filter (where is_support_plan) as support_plan,
        -- the job-start base: support plans of people out of work at referral (in work: retention)
        count(*) filter (where is_support_plan and work_status_at_referral = 'out_of_work')
            as support_plan_out_of_work,
        count(*) filter (where is_support_plan and work_status_at_referral = 'out_of_work' and has_job_start)
            as job_start,
        count(*) filter (where is_started and not is_support_plan and has_job_start) as job_start_outside_funnel,
        count(*) filter (where is_support_plan and is_retained_short_due) as retained_short_due,
        count(*) filter (where is_support_plan and is_retained_short) as retained_short,
        count(*) filter (where is_support_plan and is_retained_long_due) as retained_long_due,
        count(*) filter (where is_support_plan and is_retained_long) as retained_long,
        count(*) filter (where is_started and has_returned_to_work) as returned_to_work,
        count(*) filter (where has_left) as left_programme
    from staged
    group by work_status_at_referral, cohort_month

)

select
    work_status_at_referral || ':' || to_char(cohort_month, 'YYYY-MM') as work_status_cohort_key,
    *,
    {{ safe_ratio('started', 'referred') }} as start_rate,
    {{ safe_ratio('support_plan', 'started') }} as support_plan_rate,
    {{ safe_ratio('job_start', 'support_plan_out_of_work') }} as job_start_rate,
    {{ safe_ratio('retained_short', 'retained_short_due') }} as retained_short_rate,
    {{ safe_ratio('retained_long', 'retained_long_due') }} as retained_long_rate,
    {{ safe_ratio('left_programme', 'started') }} as leaver_rate
from counted
