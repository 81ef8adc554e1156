{#- Every rate is a proportion within [0, 1]: no stage of a funnel, outcome rate or confidence
    limit may exceed 100% or fall below 0. Published (long) tables: every row whose measure_kind is
    'rate'. Wide tables: the rate columns given in `columns`. Null (no base) passes. -#}
{% test rates_within_unit_interval(model, columns=none) %}
{%- if columns is none %}
select measure, value
from {{ model }}
where measure_kind = 'rate' and (value < 0 or value > 1)
{%- else %}
{%- for column in columns %}
select '{{ column }}' as measure, {{ column }} as value
from {{ model }}
where {{ column }} < 0 or {{ column }} > 1
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- endif %}
{% endtest %}
