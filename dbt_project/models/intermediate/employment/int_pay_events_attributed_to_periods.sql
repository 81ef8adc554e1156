-- One row per HMRC pay event of a programme participant with the days the pay covers
-- (int_hmrc_pay_events_attributed), attached to the participant through the linkage xref; the
-- input of the earnings test. People in the extract who were never referred are left out.
with

hmrc_people as (

    select distinct 'hmrc:' || spells.nino_token as source_record_key, spells.participant_id
    from {{ ref('int_employment_spells_unioned') }} as spells
    where spells.evidence_source = 'hmrc'

)

select
    pay.pay_event_key,
    hmrc_people.participant_id,
    pay.hmrc_employment_key as spell_key,
    pay.employer_ref,
    pay.pay_frequency,
    pay.hours_band,
    pay.gross_pay_gbp,
    pay.payment_date,
    pay.covered_from_date,
    pay.covered_to_date,
    pay.covered_days
from {{ ref('int_hmrc_pay_events_attributed') }} as pay
inner join hmrc_people on pay.source_record_key = hmrc_people.source_record_key
