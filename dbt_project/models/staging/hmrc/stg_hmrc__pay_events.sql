-- One row per RTI pay event from the HMRC extract (current deliveries only).
with

source as (

    select * from {{ source('hmrc', 'hmrc_pay_events') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as pay_event_key,
        'hmrc:' || nino_token as source_record_key,
        nino_token,
        employer_ref,
        _file_id as file_id,

        -- strings
        pay_frequency,
        hours_band,

        -- numerics
        cast(gross_pay_gbp as numeric(12, 2)) as gross_pay_gbp,

        -- dates
        cast(payment_date as date) as payment_date,
        cast(employment_start_date as date) as employment_start_date,
        cast(employment_end_date as date) as employment_end_date,
        _period as reporting_period,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
