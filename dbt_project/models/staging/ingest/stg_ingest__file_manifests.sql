-- One row per file received by `worklink ingest`, with its outcome and row counts.
with

source as (

    select * from {{ source('ingest', 'file_manifest') }}

),

renamed as (

    select
        -- ids
        file_id,
        partner_id,
        feed,
        contract_key,

        -- strings
        status as file_status,
        rejection_rule,

        -- numerics
        rows_in,
        rows_loaded,
        rows_quarantined,
        rows_warned,
        key_field_completeness,

        -- dates
        period as reporting_period,
        received_at,
        due_at,

        -- flags
        is_current,
        status in ('loaded', 'loaded_with_quarantine') as is_loaded,
        status = 'rejected' as is_rejected,
        coalesce(is_late, false) as is_late

    from source

)

select * from renamed
