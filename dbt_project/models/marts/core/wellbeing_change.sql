-- One row per VCSE referral and wellbeing measure: baseline score, latest follow-up and change,
-- scored in the warehouse (int_wellbeing_scores_computed), plus the NHS Talking Therapies
-- recovery and reliable-improvement row ('talking_therapies') where PHQ-9 and GAD-7 were used.
-- The PHQ-9 item-9 safeguarding flag is deliberately not carried here.
select
    changes.*,
    referrals.episode_key,
    referrals.service_variant
from {{ ref('int_wellbeing_changes_paired') }} as changes
left join {{ ref('referrals') }} as referrals on changes.referral_key = referrals.referral_key
