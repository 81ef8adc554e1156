-- Published did-not-start reasons: one row per delivery partner (or 'all'), reason (or 'all') and
-- measure, over all cohort months (monthly reason counts would be almost all suppressed).
with

totals as (

    select
        coalesce(partner_id, 'all') as partner_id,
        coalesce(did_not_start_reason, 'all') as did_not_start_reason,
        sum(did_not_start) as did_not_start
    from {{ ref('did_not_start_reasons_by_cohort_month') }}
    group by grouping sets ((partner_id, did_not_start_reason), (partner_id), (did_not_start_reason), ())

),

cells as (

    {{ sdc_cells('totals', ['partner_id', 'did_not_start_reason'], counts=['did_not_start']) }}

),

{{ disclosure_control('cells', dims=['partner_id', 'did_not_start_reason'],
                      margins=['partner_id', 'did_not_start_reason']) }}
