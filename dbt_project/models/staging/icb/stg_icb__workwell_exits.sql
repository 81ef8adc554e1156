-- One row per WorkWell exit from support, with its reason (current file versions only).
with

source as (

    select * from {{ source('icb', 'nhs_workwell_exits') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as exit_row_key,
        _partner_id || ':' || ww_referral_id as referral_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        exit_reason,
        work_status_at_exit,

        -- dates
        cast(exit_date as date) as exit_date,
        _period as reporting_period,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
