-- One row per NHS/ICB WorkWell referral (current file versions only).
with

source as (

    select * from {{ source('icb', 'nhs_workwell_referrals') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _partner_id || ':' || ww_referral_id as referral_key,
        _partner_id as partner_id,
        ww_referral_id as partner_referral_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- pseudonym tokens
        nhs_number_token,
        name_dob_token,

        -- strings
        sex,
        gp_practice_code,
        referral_source,
        main_condition,
        fit_note_status,
        employment_status_at_referral as economic_status,

        -- dates
        cast(referral_date as date) as referral_date,
        _period as reporting_period,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
