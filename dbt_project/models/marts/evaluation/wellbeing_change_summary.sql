-- One row per delivery partner (and 'all') and wellbeing measure: participants with a baseline
-- and a follow-up, mean scores and change, and how many improved by a meaningful amount; for the
-- 'talking_therapies' measure, clinical cases at baseline, recovery and reliable improvement
-- (NHS Talking Therapies rules).
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
    count(*) filter (where is_improved) as improved,
    count(*) filter (where is_meaningful_improvement) as meaningfully_improved,
    count(*) filter (where is_meaningful_deterioration) as meaningfully_deteriorated,
    count(*) filter (where is_case_at_baseline) as cases_at_baseline,
    count(*) filter (where is_recovered) as recovered,
    count(*) filter (where is_reliably_improved) as reliably_improved,
    count(*) filter (where is_reliably_recovered) as reliably_recovered,
    {{ safe_ratio('count(*) filter (where is_meaningful_improvement)', 'count(*)') }} as meaningful_improvement_rate,
    {{ safe_ratio('count(*) filter (where is_recovered)', 'count(*) filter (where is_case_at_baseline)') }}
        as recovery_rate,
    {{ safe_ratio('count(*) filter (where is_reliably_improved)', 'count(*)') }} as reliable_improvement_rate
from changes
group by grouping sets ((partner_id, measure), (measure))
