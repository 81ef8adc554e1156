-- One row per VCSE referral and "moving closer to work" outcome achieved after the start
-- (volunteering, training or education, ESOL learning, job search, qualification gained including
-- ESOL), with its first date.
select
    outcomes.*,
    referrals.episode_key,
    referrals.service_variant
from {{ ref('int_progression_outcomes_derived') }} as outcomes
left join {{ ref('referrals') }} as referrals on outcomes.referral_key = referrals.referral_key
