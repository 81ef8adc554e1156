-- One row per WorkWell contact (Work and Health Coach session or intervention), current file
-- versions only.
with

source as (

    select * from {{ source('icb', 'nhs_workwell_contacts') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _partner_id || ':' || ww_contact_id as contact_key,
        _partner_id || ':' || ww_referral_id as referral_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        contact_mode,
        contact_type,

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
