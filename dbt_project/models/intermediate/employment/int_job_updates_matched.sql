-- One row per job update a VCSE partner sent (job ended, hours changed, pay changed for a job it
-- reported in an earlier month), matched to that job by the partner's job id, with its status:
--   applied            names a known job, effective on or before the as-at date: it changes the
--                      job in int_employment_spells_unioned (latest effective date wins per field)
--   not_yet_effective  takes effect after the as-at date (applies on the night it is reached)
--   held               cannot be applied; hold_reason says why, and the row is counted in
--                      int_child_rows_held_for_missing_parent (never dropped):
--                        parent_referral_not_in_warehouse  its referral was quarantined / never sent
--                        unknown_job          no job start of that referral carries the job id
--                        new_value_missing    hours_changed without hours, pay_changed without pay
--                        effective_before_job_start  the change predates the job it names
-- Docs: docs/ingestion.md ("Job updates and payslips").
with

updates as (

    select * from {{ ref('stg_vcse__job_updates') }}

),

referrals as (

    select referral_key from {{ ref('int_referrals_linked_to_participants') }}

),

job_starts as (

    -- the current row of each partner job id (the latest file's row if it was sent twice)
    select distinct on (partner_job_key)
        partner_job_key,
        job_start_row_key,
        job_start_date
    from {{ ref('stg_vcse__job_starts') }}
    where partner_job_key is not null
    order by partner_job_key asc, file_id desc, source_row_number desc

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

matched as (

    select
        updates.job_update_row_key,
        updates.partner_id,
        updates.referral_key,
        updates.partner_job_key,
        job_starts.job_start_row_key,
        updates.update_type,
        updates.effective_date,
        updates.hours_per_week,
        updates.hourly_pay_gbp,
        updates.file_id,
        updates.source_row_number,
        updates.reporting_period,
        case
            when referrals.referral_key is null then 'parent_referral_not_in_warehouse'
            when job_starts.partner_job_key is null then 'unknown_job'
            when updates.update_type = 'hours_changed' and updates.hours_per_week is null then 'new_value_missing'
            when updates.update_type = 'pay_changed' and updates.hourly_pay_gbp is null then 'new_value_missing'
            when updates.effective_date < job_starts.job_start_date then 'effective_before_job_start'
        end as hold_reason,
        dates.as_at_date
    from updates
    cross join dates
    left join referrals on updates.referral_key = referrals.referral_key
    left join job_starts on updates.partner_job_key = job_starts.partner_job_key

)

select
    job_update_row_key,
    partner_id,
    referral_key,
    partner_job_key,
    job_start_row_key,
    update_type,
    effective_date,
    hours_per_week,
    hourly_pay_gbp,
    file_id,
    source_row_number,
    reporting_period,
    hold_reason,
    case
        when hold_reason is not null then 'held'
        when effective_date > as_at_date then 'not_yet_effective'
        else 'applied'
    end as update_status
from matched
