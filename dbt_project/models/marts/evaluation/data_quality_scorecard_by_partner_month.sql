-- One row per partner and reporting month: what the partner sent (files, late or rejected files,
-- rows quarantined), how complete the key fields of its referrals are, whether its records could
-- be linked, and whether starters have a baseline wellbeing measure (and leavers a follow-up).
with

files as (

    select
        partner_id,
        to_date(reporting_period || '-01', 'YYYY-MM-DD') as reporting_month,
        count(*) as files_received,
        count(*) filter (where is_rejected) as files_rejected,
        count(*) filter (where is_late) as files_late,
        sum(rows_in) as rows_received,
        sum(rows_loaded) as rows_loaded,
        sum(rows_quarantined) as rows_quarantined
    from {{ ref('stg_ingest__file_manifests') }}
    where file_status not in ('duplicate', 'reinstated') and reporting_period is not null
    group by 1, 2

),

referrals as (

    select * from {{ ref('referrals') }}

),

linked as (

    select referral_key, nhs_number_token, ni_number_token
    from {{ ref('int_referrals_linked_to_participants') }}

),

baselines as (

    select referral_key,
        bool_or(timepoint = 'baseline') as has_baseline,
        bool_or(timepoint in ('review', 'exit')) as has_follow_up
    from {{ ref('int_wellbeing_scores_computed') }}
    where is_complete
    group by referral_key

),

referral_quality as (

    select
        referrals.partner_id,
        referrals.referral_month as reporting_month,
        count(*) as referrals,
        count(*) filter (where referrals.sex is null) as referrals_missing_sex,
        count(*) filter (where referrals.source_feed = 'vcse' and referrals.ethnic_group = 'not_recorded')
            as referrals_missing_ethnicity,
        count(*) filter (where referrals.main_condition is null) as referrals_missing_main_condition,
        count(*) filter (where referrals.economic_status is null) as referrals_missing_economic_status,
        count(*) filter (where linked.nhs_number_token is null and linked.ni_number_token is null)
            as referrals_without_nhs_or_ni_number,
        count(*) filter (where not referrals.is_linked) as referrals_not_linked
    from referrals
    left join linked on referrals.referral_key = linked.referral_key
    group by 1, 2

),

start_quality as (

    select
        referrals.partner_id,
        referrals.start_month as reporting_month,
        count(*) as starts,
        count(*) filter (where baselines.has_baseline) as starts_with_baseline_wellbeing
    from referrals
    left join baselines on referrals.referral_key = baselines.referral_key
    where referrals.is_started
    group by 1, 2

),

leaver_quality as (

    select
        referrals.partner_id,
        date_trunc('month', referrals.exit_date)::date as reporting_month,
        count(*) as leavers,
        count(*) filter (where baselines.has_baseline and baselines.has_follow_up)
            as leavers_with_baseline_and_follow_up
    from referrals
    left join baselines on referrals.referral_key = baselines.referral_key
    where referrals.is_leaver
    group by 1, 2

),

spine as (

    select partner_id, reporting_month from files
    union
    select partner_id, reporting_month from referral_quality
    union
    select partner_id, reporting_month from start_quality
    union
    select partner_id, reporting_month from leaver_quality

)

select
    spine.partner_id || ':' || to_char(spine.reporting_month, 'YYYY-MM') as partner_month_key,
    spine.partner_id,
    spine.reporting_month,
    coalesce(files.files_received, 0) as files_received,
    coalesce(files.files_rejected, 0) as files_rejected,
    coalesce(files.files_late, 0) as files_late,
    coalesce(files.rows_received, 0) as rows_received,
    coalesce(files.rows_loaded, 0) as rows_loaded,
    coalesce(files.rows_quarantined, 0) as rows_quarantined,
    coalesce(referral_quality.referrals, 0) as referrals,
    coalesce(referral_quality.referrals_missing_sex, 0) as referrals_missing_sex,
    coalesce(referral_quality.referrals_missing_ethnicity, 0) as referrals_missing_ethnicity,
    coalesce(referral_quality.referrals_missing_main_condition, 0) as referrals_missing_main_condition,
    coalesce(referral_quality.referrals_missing_economic_status, 0) as referrals_missing_economic_status,
    coalesce(referral_quality.referrals_without_nhs_or_ni_number, 0) as referrals_without_nhs_or_ni_number,
    coalesce(referral_quality.referrals_not_linked, 0) as referrals_not_linked,
    coalesce(start_quality.starts, 0) as starts,
    coalesce(start_quality.starts_with_baseline_wellbeing, 0) as starts_with_baseline_wellbeing,
    coalesce(leaver_quality.leavers, 0) as leavers,
    coalesce(leaver_quality.leavers_with_baseline_and_follow_up, 0) as leavers_with_baseline_and_follow_up,
    {{ safe_ratio('files.rows_quarantined', 'files.rows_received') }} as row_quarantine_rate,
    {{ safe_ratio('referral_quality.referrals_without_nhs_or_ni_number', 'referral_quality.referrals') }}
        as referrals_without_nhs_or_ni_number_rate,
    {{ safe_ratio('start_quality.starts_with_baseline_wellbeing', 'start_quality.starts') }}
        as baseline_wellbeing_rate,
    {{ safe_ratio('leaver_quality.leavers_with_baseline_and_follow_up', 'leaver_quality.leavers') }}
        as baseline_and_follow_up_rate
from spine
left join files on spine.partner_id = files.partner_id and spine.reporting_month = files.reporting_month
left join referral_quality
    on spine.partner_id = referral_quality.partner_id and spine.reporting_month = referral_quality.reporting_month
left join start_quality
    on spine.partner_id = start_quality.partner_id and spine.reporting_month = start_quality.reporting_month
left join leaver_quality
    on spine.partner_id = leaver_quality.partner_id and spine.reporting_month = leaver_quality.reporting_month
