-- One row per delivery partner: grant (seed partner_grants) divided by the partner's starts,
-- recorded job starts and sustained outcomes (jobs sustained 13 and 26 weeks). Partner-attributed
-- counts as in funnel_by_cohort_month; the ICB has no start or job feed, so its costs are null.
with

grants as (

    select partner_id, sum(grant_amount_gbp) as grant_amount_gbp
    from {{ ref('partner_grants') }}
    group by partner_id

),

counts as (

    select
        partner_id,
        sum(started) as starts,
        sum(job_start) as job_starts,
        sum(sustained_13_weeks) as sustained_13_weeks,
        sum(sustained_26_weeks) as sustained_26_weeks
    from {{ ref('funnel_by_cohort_month') }}
    group by partner_id

)

select
    grants.partner_id,
    grants.grant_amount_gbp,
    coalesce(counts.starts, 0) as starts,
    coalesce(counts.job_starts, 0) as job_starts,
    coalesce(counts.sustained_13_weeks, 0) as sustained_13_weeks,
    coalesce(counts.sustained_26_weeks, 0) as sustained_26_weeks,
    grants.grant_amount_gbp / nullif(counts.starts, 0) as cost_per_start_gbp,
    grants.grant_amount_gbp / nullif(counts.job_starts, 0) as cost_per_job_start_gbp,
    grants.grant_amount_gbp / nullif(counts.sustained_13_weeks, 0) as cost_per_sustained_13_weeks_gbp,
    grants.grant_amount_gbp / nullif(counts.sustained_26_weeks, 0) as cost_per_sustained_26_weeks_gbp
from grants
left join counts on grants.partner_id = counts.partner_id
