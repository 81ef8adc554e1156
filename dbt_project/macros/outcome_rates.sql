{#- The outcome rates reported by subgroup: rate -> (numerator count, denominator count).
    job_start_rate is among starters measured by a job start: everyone but WorkWell participants in
    work at referral, who are measured by retention (retained_*_rate, among those due).
    One definition for the analysis mart (outcomes_by_subgroup computes them) and the published
    table (disclosure control suppresses each rate with its numerator and denominator). -#}
{% macro outcome_rates() %}
    {{ return({
        'job_start_rate': ('job_starts', 'job_start_starters'),
        'sustained_13_weeks_rate': ('sustained_13_weeks', 'sustained_13_weeks_due'),
        'sustained_26_weeks_rate': ('sustained_26_weeks', 'sustained_26_weeks_due'),
        'earnings_outcome_13_weeks_rate': ('earnings_outcome_13_weeks', 'earnings_outcome_13_weeks_due'),
        'earnings_outcome_26_weeks_rate': ('earnings_outcome_26_weeks', 'earnings_outcome_26_weeks_due'),
        'progression_rate': ('progression_outcomes', 'starters'),
        'moved_into_work_rate': ('moved_into_work', 'starters_not_in_work_at_referral'),
        'retained_13_weeks_rate': ('retained_13_weeks', 'retained_13_weeks_due'),
        'retained_26_weeks_rate': ('retained_26_weeks', 'retained_26_weeks_due'),
    }) }}
{% endmacro %}
