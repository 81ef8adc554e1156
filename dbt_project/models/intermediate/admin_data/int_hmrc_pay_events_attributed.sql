{{ config(indexes=[{'columns': ['source_record_key']}]) }}
-- One row per HMRC pay event with the days the pay covers, so earnings can be attributed to any
-- outcome window pro rata: weekly pay covers the 7 days up to the payment date, monthly pay the
-- month up to it, never before the employment started nor after it ended (a final payment after
-- the job ended is attributed to its last day). Independent of linkage and of the partners' feeds.
with

pay as (

    select * from {{ ref('stg_hmrc__pay_events') }}

),

employments as (

    select hmrc_employment_key, nino_token, employer_ref, employment_start_date, spell_start_date,
        spell_end_date
    from {{ ref('int_hmrc_employments_summarised') }}

),

attributed as (

    select
        pay.pay_event_key,
        pay.source_record_key,
        employments.hmrc_employment_key,
        pay.employer_ref,
        pay.pay_frequency,
        pay.hours_band,
        pay.gross_pay_gbp,
        pay.payment_date,
        greatest(
            case
                when pay.pay_frequency = 'weekly' then pay.payment_date - 6
                else (pay.payment_date - interval '1 month')::date + 1
            end,
            employments.spell_start_date
        ) as raw_covered_from,
        least(pay.payment_date, coalesce(employments.spell_end_date, pay.payment_date)) as raw_covered_to
    from pay
    inner join employments
        on pay.nino_token = employments.nino_token
        and pay.employer_ref = employments.employer_ref
        and pay.employment_start_date is not distinct from employments.employment_start_date

)

select
    pay_event_key,
    source_record_key,
    hmrc_employment_key,
    employer_ref,
    pay_frequency,
    hours_band,
    gross_pay_gbp,
    payment_date,
    least(raw_covered_from, raw_covered_to) as covered_from_date,
    raw_covered_to as covered_to_date,
    raw_covered_to - least(raw_covered_from, raw_covered_to) + 1 as covered_days
from attributed
