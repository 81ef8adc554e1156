{#- The outcome rates reported by subgroup: rate -> (numerator count, denominator count).
    job_start_rate is among starters measured by a job start: everyone but WorkWell participants in
    work at referral, who are measured by retention (retained_*_rate, among those due).
    One definition for the analysis marts (outcomes_by_subgroup, outcomes_by_service_variant,
    outcomes_by_partner_priority_group compute them) and the published tables (disclosure control
    suppresses each rate with its numerator and denominator).
    with_retention=false: the Trailblazer's rates (VCSE episodes only), without the WorkWell
    retention rates; nobody is measured by retention there, so job starts are among all starters. -#}
{% macro outcome_rates(with_retention=true) %}
    {% set rates = {
        'job_start_rate': ('job_starts', 'job_start_starters' if with_retention else 'starters'),
        'sustained_short_rate': ('sustained_short', 'sustained_short_due'),
        'sustained_long_rate': ('sustained_long', 'sustained_long_due'),
        'earnings_outcome_short_rate': ('earnings_outcome_short', 'earnings_outcome_short_due'),
        'earnings_outcome_long_rate': ('earnings_outcome_long', 'earnings_outcome_long_due'),
        'progression_rate': ('progression_outcomes', 'starters'),
        'moved_into_work_rate': ('moved_into_work', 'starters_not_in_work_at_referral'),
    } %}
    {% if with_retention %}
        {% do rates.update({
            'retained_short_rate': ('retained_short', 'retained_short_due'),
            'retained_long_rate': ('retained_long', 'retained_long_due'),
        }) %}
    {% endif %}
    {{ return(rates) }}
{% endmacro %}
