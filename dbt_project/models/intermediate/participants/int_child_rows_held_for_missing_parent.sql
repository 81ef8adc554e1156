-- One row per partner child record (start/did-not-start decision, activity, job start, leaver,
-- wellbeing response) whose referral is not in the warehouse: its parent referral row was
-- quarantined at ingest (or never sent). Such rows are held out of every intermediate model and
-- mart (each joins its child rows to int_referrals_linked_to_participants with an inner join) and
-- counted here, so a quarantined parent never breaks the nightly build and the marts say how much
-- they leave out (mart: rows_held_for_missing_parent_by_partner_month). They join the marts on the
-- night the partner resubmits the parent referral. The WorkWell service's feeds (starts, contacts,
-- exits, fit notes) are children of the ICB referrals in the same way.
-- Job updates and payslips name their parent job by the partner's job id: one whose job is not known
-- (or that cannot be applied) is held here too, with its reason (int_job_updates_matched,
-- int_payslips_matched_to_jobs).
{% set feeds = [
    ('starts', 'stg_vcse__starts'),
    ('activities', 'stg_vcse__activities'),
    ('job_starts', 'stg_vcse__job_starts'),
    ('leavers', 'stg_vcse__leavers'),
    ('wellbeing', 'stg_vcse__wellbeing_responses'),
    ('starts', 'stg_icb__workwell_starts'),
    ('contacts', 'stg_icb__workwell_contacts'),
    ('exits', 'stg_icb__workwell_exits'),
    ('fit_notes', 'stg_icb__workwell_fit_notes'),
    ('job_updates', 'stg_vcse__job_updates'),
    ('payslips', 'stg_vcse__payslips'),
] %}
with

referrals as (

    select referral_key from {{ ref('int_referrals_linked_to_participants') }}

),

children as (

    {% for feed, model in feeds %}
    select
        '{{ feed }}' as feed,
        partner_id,
        referral_key,
        file_id,
        source_row_number,
        reporting_period
    from {{ ref(model) }}
    {{ 'union all' if not loop.last }}
    {% endfor %}

)

select
    children.feed || ':' || children.file_id || ':' || children.source_row_number as held_row_key,
    children.feed,
    children.partner_id,
    children.referral_key,
    children.file_id,
    children.source_row_number,
    children.reporting_period,
    'parent_referral_not_in_warehouse' as hold_reason
from children
left join referrals on children.referral_key = referrals.referral_key
where referrals.referral_key is null

{% for feed, model in {'job_updates': 'int_job_updates_matched', 'payslips': 'int_payslips_matched_to_jobs'}.items() %}
union all

-- {{ feed }} whose referral is known but whose job is not (or that cannot be applied)
select
    '{{ feed }}:' || file_id || ':' || source_row_number,
    '{{ feed }}',
    partner_id,
    referral_key,
    file_id,
    source_row_number,
    reporting_period,
    hold_reason
from {{ ref(model) }}
where hold_reason <> 'parent_referral_not_in_warehouse'
{% endfor %}
