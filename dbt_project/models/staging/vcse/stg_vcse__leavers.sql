-- One row per participant leaving a VCSE partner's programme (current file versions only).
with

source as (

    select * from {{ source('vcse', 'vcse_leavers') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as leaver_row_key,
        _partner_id || ':' || referral_id as referral_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        leaver_reason,
        -- none | esol | other (contracts/_code_lists.yml); null when the partner left it empty
        qualification_gained,

        -- dates
        cast(exit_date as date) as exit_date,
        _period as reporting_period,

        -- flags
        planned_exit = 'Y' as is_planned_exit,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
