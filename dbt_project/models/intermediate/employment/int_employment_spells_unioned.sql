-- One row per piece of employment evidence for a programme participant:
--   'partner': a job start recorded by a VCSE partner (one per referral and job start date; a
--              resubmitted copy keeps the latest file's row). End date only if already ended when
--              the partner recorded it, or a later job update (job_updates feed, matched by the
--              partner's job id in int_job_updates_matched) ended it. Job updates effective on or
--              before the as-at date apply; for each field (end date, hours, hourly pay) the update
--              with the latest effective date wins (then the latest file, then the latest row), so
--              a job reported in an earlier month changes without that month's file being re-sent.
--   'hmrc':    an employment in the HMRC RTI extract (one per NINo token, employer and start date),
--              with its pay events summarised; no end date while the job is ongoing.
-- HMRC records reach a participant through linkage.participant_xref ('hmrc:<nino_token>'); people
-- in the extract who were never referred (the comparison population) are left out here.
with

referrals as (

    select * from {{ ref('int_referrals_linked_to_participants') }}

),

programme_participants as (

    select distinct participant_id from referrals

),

job_updates as (

    -- the latest applied update of each field, per partner job id
    select
        partner_job_key,
        (array_agg(effective_date order by effective_date desc, file_id desc, source_row_number desc)
            filter (where update_type = 'job_ended'))[1] as updated_end_date,
        (array_agg(hours_per_week order by effective_date desc, file_id desc, source_row_number desc)
            filter (where update_type = 'hours_changed'))[1] as updated_hours_per_week,
        (array_agg(hourly_pay_gbp order by effective_date desc, file_id desc, source_row_number desc)
            filter (where update_type = 'pay_changed'))[1] as updated_hourly_pay_gbp,
        count(*) as updates_applied_count
    from {{ ref('int_job_updates_matched') }}
    where update_status = 'applied'
    group by partner_job_key

),

partner_claims_as_recorded as (

    select distinct on (job_starts.referral_key, job_starts.job_start_date)
        'partner:' || job_starts.referral_key || ':' || job_starts.job_start_date as spell_key,
        'partner' as evidence_source,
        coalesce(referrals.participant_id, 'unlinked:' || job_starts.referral_key) as participant_id,
        job_starts.partner_id,
        job_starts.referral_key,
        null::text as nino_token,
        null::text as employer_ref,
        job_starts.partner_job_key,
        job_starts.evidence_type,
        null::text as hours_band,
        job_starts.hours_per_week,
        job_starts.hourly_pay_gbp,
        null::integer as pay_events_count,
        null::numeric as total_gross_pay_gbp,
        job_starts.job_start_date as spell_start_date,
        job_starts.job_end_date as spell_end_date,
        null::date as first_payment_date,
        null::date as last_payment_date,
        to_date(job_starts.reporting_period || '-01', 'YYYY-MM-DD') as recorded_month,
        job_starts.is_self_employed
    from {{ ref('stg_vcse__job_starts') }} as job_starts
    -- a job start whose referral is not in the warehouse (parent quarantined) is held out and
    -- counted in int_child_rows_held_for_missing_parent
    inner join referrals on job_starts.referral_key = referrals.referral_key
    order by job_starts.referral_key asc, job_starts.job_start_date asc, job_starts.file_id desc,
        job_starts.source_row_number desc

),

partner_claims as (

    select
        claims.spell_key,
        claims.evidence_source,
        claims.participant_id,
        claims.partner_id,
        claims.referral_key,
        claims.nino_token,
        claims.employer_ref,
        claims.evidence_type,
        claims.hours_band,
        coalesce(job_updates.updated_hours_per_week, claims.hours_per_week) as hours_per_week,
        coalesce(job_updates.updated_hourly_pay_gbp, claims.hourly_pay_gbp) as hourly_pay_gbp,
        claims.pay_events_count,
        claims.total_gross_pay_gbp,
        claims.spell_start_date,
        coalesce(job_updates.updated_end_date, claims.spell_end_date) as spell_end_date,
        claims.first_payment_date,
        claims.last_payment_date,
        claims.recorded_month,
        claims.is_self_employed,
        claims.partner_job_key,
        coalesce(job_updates.updates_applied_count, 0) as job_updates_applied_count
    from partner_claims_as_recorded as claims
    left join job_updates on claims.partner_job_key = job_updates.partner_job_key

),

hmrc_people as (

    select xref.source_record_key, xref.participant_id
    from {{ ref('stg_linkage__participant_xrefs') }} as xref
    inner join programme_participants on xref.participant_id = programme_participants.participant_id
    where xref.source_record_key like 'hmrc:%'

),

hmrc_spells as (

    select
        employments.hmrc_employment_key as spell_key,
        'hmrc' as evidence_source,
        hmrc_people.participant_id,
        null::text as partner_id,
        null::text as referral_key,
        employments.nino_token,
        employments.employer_ref,
        'hmrc_rti' as evidence_type,
        employments.hours_band,
        null::numeric as hours_per_week,
        null::numeric as hourly_pay_gbp,
        employments.pay_events_count,
        employments.total_gross_pay_gbp,
        employments.spell_start_date,
        employments.spell_end_date,
        employments.first_payment_date,
        employments.last_payment_date,
        null::date as recorded_month,
        false as is_self_employed,
        null::text as partner_job_key,
        0::bigint as job_updates_applied_count
    from {{ ref('int_hmrc_employments_summarised') }} as employments
    inner join hmrc_people on employments.source_record_key = hmrc_people.source_record_key

)

select * from partner_claims
union all
select * from hmrc_spells
