{#- The combination of columns is unique (like dbt_utils.unique_combination_of_columns, without
    adding a package dependency the nightly would have to install offline). -#}
{% test unique_combination_of_columns(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_combination
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
