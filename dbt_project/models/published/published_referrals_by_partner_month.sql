-- Published referrals received: one row per delivery partner (or 'all'), month (or 'all') and measure.
with

totals as (

    select
        coalesce(partner_id, 'all') as partner_id,
        coalesce(referral_month, 'all') as referral_month,
        sum(referrals) as referrals,
        sum(eligible_referrals) as eligible_referrals
    from {{ ref('referrals_by_partner_month') }}
    group by grouping sets ((partner_id, referral_month), (partner_id), (referral_month), ())

),

cells as (

    {{ sdc_cells('totals', ['partner_id', 'referral_month'], counts=['referrals', 'eligible_referrals']) }}

),

{{ disclosure_control('cells', dims=['partner_id', 'referral_month'], margins=['partner_id', 'referral_month']) }}
