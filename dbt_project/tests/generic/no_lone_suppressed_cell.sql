{#- Secondary suppression check: in no margin group (a published total and the cells that add up to
    it) is exactly one count suppressed, since it could be recovered by subtraction. -#}
{% test no_lone_suppressed_cell(model, dims, margins) %}
{% for margin in margins %}
{%- set group_cols = (dims | reject('equalto', margin) | list) + ['measure'] %}
select '{{ margin }}' as margin, {{ group_cols | join(" || ':' || ") }} as margin_group
from {{ model }}
where measure_kind = 'count'
group by {{ group_cols | join(', ') }}
having count(*) filter (where is_suppressed) = 1
{{ 'union all' if not loop.last }}
{% endfor %}
{% endtest %}
