-- One row per piece of employment evidence for a programme participant:
--   'partner': a job start recorded by a VCSE partner (one per referral and job start date; a
--              resubmitted copy keeps the latest file's row). End date only if already ended when
--              the partner recorded it.
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

partner_claims as (

    select distinct on (job_starts.referral_key, job_starts.job_start_date)
        'partner:' || job_starts.referral_key || ':' || job_starts.job_start_date as spell_key,
        'partner' as evidence_source,
        coalesce(referrals.participant_id, 'unlinked:' || job_starts.referral_key) as participant_id,
        job_starts.partner_id,
        job_starts.referral_key,
        null::text as nino_token,
        null::text as employer_ref,
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
    order by job_starts.referral_key, job_starts.job_start_date, job_starts.file_id desc,
        job_starts.source_row_number desc

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
        false as is_self_employed
    from {{ ref('int_hmrc_employments_summarised') }} as employments
    inner join hmrc_people on employments.source_record_key = hmrc_people.source_record_key

)

select * from partner_claims
union all
select * from hmrc_spells
