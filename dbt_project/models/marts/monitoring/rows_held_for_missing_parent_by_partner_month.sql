-- One row per delivery partner, feed and reporting month with child rows held out of the marts
-- because their parent referral is not in the warehouse (quarantined at ingest or never sent): the
-- count the marts leave out, so published figures never go silently short. Row-level detail for
-- engineers: intermediate.int_child_rows_held_for_missing_parent.
select
    partner_id || ':' || feed || ':' || reporting_period as partner_feed_month_key,
    partner_id,
    feed,
    reporting_period,
    count(*) as rows_held,
    count(distinct referral_key) as missing_referrals
from {{ ref('int_child_rows_held_for_missing_parent') }}
group by partner_id, feed, reporting_period
