{#- No date before its programme began: each row's date is compared with the start of the row's own
    programme (the programmes seed, generated from contracts/_programmes.yml; the Trailblazer and
    WorkWell start on different days). Ingestion quarantines such dates (rule not_before_programme);
    this keeps the warehouse to the same dates. A row whose programme is not in the seed fails too. -#}
{% test on_or_after_programme_start(model, column_name, programme_column='programme') %}
select rows.{{ programme_column }} as programme, rows.{{ column_name }} as date_value, programmes.start_date
from {{ model }} as rows
left join {{ ref('programmes') }} as programmes on rows.{{ programme_column }} = programmes.programme
where rows.{{ column_name }} is not null
    and (programmes.programme is null or rows.{{ column_name }} < programmes.start_date)
{% endtest %}
