-- One row per programme referral (VCSE partners and the ICB WorkWell feed) with the participant
-- it belongs to. The participant comes from linkage.participant_xref; a referral the linkage has
-- not (yet) placed becomes its own provisional participant 'unlinked:<referral_key>' so it is
-- still counted, and is_linked says so. Resubmitted copies of a referral keep the latest file's row.
with

vcse_referrals as (

    select distinct on (referral_key)
        referral_key,
        partner_id,
        partner_referral_id,
        'vcse' as source_feed,
        referral_date,
        referral_source,
        priority_group,
        main_condition,
        economic_status,
        service_variant,
        is_eligible,
        ineligible_reason,
        carer_hours_per_week,
        sex as recorded_sex,
        ethnicity,
        null::text as fit_note_status,
        nhs_number_token,
        ni_number_token,
        reporting_period
    from {{ ref('stg_vcse__referrals') }}
    order by referral_key asc, file_id desc, source_row_number desc

),

icb_referrals as (

    select distinct on (referral_key)
        referral_key,
        partner_id,
        partner_referral_id,
        'icb' as source_feed,
        referral_date,
        referral_source,
        -- WorkWell does not record a priority group; the condition is its main barrier
        null::text as priority_group,
        main_condition,
        economic_status,
        null::text as service_variant,
        null::boolean as is_eligible,
        null::text as ineligible_reason,
        null::numeric as carer_hours_per_week,
        sex as recorded_sex,
        null::text as ethnicity,
        fit_note_status,
        nhs_number_token,
        null::text as ni_number_token,
        reporting_period
    from {{ ref('stg_icb__workwell_referrals') }}
    order by referral_key asc, file_id desc, source_row_number desc

),

referrals as (

    select * from vcse_referrals
    union all
    select * from icb_referrals

),

partners as (

    select * from {{ ref('delivery_partners') }}

),

xref as (

    select * from {{ ref('stg_linkage__participant_xrefs') }}

),

attributes as (

    select * from {{ ref('stg_linkage__source_record_attributes') }}

),

linked as (

    select
        referrals.referral_key,
        coalesce(xref.participant_id, 'unlinked:' || referrals.referral_key) as participant_id,
        referrals.partner_id,
        referrals.partner_referral_id,
        coalesce(partners.programme, 'unknown') as programme,
        referrals.source_feed,
        xref.match_method,
        xref.match_probability,
        referrals.referral_source,
        referrals.priority_group,
        referrals.main_condition,
        referrals.economic_status,
        case
            when referrals.economic_status like 'employed%' then 'in_work'
            when referrals.economic_status like 'unemployed%' then 'unemployed'
            when referrals.economic_status like 'inactive%' then 'inactive'
            else 'unknown'
        end as economic_status_group,
        referrals.service_variant,
        referrals.ineligible_reason,
        referrals.fit_note_status,
        coalesce(attributes.sex, referrals.recorded_sex) as sex,
        referrals.ethnicity,
        {{ ethnic_group('referrals.ethnicity') }} as ethnic_group,
        attributes.age_band_at_referral,
        attributes.postcode_district,
        attributes.borough,
        referrals.nhs_number_token,
        referrals.ni_number_token,
        referrals.carer_hours_per_week,
        referrals.referral_date,
        date_trunc('month', referrals.referral_date)::date as referral_month,
        referrals.reporting_period,
        referrals.is_eligible,
        xref.participant_id is not null as is_linked
    from referrals
    left join partners on referrals.partner_id = partners.partner_id
    left join xref on referrals.referral_key = xref.source_record_key
    left join attributes on referrals.referral_key = attributes.source_record_key

)

select * from linked
