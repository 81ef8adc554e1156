-- One row per WorkWell fit-note change (current file versions only): a new fit note (not_fit,
-- may_be_fit) or the end of sickness absence (fit_for_work, returned_to_work).
with

source as (

    select * from {{ source('icb', 'nhs_workwell_fit_notes') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _partner_id || ':' || ww_fit_note_id as fit_note_key,
        _partner_id || ':' || ww_referral_id as referral_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        fit_note_status,

        -- dates
        cast(change_date as date) as change_date,
        _period as reporting_period,

        -- flags
        fit_note_status in ('fit_for_work', 'returned_to_work') as is_return_to_work,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
