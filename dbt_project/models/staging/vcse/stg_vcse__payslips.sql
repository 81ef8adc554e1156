-- One row per payslip a VCSE partner has seen for a job it reported (pay date and gross amount),
-- keyed by the partner's job id (current file versions only).
with

source as (

    select * from {{ source('vcse', 'vcse_payslips') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as payslip_row_key,
        _partner_id || ':' || referral_id as referral_key,
        _partner_id || ':' || referral_id || ':' || job_id as partner_job_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- numerics
        cast(gross_pay_gbp as numeric) as gross_pay_gbp,

        -- dates
        cast(pay_date as date) as pay_date,
        _period as reporting_period,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
