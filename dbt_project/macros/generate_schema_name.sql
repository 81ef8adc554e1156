{#- Use the folder's schema name exactly (staging, analytics, ...) instead of dbt's
    default "<target schema>_<custom schema>", so evaluators see stable schema names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
