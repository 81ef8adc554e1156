{#- Every published count is 0 (when zeros are shown), suppressed, or a multiple of the rounding base
    above the small-count threshold: no cell can hold a count from 1 to var('sdc_small_count_max'). -#}
{% test published_counts_are_safe(model) %}
select *
from {{ model }}
where measure_kind = 'count'
    and (
        (value >= 1 and value <= {{ var('sdc_small_count_max') }})
        or (value is not null and value <> 0 and mod(value, {{ var('sdc_rounding_base') }}) <> 0)
        or (is_suppressed and value is not null)
        or (not is_suppressed and value is null)
        {% if var('sdc_suppress_zeros') %}or value = 0{% endif %}
    )
{% endtest %}
