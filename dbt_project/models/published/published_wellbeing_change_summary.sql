-- Published wellbeing change: one row per delivery partner (or 'all'), wellbeing measure and
-- statistic. Means need at least var('sdc_min_base') pairs; recovery rates need that many cases.
with

source as (

    select
        partner_id,
        measure as wellbeing_measure,
        pairs,
        meaningfully_improved,
        cases_at_baseline,
        recovered,
        reliably_improved,
        mean_baseline_score,
        mean_latest_score,
        mean_score_change,
        meaningful_improvement_rate,
        recovery_rate,
        reliable_improvement_rate
    from {{ ref('wellbeing_change_summary') }}

),

cells as (

    {{ sdc_cells('source', ['partner_id', 'wellbeing_measure'],
        counts=['pairs', 'meaningfully_improved', 'cases_at_baseline', 'recovered', 'reliably_improved'],
        ratios={
            'mean_baseline_score': (none, 'pairs', 'mean'),
            'mean_latest_score': (none, 'pairs', 'mean'),
            'mean_score_change': (none, 'pairs', 'mean'),
            'meaningful_improvement_rate': ('meaningfully_improved', 'pairs', 'rate'),
            'recovery_rate': ('recovered', 'cases_at_baseline', 'rate'),
            'reliable_improvement_rate': ('reliably_improved', 'pairs', 'rate'),
        }) }}

),

{{ disclosure_control('cells', dims=['partner_id', 'wellbeing_measure'], margins=['partner_id']) }}
