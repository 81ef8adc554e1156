-- One row per WorkWell start row (current file versions only): the Work and Health Coach's first
-- assessment (the WorkWell start), the support plan agreed, and the work status confirmed at the
-- assessment; or a did-not-start decision (no assessment date, a reason).
with

source as (

    select * from {{ source('icb', 'nhs_workwell_starts') }}
    where _is_current

),

renamed as (

    select
        -- ids
        _file_id || ':' || _source_row_number as start_row_key,
        _partner_id || ':' || ww_referral_id as referral_key,
        _partner_id as partner_id,
        _file_id as file_id,
        _source_row_number as source_row_number,

        -- strings
        -- in_work | out_of_work (contracts/_code_lists.yml workwell_work_status)
        work_status_at_assessment,
        employment_status_at_assessment,
        did_not_start_reason,

        -- dates
        cast(assessment_date as date) as assessment_date,
        cast(support_plan_date as date) as support_plan_date,
        _period as reporting_period,

        -- flags
        assessment_date is not null as is_assessed,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
