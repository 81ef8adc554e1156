-- Published timeliness: one row per delivery partner (or 'all'), timeliness measure and statistic
-- (referrals measured, median, lower and upper quartile, in days). Medians and quartiles of fewer
-- than var('sdc_min_base') referrals are suppressed.
with

source as (

    select partner_id, measure as timeliness_measure, referrals_measured, median_days, p25_days, p75_days
    from {{ ref('timeliness_by_partner') }}

),

cells as (

    {{ sdc_cells('source', ['partner_id', 'timeliness_measure'], counts=['referrals_measured'], ratios={
        'median_days': (none, 'referrals_measured', 'median'),
        'p25_days': (none, 'referrals_measured', 'median'),
        'p75_days': (none, 'referrals_measured', 'median'),
    }) }}

),

{{ disclosure_control('cells', dims=['partner_id', 'timeliness_measure'], margins=['partner_id']) }}
