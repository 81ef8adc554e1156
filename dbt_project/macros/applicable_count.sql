{#- Count of rows where a flag is true, or null when the flag is null on every row of the group:
    a statistic that does not apply to that group (e.g. recovery for WEMWBS) is null, never 0. -#}
{% macro applicable_count(flag) -%}
    case when count({{ flag }}) > 0 then count(*) filter (where {{ flag }}) end
{%- endmacro %}
