-- The monthly monitoring return for DWP/GMCA: one row per VCSE delivery partner per calendar
-- month, counting the events that happened in that month (not by referral cohort):
-- referrals received, eligible, first contacts, starts, did-not-start decisions recorded, job
-- starts (by job start date), jobs reaching 13 and 26 weeks (by the date they did), leavers,
-- activities delivered, participants supported, caseload at month end and cumulative starts.
with

referrals as (

    select * from {{ ref('referrals') }}
    where source_feed = 'vcse'

),

activities as (

    select * from {{ ref('activities') }}

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

spine as (

    select partners.partner_id, month::date as month
    from (select distinct partner_id from referrals) as partners
    cross join dates
    cross join generate_series(
        (select date_trunc('month', min(referral_date)) from referrals),
        date_trunc('month', dates.as_at_date),
        interval '1 month'
    ) as month

),

events as (

    select partner_id, referral_month as month, 'referrals_received' as measure from referrals
    union all
    select partner_id, referral_month, 'eligible_referrals' from referrals where is_eligible
    union all
    select partner_id, date_trunc('month', first_contact_date)::date, 'first_contacts'
    from referrals where has_first_contact
    union all
    select partner_id, start_month, 'starts' from referrals where is_started
    union all
    select partner_id, did_not_start_recorded_month, 'did_not_start' from referrals where is_did_not_start
    union all
    select partner_id, date_trunc('month', recorded_job_start_date)::date, 'job_starts'
    from referrals where has_recorded_job_start
    union all
    select partner_id, date_trunc('month', recorded_job_start_date + {{ var('sustained_short_weeks') }} * 7 - 1)::date,
        'jobs_sustained_short'
    from referrals where is_recorded_job_sustained_short
    union all
    select partner_id, date_trunc('month', recorded_job_start_date + {{ var('sustained_long_weeks') }} * 7 - 1)::date,
        'jobs_sustained_long'
    from referrals where is_recorded_job_sustained_long
    union all
    select partner_id, date_trunc('month', exit_date)::date, 'leavers' from referrals where is_leaver

),

event_counts as (

    select
        partner_id,
        month,
        {% for measure in ['referrals_received', 'eligible_referrals', 'first_contacts', 'starts',
                           'did_not_start', 'job_starts', 'jobs_sustained_short',
                           'jobs_sustained_long', 'leavers'] %}
        count(*) filter (where measure = '{{ measure }}') as {{ measure }}{{ ',' if not loop.last }}
        {% endfor %}
    from events
    group by partner_id, month

),

activity_counts as (

    select
        partner_id,
        contact_month as month,
        count(*) as activities_delivered,
        count(distinct referral_key) as participants_supported
    from activities
    group by partner_id, contact_month

),

caseload as (

    select
        spine.partner_id,
        spine.month,
        count(referrals.referral_key) as caseload_at_month_end
    from spine
    left join referrals
        on spine.partner_id = referrals.partner_id
        and referrals.start_date <= (spine.month + interval '1 month' - interval '1 day')::date
        and (referrals.exit_date is null
            or referrals.exit_date > (spine.month + interval '1 month' - interval '1 day')::date)
    group by spine.partner_id, spine.month

),

assembled as (

    select
        spine.partner_id,
        spine.month,
        {% for measure in ['referrals_received', 'eligible_referrals', 'first_contacts', 'starts',
                           'did_not_start', 'job_starts', 'jobs_sustained_short',
                           'jobs_sustained_long', 'leavers'] %}
        coalesce(event_counts.{{ measure }}, 0) as {{ measure }},
        {% endfor %}
        coalesce(activity_counts.activities_delivered, 0) as activities_delivered,
        coalesce(activity_counts.participants_supported, 0) as participants_supported,
        caseload.caseload_at_month_end
    from spine
    left join event_counts on spine.partner_id = event_counts.partner_id and spine.month = event_counts.month
    left join activity_counts on spine.partner_id = activity_counts.partner_id and spine.month = activity_counts.month
    left join caseload on spine.partner_id = caseload.partner_id and spine.month = caseload.month

)

select
    partner_id || ':' || to_char(month, 'YYYY-MM') as partner_month_key,
    *,
    sum(starts) over (partition by partner_id order by month) as cumulative_starts
from assembled
