-- The outcome windows behind the published measures, as data: one row per window role. A measure
-- named <outcome>_short / <outcome>_long (sustained_short, earnings_outcome_long_rate,
-- retained_short, ...) counts over the window of that role, whose length in weeks is the dbt var
-- named here (dbt_project.yml; a run with --vars publishes the weeks it used). Not about
-- individuals: shown as is.
with

windows as (

    select * from (values
        ('sustained_short', 'sustained_short_weeks', {{ var('sustained_short_weeks') }}),
        ('sustained_long', 'sustained_long_weeks', {{ var('sustained_long_weeks') }}),
        ('earnings_outcome_short', 'sustained_short_weeks', {{ var('sustained_short_weeks') }}),
        ('earnings_outcome_long', 'sustained_long_weeks', {{ var('sustained_long_weeks') }}),
        ('retained_short', 'workwell_retention_short_weeks', {{ var('workwell_retention_short_weeks') }}),
        ('retained_long', 'workwell_retention_long_weeks', {{ var('workwell_retention_long_weeks') }})
    ) as w (outcome_window, dbt_var, weeks)

)

select
    outcome_window,
    dbt_var,
    'weeks' as measure,
    'count_not_about_individuals' as measure_kind,
    weeks::numeric as value,
    weeks::text as value_display,
    false as is_suppressed,
    'not_about_individuals' as sdc_rule_applied
from windows
