-- One row per contact or activity delivered by a VCSE partner (current file versions only).
with

source as (

    select * from {{ source('vcse', 'vcse_activities') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _partner_id || ':' || activity_id as activity_key,
        _partner_id || ':' || referral_id as referral_key,
        _partner_id as partner_id,
        activity_id as partner_activity_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        contact_mode,
        activity_type,

        -- numerics
        cast(duration_minutes as integer) as duration_minutes,

        -- dates
        cast(contact_date as date) as contact_date,
        _period as reporting_period,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
