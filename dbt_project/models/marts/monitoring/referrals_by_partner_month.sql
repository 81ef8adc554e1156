-- Referrals received, one row per VCSE delivery partner and calendar month of referral.
-- Kept with these columns for the nightly end-to-end check against the generator's truth.
with

referrals as (

    select * from {{ ref('referrals') }}
    where source_feed = 'vcse'

),

by_partner_month as (

    select
        partner_id,
        to_char(referral_month, 'YYYY-MM') as referral_month,
        count(*) as referrals,
        count(*) filter (where is_eligible) as eligible_referrals
    from referrals
    group by 1, 2

)

select
    partner_id || ':' || referral_month as partner_month_key,
    *
from by_partner_month
