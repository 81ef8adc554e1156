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
        cast(source_record_key as text) as source_record_key,
        cast(participant_id as text) as participant_id,

        -- strings
        cast(source_system as text) as source_system,
        cast(method as text) as match_method,
        cast(model_version as text) as linkage_model_version,

        -- numerics
        cast(match_probability as double precision) as match_probability

    from source

)

select * from renamed
