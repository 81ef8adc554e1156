-- One row per delivery partner (and 'all') and wellbeing measure: participants with a baseline
-- and a follow-up, mean scores and change, and the statistic that applies to each measure:
--   meaningful improvement  WEMWBS, SWEMWBS, PHQ-9, GAD-7 (their thresholds; not ONS4)
--   reliable improvement    WEMWBS, PHQ-9, GAD-7 (reliable-change thresholds) and the
--                           'talking_therapies' row (NHS Talking Therapies rules)
--   cases, recovery         the 'talking_therapies' row only
-- A statistic that does not apply to a measure is null (not 0). Means are null for the
-- 'talking_therapies' row (two measures).
with

changes as (

    select * from {{ ref('wellbeing_change') }}
    where has_follow_up

)

select
    coalesce(partner_id, 'all') || ':' || measure as partner_measure_key,
    coalesce(partner_id, 'all') as partner_id,
    measure,
    count(*) as pairs,
    avg(baseline_score) as mean_baseline_score,
    avg(latest_score) as mean_latest_score,
    avg(score_change) as mean_score_change,
    {{ applicable_count('is_improved') }} as improved,
    {{ applicable_count('is_meaningful_improvement') }} as meaningfully_improved,
    {{ applicable_count('is_meaningful_deterioration') }} as meaningfully_deteriorated,
    {{ applicable_count('is_case_at_baseline') }} as cases_at_baseline,
    {{ applicable_count('is_recovered') }} as recovered,
    {{ applicable_count('is_reliably_improved') }} as reliably_improved,
    {{ applicable_count('is_reliably_deteriorated') }} as reliably_deteriorated,
    {{ applicable_count('is_reliably_recovered') }} as reliably_recovered,
    {{ safe_ratio(applicable_count('is_meaningful_improvement'), 'count(*)') }} as meaningful_improvement_rate,
    {{ safe_ratio(applicable_count('is_recovered'), applicable_count('is_case_at_baseline')) }} as recovery_rate,
    {{ safe_ratio(applicable_count('is_reliably_improved'), 'count(*)') }} as reliable_improvement_rate
from changes
group by grouping sets ((partner_id, measure), (measure))
