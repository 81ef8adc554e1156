-- One row per linked source record: which participant it belongs to and how it was matched.
-- If the linkage step has not yet written linkage.participant_xref on this database, this view
-- has no rows and every record is its own provisional participant downstream (is_linked = false).
{% set xref = source('linkage', 'participant_xref') %}
with

source as (

    {% if relation_exists(xref) %}
    select * from {{ xref }}
    {% else %}
    select
        null::text as source_record_key,
        null::text as source_system,
        null::text as participant_id,
        null::text as method,
        null::double precision as match_probability,
        null::text as model_version
    where false
    {% endif %}

),

renamed as (

    select
        -- ids
        source_record_key::text as source_record_key,
        participant_id::text as participant_id,

        -- strings
        source_system::text as source_system,
        method::text as match_method,
        model_version::text as linkage_model_version,

        -- numerics
        match_probability::double precision as match_probability

    from source

)

select * from renamed
