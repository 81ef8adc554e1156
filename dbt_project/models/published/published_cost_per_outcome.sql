-- Published cost per outcome: one row per delivery partner (or 'all' VCSE partners) and measure.
-- Grants are not about individuals and are shown as they are; a cost per outcome is suppressed
-- when its outcome count is under var('sdc_min_base') or suppressed.
with

source as (

    select * from {{ ref('cost_per_outcome_by_partner') }}

),

totals as (

    select partner_id, grant_amount_gbp, starts, job_starts, sustained_short, sustained_long,
        contradicted_job_starts, cost_per_start_gbp, cost_per_job_start_gbp, cost_per_sustained_short_gbp,
        cost_per_sustained_long_gbp
    from source
    union all
    -- all VCSE partners (the ICB grant buys no recorded starts, so it would distort the ratios)
    select 'all', sum(grant_amount_gbp), sum(starts), sum(job_starts), sum(sustained_short),
        sum(sustained_long), sum(contradicted_job_starts),
        sum(grant_amount_gbp) / nullif(sum(starts), 0),
        sum(grant_amount_gbp) / nullif(sum(job_starts), 0),
        sum(grant_amount_gbp) / nullif(sum(sustained_short), 0),
        sum(grant_amount_gbp) / nullif(sum(sustained_long), 0)
    from source
    where starts > 0

),

cells as (

    {{ sdc_cells('totals', ['partner_id'],
        counts=['starts', 'job_starts', 'sustained_short', 'sustained_long', 'contradicted_job_starts'],
        ratios={
            'cost_per_start_gbp': (none, 'starts', 'money_per_outcome'),
            'cost_per_job_start_gbp': (none, 'job_starts', 'money_per_outcome'),
            'cost_per_sustained_short_gbp': (none, 'sustained_short', 'money_per_outcome'),
            'cost_per_sustained_long_gbp': (none, 'sustained_long', 'money_per_outcome'),
        },
        money=['grant_amount_gbp']) }}

),

{{ disclosure_control('cells', dims=['partner_id'], margins=['partner_id']) }}
