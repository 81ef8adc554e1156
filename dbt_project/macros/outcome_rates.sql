{#- The outcome rates reported by subgroup: rate -> (numerator count, denominator count).
    job_start_rate is among starters measured by a job start: everyone but WorkWell participants in
    work at referral, who are measured by retention (retained_*_rate, among those due).
    One definition for the analysis mart (outcomes_by_subgroup computes them) and the published
    table (disclosure control suppresses each rate with its numerator and denominator). -#}
{% macro outcome_rates() %}
    {{ return({
        'job_start_rate': ('job_starts', 'job_start_starters'),
        'sustained_short_rate': ('sustained_short', 'sustained_short_due'),
        'sustained_long_rate': ('sustained_long', 'sustained_long_due'),
        'earnings_outcome_short_rate': ('earnings_outcome_short', 'earnings_outcome_short_due'),
        'earnings_outcome_long_rate': ('earnings_outcome_long', 'earnings_outcome_long_due'),
        'progression_rate': ('progression_outcomes', 'starters'),
        'moved_into_work_rate': ('moved_into_work', 'starters_not_in_work_at_referral'),
        'retained_short_rate': ('retained_short', 'retained_short_due'),
        'retained_long_rate': ('retained_long', 'retained_long_due'),
    }) }}
{% endmacro %}
