-- Published payment-by-results summary: one row per delivery partner (or 'all'), claimed outcome
-- type, verification status (or 'all') and measure (claims; duplicate claims, i.e. claims of an
-- outcome another partner claimed first for the same participant).
with

totals as (

    select
        coalesce(partner_id, 'all') as partner_id,
        outcome_type,
        coalesce(verification_status, 'all') as verification_status,
        count(*) as claims,
        count(*) filter (where is_duplicate_claim) as duplicate_claims
    from {{ ref('payment_by_results_claims') }}
    group by grouping sets (
        (partner_id, outcome_type, verification_status), (partner_id, outcome_type),
        (outcome_type, verification_status), (outcome_type))

),

cells as (

    {{ sdc_cells('totals', ['partner_id', 'outcome_type', 'verification_status'],
        counts=['claims', 'duplicate_claims']) }}

),

{{ disclosure_control('cells', dims=['partner_id', 'outcome_type', 'verification_status'],
                      margins=['partner_id', 'verification_status']) }}
