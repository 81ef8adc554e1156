-- One row per VCSE referral: its path through the programme at that partner.
-- referral -> first contact -> start (assessment + agreed action plan) or did-not-start decision
-- -> contacts/activities -> exit. Job starts are evaluated in the employment models.
with

referrals as (

    select * from {{ ref('int_referrals_linked_to_participants') }}
    where source_feed = 'vcse'

),

decisions as (

    -- a referral may have a did-not-start row and a later start row; the start wins
    select
        referral_key,
        min(first_contact_date) as first_contact_date,
        min(start_date) as start_date,
        bool_or(is_start) as has_start_row,
        bool_or(not is_start) as has_did_not_start_row,
        (array_agg(did_not_start_reason order by file_id desc, source_row_number desc)
            filter (where not is_start))[1] as did_not_start_reason,
        min(to_date(reporting_period || '-01', 'YYYY-MM-DD')) filter (where not is_start)
            as did_not_start_recorded_month
    from {{ ref('stg_vcse__starts') }}
    group by referral_key

),

exits as (

    -- the final exit (ESF: the exit date is updated to the final exit)
    select distinct on (referral_key)
        referral_key,
        exit_date,
        leaver_reason,
        is_planned_exit,
        qualification_gained
    from {{ ref('stg_vcse__leavers') }}
    order by referral_key asc, exit_date desc, file_id desc

),

contacts as (

    select
        activities.referral_key,
        count(distinct activities.activity_key) as activities_count,
        count(distinct activities.contact_date) as contact_days_count,
        min(activities.contact_date) as first_activity_date,
        max(activities.contact_date) as last_activity_date,
        sum(activities.duration_minutes) as activity_minutes
    from {{ ref('stg_vcse__activities') }} as activities
    group by activities.referral_key

),

assembled as (

    select
        referrals.*,
        decisions.first_contact_date,
        decisions.start_date,
        case when decisions.start_date is null then decisions.did_not_start_reason end as did_not_start_reason,
        case when decisions.start_date is null then decisions.did_not_start_recorded_month end
            as did_not_start_recorded_month,
        date_trunc('month', decisions.start_date)::date as start_month,
        case when decisions.start_date is not null then exits.exit_date end as exit_date,
        case when decisions.start_date is not null then exits.leaver_reason end as leaver_reason,
        case when decisions.start_date is not null then exits.is_planned_exit end as is_planned_exit,
        case when decisions.start_date is not null then exits.qualification_gained end as qualification_gained_at_exit,
        coalesce(contacts.activities_count, 0) as activities_count,
        coalesce(contacts.contact_days_count, 0) as contact_days_count,
        coalesce(contacts.activity_minutes, 0) as activity_minutes,
        contacts.first_activity_date,
        contacts.last_activity_date,
        decisions.first_contact_date is not null as has_first_contact,
        decisions.start_date is not null as is_started,
        decisions.start_date is null and coalesce(decisions.has_did_not_start_row, false) as is_did_not_start,
        decisions.referral_key is null as is_pending_decision,
        decisions.start_date is not null
            and coalesce(contacts.contact_days_count, 0) >= {{ var('sustained_engagement_min_contacts') }}
            and contacts.last_activity_date
                -- N weeks: the 7N days start .. start + 7N - 1 (docs: n_weeks)
                >= decisions.start_date + {{ var('sustained_engagement_min_weeks') }} * 7 - 1
            as is_sustained_engagement,
        decisions.start_date is not null and exits.exit_date is not null as is_leaver,
        decisions.first_contact_date - referrals.referral_date as days_referral_to_first_contact,
        decisions.start_date - referrals.referral_date as days_referral_to_start
    from referrals
    left join decisions on referrals.referral_key = decisions.referral_key
    left join exits on referrals.referral_key = exits.referral_key
    left join contacts on referrals.referral_key = contacts.referral_key

)

select * from assembled
