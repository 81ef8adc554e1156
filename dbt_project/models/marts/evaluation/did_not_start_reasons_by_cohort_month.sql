-- One row per delivery partner (the VCSE partners and the WorkWell service), cohort month and
-- did-not-start reason.
select
    partner_id || ':' || to_char(referral_month, 'YYYY-MM') || ':' || coalesce(did_not_start_reason, 'not_recorded')
        as partner_cohort_reason_key,
    partner_id,
    referral_month as cohort_month,
    coalesce(did_not_start_reason, 'not_recorded') as did_not_start_reason,
    count(*) as did_not_start
from {{ ref('referrals') }}
where source_feed in ('vcse', 'icb') and is_did_not_start
group by 1, 2, 3, 4
