-- One row per delivery partner, feed, reporting month and hold reason with child rows held out of
-- the marts: rows whose parent referral is not in the warehouse (quarantined at ingest or never
-- sent), and job updates and payslips whose job is not known (hold_reason): the count the marts
-- leave out, so published figures never go silently short. Row-level detail for engineers:
-- intermediate.int_child_rows_held_for_missing_parent.
select
    partner_id || ':' || feed || ':' || reporting_period || ':' || hold_reason as partner_feed_month_key,
    partner_id,
    feed,
    reporting_period,
    hold_reason,
    count(*) as rows_held,
    count(distinct referral_key) filter (where hold_reason = 'parent_referral_not_in_warehouse')
        as missing_referrals
from {{ ref('int_child_rows_held_for_missing_parent') }}
group by partner_id, feed, reporting_period, hold_reason
