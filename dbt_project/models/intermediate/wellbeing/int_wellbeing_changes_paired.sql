-- One row per VCSE referral and wellbeing measure with a baseline: the baseline score, the latest
-- follow-up (review or exit) on or after it, and the change. Measures: wemwbs, swemwbs (metric
-- score), phq9, gad7, and the four ONS4 items separately. Plus one 'talking_therapies' row per
-- referral with PHQ-9 and GAD-7 at both points, applying the NHS Talking Therapies rules:
--   clinical case     PHQ-9 >= var('phq9_caseness_min') or GAD-7 >= var('gad7_caseness_min')
--   recovery          a case at baseline and below both thresholds at follow-up
--   reliable improvement  PHQ-9 falls by >= var('phq9_reliable_change') or GAD-7 by
--                     >= var('gad7_reliable_change'), and neither reliably deteriorates
--   reliable recovery recovery and reliable improvement
-- Meaningful change: WEMWBS var('wemwbs_meaningful_change') points, SWEMWBS
-- var('swemwbs_meaningful_change'), PHQ-9 / GAD-7 their reliable-change thresholds; ONS4 none.
-- Reliable improvement / deterioration per measure: WEMWBS var('wemwbs_reliable_change'), PHQ-9
-- var('phq9_reliable_change'), GAD-7 var('gad7_reliable_change'); null for SWEMWBS and ONS4 (no
-- sourced threshold), so summaries show null there, not 0.
with

scores as (

    select * from {{ ref('int_wellbeing_scores_computed') }}
    where is_complete

),

long as (

    select referral_key, participant_id, partner_id, instrument as measure, timepoint, completed_date, score
    from scores
    where instrument in ('wemwbs', 'swemwbs', 'phq9', 'gad7')
    {% for item in ['life_satisfaction', 'worthwhile', 'happy', 'anxious'] %}
    union all
    select referral_key, participant_id, partner_id, 'ons4_{{ item }}', timepoint, completed_date,
        ons4_{{ item }}
    from scores
    where instrument = 'ons4'
    {% endfor %}

),

baseline as (

    select distinct on (referral_key, measure) *
    from long
    where timepoint = 'baseline'
    order by referral_key, measure, completed_date

),

latest as (

    select distinct on (long.referral_key, long.measure) long.*
    from long
    inner join baseline
        on long.referral_key = baseline.referral_key
        and long.measure = baseline.measure
    where long.timepoint in ('review', 'exit')
        and long.completed_date >= baseline.completed_date
    order by long.referral_key asc, long.measure asc, long.completed_date desc,
        case long.timepoint when 'exit' then 0 else 1 end

),

paired as (

    select
        baseline.referral_key,
        baseline.participant_id,
        baseline.partner_id,
        baseline.measure,
        baseline.completed_date as baseline_date,
        latest.completed_date as latest_date,
        latest.timepoint as latest_timepoint,
        baseline.score::numeric as baseline_score,
        latest.score::numeric as latest_score,
        baseline.measure not in ('phq9', 'gad7', 'ons4_anxious') as is_higher_better,
        case baseline.measure
            when 'wemwbs' then {{ var('wemwbs_meaningful_change') }}
            when 'swemwbs' then {{ var('swemwbs_meaningful_change') }}
            when 'phq9' then {{ var('phq9_reliable_change') }}
            when 'gad7' then {{ var('gad7_reliable_change') }}
        end as meaningful_change_threshold,
        -- reliable change (individual level); null where no sourced threshold exists (SWEMWBS, ONS4)
        case baseline.measure
            when 'wemwbs' then {{ var('wemwbs_reliable_change') }}
            when 'phq9' then {{ var('phq9_reliable_change') }}
            when 'gad7' then {{ var('gad7_reliable_change') }}
        end as reliable_change_threshold
    from baseline
    left join latest
        on baseline.referral_key = latest.referral_key
        and baseline.measure = latest.measure

),

measured as (

    select
        *,
        latest_score - baseline_score as score_change,
        case when is_higher_better then 1 else -1 end * (latest_score - baseline_score) as improvement
    from paired

),

talking_therapies_scores as (

    -- PHQ-9 and GAD-7 side by side per referral (an aggregate, not a self-join: cheap and stable)
    select
        referral_key,
        participant_id,
        partner_id,
        min(baseline_date) as baseline_date,
        max(latest_date) as latest_date,
        max(latest_timepoint) as latest_timepoint,
        max(baseline_score) filter (where measure = 'phq9') as phq9_baseline,
        max(latest_score) filter (where measure = 'phq9') as phq9_latest,
        max(baseline_score) filter (where measure = 'gad7') as gad7_baseline,
        max(latest_score) filter (where measure = 'gad7') as gad7_latest
    from measured
    where measure in ('phq9', 'gad7') and latest_score is not null
    group by referral_key, participant_id, partner_id
    having count(distinct measure) = 2

),

talking_therapies as (

    select
        referral_key,
        participant_id,
        partner_id,
        baseline_date,
        latest_date,
        latest_timepoint,
        phq9_baseline >= {{ var('phq9_caseness_min') }}
            or gad7_baseline >= {{ var('gad7_caseness_min') }} as is_case_at_baseline,
        phq9_latest >= {{ var('phq9_caseness_min') }}
            or gad7_latest >= {{ var('gad7_caseness_min') }} as is_case_at_latest,
        phq9_baseline - phq9_latest >= {{ var('phq9_reliable_change') }}
            or gad7_baseline - gad7_latest >= {{ var('gad7_reliable_change') }} as has_reliable_fall,
        phq9_latest - phq9_baseline >= {{ var('phq9_reliable_change') }}
            or gad7_latest - gad7_baseline >= {{ var('gad7_reliable_change') }} as has_reliable_rise
    from talking_therapies_scores

)

select
    referral_key || ':' || measure as wellbeing_change_key,
    referral_key,
    participant_id,
    partner_id,
    measure,
    baseline_date,
    latest_date,
    latest_timepoint,
    baseline_score,
    latest_score,
    score_change,
    latest_score is not null as has_follow_up,
    improvement > 0 as is_improved,
    case when meaningful_change_threshold is not null then improvement >= meaningful_change_threshold end
        as is_meaningful_improvement,
    case when meaningful_change_threshold is not null then -improvement >= meaningful_change_threshold end
        as is_meaningful_deterioration,
    null::boolean as is_case_at_baseline,
    null::boolean as is_recovered,
    case when reliable_change_threshold is not null then improvement >= reliable_change_threshold end
        as is_reliably_improved,
    case when reliable_change_threshold is not null then -improvement >= reliable_change_threshold end
        as is_reliably_deteriorated,
    null::boolean as is_reliably_recovered
from measured

union all

select
    referral_key || ':talking_therapies',
    referral_key,
    participant_id,
    partner_id,
    'talking_therapies',
    baseline_date,
    latest_date,
    latest_timepoint,
    null, null, null,
    true,
    null, null, null,
    is_case_at_baseline,
    is_case_at_baseline and not is_case_at_latest,
    has_reliable_fall and not has_reliable_rise,
    has_reliable_rise,
    is_case_at_baseline and not is_case_at_latest and has_reliable_fall and not has_reliable_rise
from talking_therapies
