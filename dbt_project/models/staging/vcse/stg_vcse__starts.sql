-- One row per start or did-not-start decision as submitted (current file versions only).
-- A start is an assessment meeting with an agreed action plan (ESF/DWP definition).
with

source as (

    select * from {{ source('vcse', 'vcse_starts') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as start_decision_row_key,
        _partner_id || ':' || referral_id as referral_key,
        _partner_id as partner_id,
        referral_id as partner_referral_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        did_not_start_reason,

        -- dates
        cast(first_contact_date as date) as first_contact_date,
        cast(start_date as date) as start_date,
        _period as reporting_period,

        -- flags
        start_date is not null as is_start,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
