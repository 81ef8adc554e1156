-- One row per person (NINo token) per benefit month from the DWP extract (current deliveries only).
with

source as (

    select * from {{ source('dwp', 'dwp_benefit_months') }}
    where _is_current

),

renamed as (

    select
        -- ids
        nino_token || ':' || month as benefit_month_key,
        'dwp:' || nino_token as source_record_key,
        nino_token,
        _file_id as file_id,

        -- strings
        uc_conditionality_regime,
        esa_group,

        -- dates
        to_date(month || '-01', 'YYYY-MM-DD') as benefit_month,
        _period as reporting_period,

        -- flags
        uc_claimant = 'Y' as is_uc_claimant,
        esa_claimant = 'Y' as is_esa_claimant,
        pip_claimant = 'Y' as is_pip_claimant,
        carers_allowance = 'Y' as is_carers_allowance_claimant,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
