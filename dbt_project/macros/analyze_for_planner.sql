{#
  Post-hook of every table model: fresh statistics, so the planner of the models that read the table
  does not take it for an empty one. The statistics target is 10 (a 3,000-row sample, 10 common
  values) unless the model's meta sets `statistics_target`: ANALYZE at the default 100 was a fifth
  of the nightly's database time for tables of some 20,000 rows (4.1 s -> 1.0 s measured in the
  PostgreSQL log). The million-row tables from the DWP/HMRC extracts keep 100 (dbt_project.yml):
  a small sample would misjudge how many people they hold, which the joins to them depend on.
  Autovacuum analyzes each new table again soon after, at the server's default target (the build's
  inserts are counted at commit, after this ANALYZE), so evaluators' queries get full statistics
  and the build does not wait for them.
#}
{% macro analyze_for_planner(relation) -%}
  set local default_statistics_target = {{ model.config.get('meta', {}).get('statistics_target', 10) | int }};
  analyze {{ relation }}
{%- endmacro %}
