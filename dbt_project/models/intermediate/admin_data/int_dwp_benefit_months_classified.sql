{{ config(indexes=[{'columns': ['source_record_key', 'benefit_month']}]) }}
-- One row per DWP extract row (a person's NINo token and benefit month), with the benefit status
-- used for "benefit status at start". Independent of linkage and of the partners' feeds, so it is
-- rebuilt only when a DWP delivery arrives (the incremental nightly skips it otherwise); indexed
-- for the per-participant lookups downstream. A repeated token-month (two people sharing a NINo in
-- the source, which the staging test warns about) is kept; the lookup takes one deterministically.
-- benefit_status: uc_<conditionality regime> | esa_<group> | pip_or_carers_allowance_only |
--   no_benefit_in_month
select
    benefit_month_key,
    source_record_key,
    nino_token,
    benefit_month,
    is_uc_claimant,
    uc_conditionality_regime,
    is_esa_claimant,
    esa_group,
    is_pip_claimant,
    is_carers_allowance_claimant,
    case
        when is_uc_claimant then 'uc_' || coalesce(uc_conditionality_regime, 'regime_not_recorded')
        when is_esa_claimant then 'esa_' || coalesce(esa_group, 'group_not_recorded')
        when is_pip_claimant or is_carers_allowance_claimant then 'pip_or_carers_allowance_only'
        else 'no_benefit_in_month'
    end as benefit_status
from {{ ref('stg_dwp__benefit_months') }}
