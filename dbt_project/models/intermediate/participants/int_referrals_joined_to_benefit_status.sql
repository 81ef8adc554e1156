-- One row per programme referral with the participant's DWP benefit status in the month of
-- referral and in the month of start (VCSE starts only), from the DWP extract.
-- benefit_status: uc_<conditionality regime> | esa_<group> | pip_or_carers_allowance_only |
--   no_benefit_in_month (in the extract, no benefit that month) | no_dwp_record (not linked to
--   the extract: no NINo known, or never on a benefit in the extract window).
with

referrals as (

    select
        linked.referral_key,
        linked.participant_id,
        linked.referral_month,
        journeys.start_month
    from {{ ref('int_referrals_linked_to_participants') }} as linked
    left join {{ ref('int_referral_journeys_assembled') }} as journeys
        on linked.referral_key = journeys.referral_key

),

dwp_people as (

    select source_record_key, participant_id
    from {{ ref('stg_linkage__participant_xrefs') }}
    where source_record_key like 'dwp:%'

),

participant_months as (

    -- the months we need, per participant: referral and start months only (keeps the join small)
    select participant_id, referral_month as benefit_month from referrals
    union
    select participant_id, start_month from referrals where start_month is not null

),

classified as (

    -- a participant linked to two NINo tokens (rare) takes the first status in this order.
    -- LATERAL + LIMIT: one index lookup per participant-month in the million-row extract, whatever
    -- the planner guesses about the linkage join
    select distinct on (participant_months.participant_id, participant_months.benefit_month)
        participant_months.participant_id,
        participant_months.benefit_month,
        coalesce(benefits.benefit_status, 'no_benefit_in_month') as benefit_status,
        coalesce(benefits.is_uc_claimant, false) as is_uc_claimant,
        coalesce(benefits.is_esa_claimant, false) as is_esa_claimant,
        coalesce(benefits.is_pip_claimant, false) as is_pip_claimant,
        coalesce(benefits.is_carers_allowance_claimant, false) as is_carers_allowance_claimant
    from participant_months
    inner join dwp_people on participant_months.participant_id = dwp_people.participant_id
    left join lateral (
        select *
        from {{ ref('int_dwp_benefit_months_classified') }} as month_status
        where month_status.source_record_key = dwp_people.source_record_key
            and month_status.benefit_month = participant_months.benefit_month
        order by month_status.benefit_status
        limit 1
    ) as benefits on true
    order by participant_months.participant_id, participant_months.benefit_month,
        benefits.benefit_status nulls last

)

select
    referrals.referral_key,
    referrals.participant_id,
    coalesce(at_referral.benefit_status, 'no_dwp_record') as benefit_status_at_referral,
    case
        when referrals.start_month is null then null
        else coalesce(at_start.benefit_status, 'no_dwp_record')
    end as benefit_status_at_start,
    coalesce(at_start.is_uc_claimant, false) as is_uc_claimant_at_start,
    coalesce(at_start.is_esa_claimant, false) as is_esa_claimant_at_start,
    coalesce(at_start.is_pip_claimant, false) as is_pip_claimant_at_start,
    coalesce(at_start.is_carers_allowance_claimant, false) as is_carers_allowance_claimant_at_start,
    dwp.participant_id is not null as is_linked_to_dwp
from referrals
left join classified as at_referral
    on referrals.participant_id = at_referral.participant_id
    and referrals.referral_month = at_referral.benefit_month
left join classified as at_start
    on referrals.participant_id = at_start.participant_id
    and referrals.start_month = at_start.benefit_month
left join (select distinct participant_id from dwp_people) as dwp
    on referrals.participant_id = dwp.participant_id
