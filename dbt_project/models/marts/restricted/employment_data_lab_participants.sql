-- The Employment Data Lab style participant list for impact evaluation: one row per started
-- programme episode, with the consistent start/end definitions, strand and key eligibility flags
-- the EDL filters on. It carries the pseudonym tokens (never identifiers) so that the key holder
-- can attach names, dates of birth and addresses from the identity vault when submitting the list
-- to DWP; for that reason it lives in the `restricted` schema, which neither evaluators nor the
-- public can read.
with

episodes as (

    select * from {{ ref('episodes') }}
    where is_started

),

tokens as (

    select
        linked.participant_id,
        (array_agg(linked.nhs_number_token order by linked.referral_date desc)
            filter (where linked.nhs_number_token is not null))[1] as nhs_number_token,
        (array_agg(linked.ni_number_token order by linked.referral_date desc)
            filter (where linked.ni_number_token is not null))[1] as ni_number_token
    from {{ ref('int_referrals_linked_to_participants') }} as linked
    group by linked.participant_id

),

dwp_tokens as (

    select participant_id, min(substr(source_record_key, 5)) as dwp_nino_token
    from {{ ref('stg_linkage__participant_xrefs') }}
    where source_record_key like 'dwp:%'
    group by participant_id

)

select
    -- ids
    episodes.episode_key,
    episodes.participant_id,
    tokens.nhs_number_token,
    coalesce(tokens.ni_number_token, dwp_tokens.dwp_nino_token) as ni_number_token,

    -- strings
    episodes.programme,
    episodes.lead_partner_id as delivery_partner_id,
    episodes.service_variant as programme_strand,
    episodes.sex,
    episodes.age_band_at_referral,
    episodes.postcode_district,
    episodes.borough,
    episodes.priority_group,
    episodes.main_condition,
    episodes.economic_status_at_referral,
    episodes.benefit_status_at_start,

    -- dates
    episodes.first_referral_date,
    episodes.start_date as programme_start_date,
    episodes.exit_date as programme_end_date,

    -- flags
    episodes.priority_group = 'health_condition' as has_health_condition,
    episodes.priority_group = 'disability' as has_disability,
    episodes.priority_group = 'carer' as is_carer
from episodes
left join tokens on episodes.participant_id = tokens.participant_id
left join dwp_tokens on episodes.participant_id = dwp_tokens.participant_id
