{#- Models under models/published/ are named `published_<table>` so that every dbt node name is
    unique, but they land as `published.<table>` (the same table name as their analytics source),
    which is what evaluators and the public query. -#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}
        {{ custom_alias_name | trim }}
    {%- elif node.fqn | length > 1 and node.fqn[1] == 'published' and node.name.startswith('published_') -%}
        {{ node.name[10:] }}
    {%- elif node.version -%}
        {{ return(node.name ~ "_v" ~ (node.version | replace(".", "_"))) }}
    {%- else -%}
        {{ node.name }}
    {%- endif -%}
{%- endmacro %}
