-- One row per WorkWell (ICB) referral: its path through the WorkWell service (docs: workwell_journey).
-- referral -> assessment with the Work and Health Coach (the WorkWell start) -> support plan ->
-- contacts -> exit (with its reason); or a did-not-start decision. Work status at referral:
-- 'in_work' (off sick, or at risk of falling out of work) or 'out_of_work' (left work recently),
-- from the assessment if recorded, else the referral's employment status. Return to work: the
-- first fit-note change on or after the referral date that ends the sickness absence
-- (fit_for_work or returned_to_work). Columns shared with int_referral_journeys_assembled carry
-- the same names and meanings, so the referral and episode marts read both programmes alike.
with

referrals as (

    select * from {{ ref('int_referrals_linked_to_participants') }}
    where source_feed = 'icb'

),

decisions as (

    -- a referral may have a did-not-start row and a later assessment row; the assessment wins
    select
        referral_key,
        min(assessment_date) as assessment_date,
        min(support_plan_date) as support_plan_date,
        (array_agg(work_status_at_assessment order by file_id desc, source_row_number desc)
            filter (where work_status_at_assessment is not null))[1] as work_status_at_assessment,
        bool_or(not is_assessed) as has_did_not_start_row,
        (array_agg(did_not_start_reason order by file_id desc, source_row_number desc)
            filter (where not is_assessed))[1] as did_not_start_reason,
        min(to_date(reporting_period || '-01', 'YYYY-MM-DD')) filter (where not is_assessed)
            as did_not_start_recorded_month
    from {{ ref('stg_icb__workwell_starts') }}
    group by referral_key

),

exits as (

    -- the final exit
    select distinct on (referral_key)
        referral_key,
        exit_date,
        exit_reason
    from {{ ref('stg_icb__workwell_exits') }}
    order by referral_key asc, exit_date desc, file_id desc, source_row_number desc

),

contacts as (

    select
        referral_key,
        count(distinct contact_key) as activities_count,
        count(distinct contact_date) as contact_days_count,
        min(contact_date) as first_activity_date,
        max(contact_date) as last_activity_date
    from {{ ref('stg_icb__workwell_contacts') }}
    group by referral_key

),

returns as (

    select
        fit_notes.referral_key,
        min(fit_notes.change_date) as return_to_work_date
    from {{ ref('stg_icb__workwell_fit_notes') }} as fit_notes
    inner join referrals on fit_notes.referral_key = referrals.referral_key
    where fit_notes.is_return_to_work
        and fit_notes.change_date >= referrals.referral_date
    group by fit_notes.referral_key

),

assembled as (

    select
        referrals.*,
        coalesce(
            decisions.work_status_at_assessment,
            case when referrals.economic_status_group = 'in_work' then 'in_work' else 'out_of_work' end
        ) as work_status_at_referral,
        referrals.economic_status = 'employed_off_sick' as is_off_sick_at_referral,
        least(decisions.assessment_date, contacts.first_activity_date) as first_contact_date,
        decisions.assessment_date,
        decisions.assessment_date as start_date,
        case when decisions.assessment_date is not null then decisions.support_plan_date end as support_plan_date,
        case when decisions.assessment_date is null then decisions.did_not_start_reason end as did_not_start_reason,
        case when decisions.assessment_date is null then decisions.did_not_start_recorded_month end
            as did_not_start_recorded_month,
        date_trunc('month', decisions.assessment_date)::date as start_month,
        case when decisions.assessment_date is not null then exits.exit_date end as exit_date,
        case when decisions.assessment_date is not null then exits.exit_reason end as leaver_reason,
        null::boolean as is_planned_exit,
        coalesce(contacts.activities_count, 0) as activities_count,
        coalesce(contacts.contact_days_count, 0) as contact_days_count,
        contacts.first_activity_date,
        contacts.last_activity_date,
        returns.return_to_work_date,
        decisions.assessment_date is not null or contacts.first_activity_date is not null as has_first_contact,
        decisions.assessment_date is not null as is_started,
        decisions.assessment_date is not null and decisions.support_plan_date is not null as has_support_plan,
        decisions.assessment_date is null and coalesce(decisions.has_did_not_start_row, false) as is_did_not_start,
        decisions.referral_key is null as is_pending_decision,
        -- WorkWell has no sustained-engagement rule of its own: the Trailblazer's is applied
        decisions.assessment_date is not null
            and coalesce(contacts.contact_days_count, 0) >= {{ var('sustained_engagement_min_contacts') }}
            and contacts.last_activity_date
                -- N weeks: the 7N days start .. start + 7N - 1 (docs: n_weeks)
                >= decisions.assessment_date + {{ var('sustained_engagement_min_weeks') }} * 7 - 1
            as is_sustained_engagement,
        decisions.assessment_date is not null and exits.exit_date is not null as is_leaver,
        least(decisions.assessment_date, contacts.first_activity_date) - referrals.referral_date
            as days_referral_to_first_contact,
        decisions.assessment_date - referrals.referral_date as days_referral_to_start,
        returns.return_to_work_date - referrals.referral_date as days_referral_to_return_to_work,
        returns.return_to_work_date - decisions.assessment_date as days_start_to_return_to_work
    from referrals
    left join decisions on referrals.referral_key = decisions.referral_key
    left join exits on referrals.referral_key = exits.referral_key
    left join contacts on referrals.referral_key = contacts.referral_key
    left join returns on referrals.referral_key = returns.referral_key

)

select * from assembled
