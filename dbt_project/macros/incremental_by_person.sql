{#- Helpers for models built incrementally by person (int_pay_events_attributed_to_periods).

    record_upstream_table(relation): post-hook; writes into this table's comment which build of an
      upstream table it was made from (its oid). dbt builds a table model as a new table each time,
      so another oid later means the upstream has been rebuilt since (e.g. after an HMRC delivery).
    delete_all_if_upstream_rebuilt(relation): pre-hook of an incremental run; empties this table
      when the upstream table is not the one recorded, so that every row is made again.
-#}
{% macro upstream_table_label(relation) -%}
    built from {{ relation.schema }}.{{ relation.identifier }} oid
{%- endmacro %}

{% macro record_upstream_table(relation) %}
    do $$ begin
        execute format('comment on table %s is %L', '{{ this }}',
            '{{ upstream_table_label(relation) }} ' || '{{ relation }}'::regclass::oid);
    end $$
{% endmacro %}

{% macro delete_all_if_upstream_rebuilt(relation) %}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where coalesce(obj_description('{{ this }}'::regclass, 'pg_class'), '')
        <> '{{ upstream_table_label(relation) }} ' || '{{ relation }}'::regclass::oid
    {%- else -%}
    select 1
    {%- endif -%}
{% endmacro %}

{#- True on an incremental run of a table that already has `column` (the key rows are kept or
    rebuilt by); false on a first build, a full refresh, or for a table built before the model
    was incremental (then everything is built again). -#}
{% macro is_incremental_by(column) %}
    {{ return(is_incremental() and column in (adapter.get_columns_in_relation(this)
        | map(attribute='name') | list)) }}
{% endmacro %}

{#- Pre-hook of int_pay_events_attributed_to_periods: on an incremental run, delete the rows of
    HMRC records now attached to another participant, or to none (no longer a programme
    participant); everything for a table built before the model was incremental. -#}
{% macro pay_events_delete_relinked_people() %}
    {%- if is_incremental_by('source_record_key') -%}
    delete from {{ this }} as stored
    where not exists (
        select 1
        from {{ ref('int_employment_spells_unioned') }} as spells
        where spells.evidence_source = 'hmrc'
            and 'hmrc:' || spells.nino_token = stored.source_record_key
            and spells.participant_id = stored.participant_id
    )
    {%- elif is_incremental() -%}
    delete from {{ this }}
    {%- else -%}
    select 1
    {%- endif -%}
{% endmacro %}
