{#- True when the relation exists in the database. Used only where an upstream writer (the
    linkage step) may not have run yet on a database, so the project still builds: the model then
    selects no rows instead of failing. False at parse time (no database access then). -#}
{% macro relation_exists(relation) %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {{ return(found is not none) }}
{% endmacro %}
