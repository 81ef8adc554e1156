-- One row per source record with the quasi-identifiers the linkage step derived inside the
-- identity boundary (so dbt never reads date of birth or full postcode). Empty until linkage runs.
{% set attributes = source('linkage', 'source_record_attributes') %}
with

source as (

    {% if relation_exists(attributes) %}
    select * from {{ attributes }}
    {% else %}
    select
        null::text as source_record_key,
        null::text as sex,
        null::text as age_band_at_referral,
        null::text as postcode_district,
        null::text as borough
    where false
    {% endif %}

),

renamed as (

    select
        -- ids
        source_record_key::text as source_record_key,

        -- strings
        -- codes normalised to the warehouse's lower_snake form ('16-24' -> '16_24', '65+' -> '65_plus',
        -- 'Blackburn with Darwen' -> 'blackburn_with_darwen') whatever the linkage step writes
        lower(sex::text) as sex,
        replace(replace(lower(age_band_at_referral::text), '-', '_'), '+', '_plus') as age_band_at_referral,
        upper(postcode_district::text) as postcode_district,
        replace(lower(trim(borough::text)), ' ', '_') as borough

    from source

)

select * from renamed
