-- One row per completed wellbeing questionnaire, scored in the warehouse from item responses
-- (partners' own totals are never used):
--   WEMWBS   14 items 1-5, total 14-70
--   SWEMWBS  7 items 1-5, raw 7-35 converted to the metric score with the official table (seed)
--   ONS4     four 0-10 items kept separate (life satisfaction, worthwhile, happy, anxious)
--   PHQ-9    9 items 0-3, total 0-27, severity band (seed); caseness >= var('phq9_caseness_min')
--   GAD-7    7 items 0-3, total 0-21, severity band (seed); caseness >= var('gad7_caseness_min')
-- A score needs every item answered and in range; otherwise is_complete is false and the score null.
-- is_phq9_item9_positive feeds the safeguarding workflow only: it is never carried into a mart.
with

responses as (

    -- a resubmitted copy of the same questionnaire keeps the latest file's row
    select distinct on (referral_key, instrument, timepoint, completed_date)
        *,
        array[
            item_01, item_02, item_03, item_04, item_05, item_06, item_07,
            item_08, item_09, item_10, item_11, item_12, item_13, item_14
        ] as items
    from {{ ref('stg_vcse__wellbeing_responses') }}
    order by referral_key asc, instrument asc, timepoint asc, completed_date asc, file_id desc, source_row_number desc

),

instruments as (

    select * from (values
        ('wemwbs', 14, 1, 5),
        ('swemwbs', 7, 1, 5),
        ('ons4', 4, 0, 10),
        ('phq9', 9, 0, 3),
        ('gad7', 7, 0, 3)
    ) as spec (instrument, item_count, item_min, item_max)

),

referrals as (

    select referral_key, participant_id from {{ ref('int_referrals_linked_to_participants') }}

),

counted as (

    select
        responses.referral_key,
        responses.partner_id,
        responses.instrument,
        responses.timepoint,
        responses.completed_date,
        responses.items,
        instruments.item_count,
        (select count(*) from unnest(responses.items[1:instruments.item_count]) as item
            where item between instruments.item_min and instruments.item_max) as items_answered,
        (select sum(item) from unnest(responses.items[1:instruments.item_count]) as item) as item_sum
    from responses
    inner join instruments on responses.instrument = instruments.instrument

),

scored as (

    select
        counted.referral_key || ':' || counted.instrument || ':' || counted.timepoint || ':'
            || counted.completed_date as wellbeing_response_key,
        counted.referral_key,
        coalesce(referrals.participant_id, 'unlinked:' || counted.referral_key) as participant_id,
        counted.partner_id,
        counted.instrument,
        counted.timepoint,
        counted.completed_date,
        counted.items_answered,
        counted.items_answered = counted.item_count as is_complete,
        case when counted.items_answered = counted.item_count then counted.item_sum end as raw_total,
        case
            when counted.items_answered < counted.item_count then null
            when counted.instrument = 'swemwbs' then conversion.metric_score
            when counted.instrument in ('wemwbs', 'phq9', 'gad7') then counted.item_sum
        end as score,
        case when counted.instrument = 'ons4' then counted.items[1] end as ons4_life_satisfaction,
        case when counted.instrument = 'ons4' then counted.items[2] end as ons4_worthwhile,
        case when counted.instrument = 'ons4' then counted.items[3] end as ons4_happy,
        case when counted.instrument = 'ons4' then counted.items[4] end as ons4_anxious,
        case
            when counted.instrument = 'phq9' and counted.items_answered = counted.item_count
                then counted.item_sum >= {{ var('phq9_caseness_min') }}
            when counted.instrument = 'gad7' and counted.items_answered = counted.item_count
                then counted.item_sum >= {{ var('gad7_caseness_min') }}
        end as is_above_caseness_threshold,
        counted.instrument = 'phq9' and coalesce(counted.items[9], 0) > 0 as is_phq9_item9_positive
    from counted
    -- a response whose referral is not in the warehouse (parent quarantined) is held out and
    -- counted in int_child_rows_held_for_missing_parent
    inner join referrals on counted.referral_key = referrals.referral_key
    left join {{ ref('swemwbs_conversion') }} as conversion
        on counted.instrument = 'swemwbs' and counted.item_sum = conversion.raw_score

)

select
    scored.*,
    bands.severity_band
from scored
left join {{ ref('clinical_severity_bands') }} as bands
    on scored.instrument = bands.instrument
    and scored.raw_total between bands.min_score and bands.max_score
