-- The published monthly monitoring return for DWP/GMCA: one row per delivery partner (or 'all')
-- per month (or 'all' = the whole period), disclosure-controlled. Each measure has three columns:
-- <measure> (published number, null when suppressed), <measure>_display ('[c]' when suppressed)
-- and <measure>_sdc_rule (which rule applied). Caseload and cumulative starts are stocks, so they
-- have no whole-period ('all' month) value.
{% set flows = ['referrals_received', 'eligible_referrals', 'first_contacts', 'starts', 'did_not_start',
                'job_starts', 'jobs_sustained_short', 'jobs_sustained_long', 'leavers',
                'activities_delivered', 'participants_supported'] %}
{% set stocks = ['caseload_at_month_end', 'cumulative_starts'] %}
with

totals as (

    select
        coalesce(partner_id, 'all') as partner_id,
        coalesce(to_char(month, 'YYYY-MM'), 'all') as month,
        {% for column in flows %}
        sum({{ column }}) as {{ column }},
        {% endfor %}
        {% for column in stocks %}
        case when grouping(month) = 0 then sum({{ column }}) end as {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('monitoring_return_by_partner_month') }}
    group by grouping sets ((partner_id, month), (partner_id), (month), ())

),

all_cells as (

    {{ sdc_cells('totals', ['partner_id', 'month'], counts=flows + stocks) }}

),

cells as (

    select * from all_cells where raw_value is not null

),

{{ disclosure_control('cells', dims=['partner_id', 'month'], margins=['partner_id', 'month'], as_cte='sdc_published') }}

select
    partner_id || ':' || month as partner_month_key,
    partner_id,
    month,
    {% for measure in flows + stocks %}
    max(value) filter (where measure = '{{ measure }}') as {{ measure }},
    max(value_display) filter (where measure = '{{ measure }}') as {{ measure }}_display,
    max(sdc_rule_applied) filter (where measure = '{{ measure }}') as {{ measure }}_sdc_rule{{ ',' if not loop.last }}
    {% endfor %}
from sdc_published
group by partner_id, month
