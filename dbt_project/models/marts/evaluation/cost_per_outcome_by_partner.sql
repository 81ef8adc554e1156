-- One row per delivery partner: grant (seed partner_grants) divided by the partner's starts, job
-- starts and jobs sustained 13 and 26 weeks, each outcome counted once (docs: cost_per_outcome):
--   starts      the partner's started episodes (a re-referral to the partner inside the episode's
--               re-referral window is the same start)
--   job starts  participant-level jobs that count (int_job_starts_evaluated: meet the hours rule,
--               not contradicted) that the partner recorded, each attributed to its first claimant
--               only (docs: duplicate_claim_attribution), so a job two partners claim is counted once
--   contradicted_job_starts: jobs attributed to the partner that the DWP/HMRC evidence
--               contradicts, reported beside the outcomes and never in a cost
-- The ICB has no start or job feed, so its costs are null.
with

grants as (

    select partner_id, sum(grant_amount_gbp) as grant_amount_gbp
    from {{ ref('partner_grants') }}
    group by partner_id

),

starts as (

    select partner_id, count(distinct episode_key) as starts
    from {{ ref('referrals') }}
    where is_started
    group by partner_id

),

jobs as (

    select
        attributed_partner_id as partner_id,
        count(*) filter (where is_job_start) as job_starts,
        count(*) filter (where is_sustained_short) as sustained_short,
        count(*) filter (where is_sustained_long) as sustained_long,
        count(*) filter (where is_contradicted and meets_job_start_hours_rule) as contradicted_job_starts
    from {{ ref('job_outcomes') }}
    where attributed_partner_id is not null
    group by attributed_partner_id

),

counts as (

    select
        grants.partner_id,
        coalesce(starts.starts, 0)::numeric as starts,
        coalesce(jobs.job_starts, 0)::numeric as job_starts,
        coalesce(jobs.sustained_short, 0)::numeric as sustained_short,
        coalesce(jobs.sustained_long, 0)::numeric as sustained_long,
        coalesce(jobs.contradicted_job_starts, 0)::numeric as contradicted_job_starts
    from grants
    left join starts on grants.partner_id = starts.partner_id
    left join jobs on grants.partner_id = jobs.partner_id

)

select
    grants.partner_id,
    grants.grant_amount_gbp,
    counts.starts,
    counts.job_starts,
    counts.sustained_short,
    counts.sustained_long,
    counts.contradicted_job_starts,
    grants.grant_amount_gbp / nullif(counts.starts, 0) as cost_per_start_gbp,
    grants.grant_amount_gbp / nullif(counts.job_starts, 0) as cost_per_job_start_gbp,
    grants.grant_amount_gbp / nullif(counts.sustained_short, 0) as cost_per_sustained_short_gbp,
    grants.grant_amount_gbp / nullif(counts.sustained_long, 0) as cost_per_sustained_long_gbp
from grants
inner join counts on grants.partner_id = counts.partner_id
