-- One row per wellbeing questionnaire with its item responses (current file versions only).
-- Scores are computed downstream (int_wellbeing_scores_computed), never taken from partners.
with

source as (

    select * from {{ source('vcse', 'vcse_wellbeing') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as response_row_key,
        _partner_id || ':' || referral_id as referral_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        instrument,
        timepoint,

        -- numerics
        {% for i in range(1, 15) -%}
        cast(item_{{ '%02d' % i }} as integer) as item_{{ '%02d' % i }},
        {% endfor %}

        -- dates
        cast(completed_date as date) as completed_date,
        _period as reporting_period,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
