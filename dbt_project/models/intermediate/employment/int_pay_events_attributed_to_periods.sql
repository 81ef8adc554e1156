{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['source_record_key']}],
    pre_hook=[
        "{{ delete_all_if_upstream_rebuilt(ref('int_hmrc_pay_events_attributed')) }}",
        "{{ pay_events_delete_relinked_people() }}",
    ],
    post_hook=["{{ record_upstream_table(ref('int_hmrc_pay_events_attributed')) }}"],
    meta={'statistics_target': 100},
) }}
-- One row per HMRC pay event of a programme participant with the days the pay covers
-- (int_hmrc_pay_events_attributed), attached to the participant through the linkage xref; the
-- input of the earnings test. People in the extract who were never referred are left out.
--
-- Incremental, by HMRC person: a row depends only on its pay event and on which participant its
-- HMRC record ('hmrc:<nino_token>') belongs to, not on the as-at date. A nightly run keeps the
-- rows of every HMRC record whose participant is unchanged and rebuilds only the others:
--   1. pre-hooks: delete every row when int_hmrc_pay_events_attributed has been rebuilt since this
--      table was (an HMRC delivery; the post-hook records which build of it this table was made
--      from), and the rows of HMRC records no longer attached to the same participant (re-linked,
--      or no longer a programme participant);
--   2. insert the rows of every (HMRC record, participant) pair that has none left.
-- The result is row for row what a full refresh gives (tests/dbt/test_incremental_builds.py).
with

hmrc_people as (

    select distinct 'hmrc:' || spells.nino_token as source_record_key, spells.participant_id
    from {{ ref('int_employment_spells_unioned') }} as spells
    where spells.evidence_source = 'hmrc'

),

{% if is_incremental_by('source_record_key') %}
missing_people as (

    -- pairs with no rows left after the pre-hook: new, re-linked, or all after an HMRC delivery
    select hmrc_people.source_record_key, hmrc_people.participant_id
    from hmrc_people
    where not exists (
        select 1 from {{ this }} as kept
        where kept.source_record_key = hmrc_people.source_record_key
            and kept.participant_id = hmrc_people.participant_id
    )

),
{% else %}
missing_people as (

    select * from hmrc_people

),
{% endif %}

attributed as (

    select
        pay.pay_event_key,
        missing_people.participant_id,
        pay.source_record_key,
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
    inner join missing_people on pay.source_record_key = missing_people.source_record_key

)

select * from attributed
