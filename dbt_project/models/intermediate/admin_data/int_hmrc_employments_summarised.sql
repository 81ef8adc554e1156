{{ config(indexes=[{'columns': ['source_record_key']}]) }}
-- One row per employment in the HMRC RTI extract (NINo token, employer, employment start date),
-- with its pay events summarised. Independent of linkage and of the partners' feeds (rebuilt only
-- when an HMRC delivery arrives); participants are attached downstream through the linkage xref.
select
    'hmrc:' || nino_token || ':' || employer_ref || ':' || coalesce(employment_start_date::text, 'unknown')
        as hmrc_employment_key,
    source_record_key,
    nino_token,
    employer_ref,
    mode() within group (order by hours_band) as hours_band,
    count(*)::integer as pay_events_count,
    sum(gross_pay_gbp) as total_gross_pay_gbp,
    employment_start_date,
    coalesce(employment_start_date, min(payment_date)) as spell_start_date,
    max(employment_end_date) as spell_end_date,
    min(payment_date) as first_payment_date,
    max(payment_date) as last_payment_date
from {{ ref('stg_hmrc__pay_events') }}
group by source_record_key, nino_token, employer_ref, employment_start_date
