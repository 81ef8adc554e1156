-- One row per delivery partner (and 'all') and timeliness measure: the number of referrals
-- measured, median and interquartile range in days. Measures:
--   referral_to_first_contact  referral received -> first contact (cf. 2 working days to acknowledge)
--   referral_to_start          referral received -> start (cf. 15/20 working-day DWP norms)
--   start_to_first_job_start   start -> the participant's first job start on any evidence
--   referral_to_return_to_work WorkWell: referral -> first fit-note change ending the sickness
--                              absence (docs: workwell_return_to_work)
-- Both programmes: the VCSE partners and the WorkWell service (partner icb_workwell).
with

referrals as (

    select * from {{ ref('referrals') }}

),

measured as (

    select partner_id, 'referral_to_first_contact' as measure, days_referral_to_first_contact as days
    from referrals where days_referral_to_first_contact is not null
    union all
    select partner_id, 'referral_to_start', days_referral_to_start
    from referrals where days_referral_to_start is not null
    union all
    select partner_id, 'start_to_first_job_start', days_start_to_first_job_start
    from referrals where days_start_to_first_job_start is not null
    union all
    select partner_id, 'referral_to_return_to_work', days_referral_to_return_to_work
    from referrals where days_referral_to_return_to_work is not null

),

summarised as (

    select
        coalesce(partner_id, 'all') as partner_id,
        measure,
        count(*) as referrals_measured,
        percentile_cont(0.5) within group (order by days) as median_days,
        percentile_cont(0.25) within group (order by days) as p25_days,
        percentile_cont(0.75) within group (order by days) as p75_days,
        avg(days) as mean_days
    from measured
    group by grouping sets ((partner_id, measure), (measure))

)

select partner_id || ':' || measure as partner_measure_key, * from summarised
