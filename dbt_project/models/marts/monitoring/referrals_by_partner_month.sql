-- Referrals received, one row per delivery partner and calendar month of referral.
with

referrals as (

    select * from {{ ref('stg_vcse__referrals') }}

),

by_partner_month as (

    select
        partner_id,
        to_char(date_trunc('month', referral_date), 'YYYY-MM') as referral_month,
        count(*) as referrals,
        count(*) filter (where is_eligible) as eligible_referrals
    from referrals
    group by 1, 2

)

select
    partner_id || ':' || referral_month as partner_month_key,
    *
from by_partner_month
