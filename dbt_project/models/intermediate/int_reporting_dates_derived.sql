-- One row: the dates every outcome rule is measured against, from the file manifest.
--   as_at_date: var('as_at_date'), or the last day of the latest VCSE reporting month delivered
--     (a header-only file is a delivery too); outcomes whose window ends after it are "pending",
--     never "not achieved".
--   hmrc_coverage_end_date: last day of the latest HMRC delivery month (RTI covers pay to then).
--   dwp_latest_benefit_month: the month of the latest DWP delivery.
-- Programme dates are per programme, in the programmes seed (contracts/_programmes.yml).
with

deliveries as (

    -- the file manifest, not the million-row extracts: which months have been delivered
    select partner_id, max(reporting_period) as latest_period
    from {{ ref('stg_ingest__file_manifests') }}
    where is_loaded and is_current and reporting_period is not null
    group by partner_id

),

partners as (

    select partner_id, partner_kind from {{ ref('delivery_partners') }}

),

latest as (

    select
        max(deliveries.latest_period) filter (where partners.partner_kind = 'vcse') as vcse_period,
        max(deliveries.latest_period) filter (where deliveries.partner_id = 'hmrc') as hmrc_period,
        max(deliveries.latest_period) filter (where deliveries.partner_id = 'dwp') as dwp_period
    from deliveries
    left join partners on deliveries.partner_id = partners.partner_id

),

derived as (

    select
        {% if var('as_at_date') %}
        date '{{ var("as_at_date") }}'
        {% else %}
        (to_date(vcse_period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
        {% endif %} as as_at_date,
        (to_date(hmrc_period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
            as hmrc_coverage_end_date,
        to_date(dwp_period || '-01', 'YYYY-MM-DD') as dwp_latest_benefit_month
    from latest

)

select 'current' as reporting_dates_key, * from derived
