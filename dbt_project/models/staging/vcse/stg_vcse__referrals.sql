-- One row per referral as submitted by a VCSE partner (current file versions only).
with

source as (

    select * from {{ source('vcse', 'vcse_referrals') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _partner_id || ':' || referral_id as referral_key,
        _partner_id as partner_id,
        referral_id as partner_referral_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- pseudonym tokens (keyed HMACs; never the identifiers themselves)
        nhs_number_token,
        ni_number_token,
        name_dob_token,

        -- strings
        sex,
        ethnicity,
        referral_source,
        priority_group,
        main_condition,
        economic_status,
        service_variant,
        ineligible_reason,

        -- numerics
        cast(carer_hours_per_week as numeric) as carer_hours_per_week,

        -- dates
        cast(referral_date as date) as referral_date,
        _period as reporting_period,

        -- flags
        eligible = 'Y' as is_eligible,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
