-- accepted_values with the codes of one list of contracts/_code_lists.yml (the macro code_list,
-- generated from that file), so the warehouse accepts exactly the codes ingestion does and a code
-- list is written in one place. Nulls pass, as in accepted_values.
{% test in_code_list(model, column_name, list_name) %}
{{ test_accepted_values(model, column_name, code_list(list_name)) }}
{% endtest %}
