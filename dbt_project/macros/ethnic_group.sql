{#- ONS 2021 high-level ethnic group from the full harmonised label (codes are lower-case in raw).
    Published breakdowns use the five high-level groups: the 19 detailed categories would be
    almost entirely suppressed at programme sizes. -#}
{% macro ethnic_group(column) -%}
    case
        when {{ column }} is null then 'not_recorded'
        when {{ column }} like 'asian%' then 'asian'
        when {{ column }} like 'black%' then 'black'
        when {{ column }} like 'mixed%' then 'mixed'
        when {{ column }} like 'white%' then 'white'
        else 'other'
    end
{%- endmacro %}
