-- One row per change to a job a VCSE partner reported in an earlier month (job ended, hours
-- changed, pay changed), keyed by the partner's job id (current file versions only).
with

source as (

    select * from {{ source('vcse', 'vcse_job_updates') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as job_update_row_key,
        _partner_id || ':' || referral_id as referral_key,
        _partner_id || ':' || referral_id || ':' || job_id as partner_job_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        update_type,

        -- numerics
        cast(hours_per_week as numeric) as hours_per_week,
        cast(hourly_pay_gbp as numeric) as hourly_pay_gbp,

        -- dates
        cast(effective_date as date) as effective_date,
        _period as reporting_period,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
