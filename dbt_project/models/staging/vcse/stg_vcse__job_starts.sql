-- One row per job start recorded by a VCSE partner (current file versions only).
with

source as (

    select * from {{ source('vcse', 'vcse_job_starts') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as job_start_row_key,
        _partner_id || ':' || referral_id as referral_key,
        -- null when the row has no job id
        _partner_id || ':' || referral_id || ':' || nullif(job_id, '') as partner_job_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- the partner's own id of the job (quoted by job_updates and payslips rows); null in files
        -- that predate the column
        nullif(job_id, '') as job_id,

        -- strings
        evidence_type,

        -- numerics
        cast(hours_per_week as numeric) as hours_per_week,
        cast(hourly_pay_gbp as numeric) as hourly_pay_gbp,

        -- dates
        cast(job_start_date as date) as job_start_date,
        cast(job_end_date as date) as job_end_date,
        _period as reporting_period,

        -- flags
        coalesce(self_employed = 'Y', false) as is_self_employed,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
