-- One row per participant-level job start with every outcome rule applied. The rules and their
-- variables are documented in docs/outcome_definitions.md; each rule has dbt unit tests
-- (models/intermediate/employment/_employment__unit_tests.yml) covering its edge cases.
--
--   job start          evidenced hours >= var('job_start_min_hours_per_week') (IPS Grow: 4 hours
--                      of paid work). HMRC-only jobs report no usable hours, so their hours are the
--                      earnings-equivalent hours at the NLW in force at the job start.
--   N weeks            everywhere (docs: n_weeks): the 7N days from the start date counted
--                      inclusively, start .. start + 7N - 1; "lasts N weeks" means in work on the
--                      last of them, and a rule is due once that day is on or before the as-at date.
--   sustained N weeks  in work continuously from the job start for N weeks (columns *_short: N =
--                      var('sustained_short_weeks'), 13; *_long: var('sustained_long_weeks'), 26): the
--                      job's continuous spell (jobs joined across restarts of at most
--                      var('job_restart_gap_days')) reaches start + 7N - 1, and that day is on or
--                      before the as-at date. Matches the generator's truth.
--   earnings outcome   cumulative earnings from all paid work in the N weeks from the job start
--                      >= var('earnings_test_hours_per_week') x N x the adult NLW in force on the
--                      job start date (seed national_living_wage_rates). Evidence of a job's pay,
--                      in order of precedence (docs: earnings_evidence): HMRC pay (a job HMRC shows:
--                      its partner payslips and declared pay are not used), then the partner's
--                      payslips (int_payslips_matched_to_jobs; each attributed pro rata to the days
--                      it covers, from the day after the job's previous payslip to its pay date),
--                      then declared hours x hourly pay for the days after the last payslip.
--   IPS threshold      at least var('ips_weeks_required') weeks (x7 days) in work at
--                      >= var('ips_min_hours_per_week') hours a week within
--                      var('ips_window_weeks') weeks of the job start.
--   self-employment    a job start recorded as self-employed; sustained over the long window as above.
--
-- This model is the one place that decides whether a job counts (docs: outcome_integrity); every
-- mart reads its flags. A job counts (is_job_start) when it meets the job-start hours rule and the
-- DWP/HMRC evidence does not contradict it. A contradicted job (is_contradicted) is never an
-- outcome: its statuses are 'contradicted', its declared hours x pay never feed an earnings test,
-- and its dates never extend another job's continuity or IPS days.
-- Each outcome has a status: achieved | not_achieved | pending (its window is not over yet, or
-- the data do not reach that far) | contradicted | not_applicable (a job that began before the
-- first referral, or under the job-start hours).
with

jobs as (

    select * from {{ ref('int_job_starts_identified') }}

),

pay as (

    select * from {{ ref('int_pay_events_attributed_to_periods') }}

),

payslips as (

    select * from {{ ref('int_payslips_matched_to_jobs') }}
    where payslip_status = 'matched'

),

payslips_by_job as (

    select job_start_key, max(pay_date) as last_pay_date
    from payslips
    group by job_start_key

),

nlw as (

    select * from {{ ref('national_living_wage_rates') }}

),

dates as (

    select * from {{ ref('int_reporting_dates_derived') }}

),

hmrc_weekly_pay as (

    select
        spell_key,
        sum(gross_pay_gbp) / nullif(sum(covered_days), 0) * 7 as average_weekly_pay_gbp
    from pay
    group by spell_key

),

hmrc_linked as (

    select distinct participant_id from pay

),

rated as (

    select
        jobs.*,
        nlw.nlw_hourly_gbp as nlw_at_job_start_gbp,
        hmrc_weekly_pay.average_weekly_pay_gbp,
        coalesce(jobs.evidenced_end_date, jobs.open_end_date) as effective_end_date,
        jobs.evidenced_end_date is null as is_ongoing,
        coalesce(
            jobs.hours_per_week,
            case
                -- RTI bands B-D mean at least 16 normal hours a week
                when jobs.hours_band in ('b', 'c', 'd')
                    then greatest(16, hmrc_weekly_pay.average_weekly_pay_gbp / nlw.nlw_hourly_gbp)
                else hmrc_weekly_pay.average_weekly_pay_gbp / nlw.nlw_hourly_gbp
            end
        ) as evidenced_hours_per_week,
        hmrc_linked.participant_id is not null as is_hmrc_linked,
        -- the end a job's evidence supports; none for a contradicted job
        case when not jobs.is_contradicted then coalesce(jobs.evidenced_end_date, jobs.open_end_date) end
            as evidence_end_date
    from jobs
    left join nlw
        on jobs.job_start_date between cast(nlw.effective_from as date) and cast(nlw.effective_to as date)
    left join hmrc_weekly_pay on jobs.job_start_key = hmrc_weekly_pay.spell_key
    left join hmrc_linked on jobs.participant_id = hmrc_linked.participant_id

),

with_prior_end as (

    select
        *,
        max(evidence_end_date) over (
            partition by participant_id
            order by job_start_date, job_start_key
            rows between unbounded preceding and 1 preceding
        ) as prior_max_end_date
    from rated

),

islands as (

    select
        *,
        sum(
            case
                when prior_max_end_date is null
                    or job_start_date > prior_max_end_date + {{ var('job_restart_gap_days') }}
                then 1 else 0
            end
        ) over (
            partition by participant_id
            order by job_start_date, job_start_key
            rows between unbounded preceding and current row
        ) as continuous_spell_number
    from with_prior_end

),

continuity as (

    select
        *,
        coalesce(evidenced_hours_per_week >= {{ var('job_start_min_hours_per_week') }}, false)
            as meets_job_start_hours_rule,
        -- counted: an outcome job whose outcomes are judged (after the first referral, meets the
        -- hours rule, not contradicted)
        not coalesce(is_before_first_referral, false)
            and coalesce(evidenced_hours_per_week >= {{ var('job_start_min_hours_per_week') }}, false)
            and not is_contradicted as is_counted,
        max(evidence_end_date) over (partition by participant_id, continuous_spell_number)
            as continuous_end_date,
        -- the spell's last day is an open end: the job may well continue beyond the evidence
        bool_or(is_ongoing and evidence_end_date = open_end_date) over (
            partition by participant_id, continuous_spell_number
        ) as is_continuous_spell_open
    from islands

),

outcome_jobs as (

    -- only jobs started on or after the participant's first referral are outcomes
    select * from continuity where not coalesce(is_before_first_referral, false)

),

{% set windows = {'short': var('sustained_short_weeks'), 'long': var('sustained_long_weeks')} %}

hmrc_earnings as (

    -- HMRC pay (all employers) attributed pro rata to the days it covers inside each window
    select
        outcome_jobs.job_start_key,
        {% for label, weeks in windows.items() %}
        sum(
            pay.gross_pay_gbp
            * greatest(0, least(pay.covered_to_date, outcome_jobs.job_start_date + {{ weeks }} * 7 - 1)
                - greatest(pay.covered_from_date, outcome_jobs.job_start_date) + 1)
            / pay.covered_days
        ) as earnings_{{ label }}_gbp{{ ',' if not loop.last }}
        {% endfor %}
    from outcome_jobs
    inner join pay
        on outcome_jobs.participant_id = pay.participant_id
        and outcome_jobs.job_start_date <= pay.covered_to_date
        and pay.covered_from_date <= outcome_jobs.job_start_date
            + greatest({{ windows.values() | join(', ') }}) * 7 - 1
    group by outcome_jobs.job_start_key

),

payslip_earnings as (

    -- jobs only a partner evidences, with payslips: each payslip's pay attributed pro rata to the
    -- days it covers inside each window (a contradicted job's payslips never count)
    select
        outcome_jobs.job_start_key,
        {% for label, weeks in windows.items() %}
        sum(
            payslips.gross_pay_gbp
            * greatest(0, least(payslips.covered_to_date, outcome_jobs.job_start_date + {{ weeks }} * 7 - 1)
                - greatest(payslips.covered_from_date, outcome_jobs.job_start_date) + 1)
            / payslips.covered_days
        ) as earnings_{{ label }}_gbp{{ ',' if not loop.last }}
        {% endfor %}
    from outcome_jobs
    inner join continuity as other
        on outcome_jobs.participant_id = other.participant_id
        and not other.has_hmrc_evidence
        and not other.is_contradicted
    inner join payslips on other.job_start_key = payslips.job_start_key
    group by outcome_jobs.job_start_key

),

declared_earnings as (

    -- jobs only a partner evidences (self-employment, no NINo): hours x hourly pay for the days
    -- in work inside each window, up to the as-at date, after the job's last payslip (if any)
    select
        outcome_jobs.job_start_key,
        {% for label, weeks in windows.items() %}
        sum(
            other.hours_per_week * other.hourly_pay_gbp / 7.0
            * greatest(0, least(other.effective_end_date, dates.as_at_date,
                    outcome_jobs.job_start_date + {{ weeks }} * 7 - 1)
                - greatest(other.job_start_date, outcome_jobs.job_start_date,
                    coalesce(payslips_by_job.last_pay_date + 1, other.job_start_date)) + 1)
        ) as earnings_{{ label }}_gbp{{ ',' if not loop.last }}
        {% endfor %}
    from outcome_jobs
    cross join dates
    inner join continuity as other
        on outcome_jobs.participant_id = other.participant_id
        and not other.has_hmrc_evidence
        and not other.is_contradicted
        and other.hourly_pay_gbp is not null
    left join payslips_by_job on other.job_start_key = payslips_by_job.job_start_key
    group by outcome_jobs.job_start_key

),

earnings as (

    select
        outcome_jobs.job_start_key,
        {% for label, weeks in windows.items() %}
        coalesce(hmrc_earnings.earnings_{{ label }}_gbp, 0) as hmrc_earnings_{{ label }}_gbp,
        coalesce(payslip_earnings.earnings_{{ label }}_gbp, 0) as payslip_earnings_{{ label }}_gbp,
        coalesce(declared_earnings.earnings_{{ label }}_gbp, 0)
            as declared_earnings_{{ label }}_gbp{{ ',' if not loop.last }}
        {% endfor %}
    from outcome_jobs
    left join hmrc_earnings on outcome_jobs.job_start_key = hmrc_earnings.job_start_key
    left join payslip_earnings on outcome_jobs.job_start_key = payslip_earnings.job_start_key
    left join declared_earnings on outcome_jobs.job_start_key = declared_earnings.job_start_key

),

qualifying_ordered as (

    -- jobs of 7+ hours a week, merged into non-overlapping spells so a day in two jobs counts once
    select
        participant_id,
        job_start_date,
        effective_end_date,
        max(effective_end_date) over (
            partition by participant_id
            order by job_start_date, job_start_key
            rows between unbounded preceding and 1 preceding
        ) as prior_max_end_date
    from continuity
    where evidenced_hours_per_week >= {{ var('ips_min_hours_per_week') }}
        and not is_contradicted

),

qualifying_grouped as (

    select
        *,
        sum(case when prior_max_end_date is null or job_start_date > prior_max_end_date + 1 then 1 else 0 end)
            over (partition by participant_id order by job_start_date, effective_end_date
                  rows between unbounded preceding and current row) as spell_number
    from qualifying_ordered

),

qualifying_spells as (

    select participant_id, min(job_start_date) as spell_start_date, max(effective_end_date) as spell_end_date
    from qualifying_grouped
    group by participant_id, spell_number

),

ips_overlaps as (

    -- days in qualifying work inside each job's IPS window (up to the as-at date); an inner join,
    -- because PostgreSQL's least()/greatest() skip nulls
    select
        outcome_jobs.job_start_key,
        sum(greatest(0,
            least(qualifying_spells.spell_end_date, dates.as_at_date,
                  outcome_jobs.job_start_date + {{ var('ips_window_weeks') }} * 7 - 1)
            - greatest(qualifying_spells.spell_start_date, outcome_jobs.job_start_date) + 1
        )) as ips_qualifying_days
    from outcome_jobs
    cross join dates
    inner join qualifying_spells on outcome_jobs.participant_id = qualifying_spells.participant_id
    group by outcome_jobs.job_start_key

),

ips_days as (

    select outcome_jobs.job_start_key, coalesce(ips_overlaps.ips_qualifying_days, 0) as ips_qualifying_days
    from outcome_jobs
    left join ips_overlaps on outcome_jobs.job_start_key = ips_overlaps.job_start_key

),

evaluated as (

    select
        continuity.job_start_key,
        continuity.participant_id,
        continuity.job_start_date,
        continuity.evidenced_end_date,
        continuity.continuous_end_date,
        continuity.is_continuous_spell_open,
        continuity.has_hmrc_evidence,
        continuity.has_partner_claim,
        continuity.is_hmrc_linked,
        continuity.is_before_first_referral,
        continuity.is_self_employed,
        continuity.hours_per_week,
        continuity.hours_band,
        continuity.hourly_pay_gbp,
        continuity.average_weekly_pay_gbp,
        continuity.evidenced_hours_per_week,
        continuity.nlw_at_job_start_gbp,
        continuity.claims_count,
        continuity.claiming_partners_count,
        continuity.claiming_partners,
        continuity.first_claim_referral_key,
        continuity.attributed_partner_id,
        continuity.is_contradicted,
        continuity.meets_job_start_hours_rule,

        -- job start: meets the hours rule and is not contradicted by the evidence
        continuity.meets_job_start_hours_rule and not continuity.is_contradicted as is_job_start,
        continuity.meets_job_start_hours_rule and not continuity.is_contradicted
            and continuity.is_self_employed as is_self_employment_start,

        {% for label, weeks in windows.items() %}
        -- sustained_{{ label }}: {{ weeks }} weeks (in work, duration)
        -- the window's last day (docs: n_weeks)
        continuity.job_start_date + {{ weeks }} * 7 - 1 as sustained_{{ label }}_due_date,
        case
            when continuity.is_before_first_referral then 'not_applicable'
            when not continuity.meets_job_start_hours_rule then 'not_applicable'
            when continuity.is_contradicted then 'contradicted'
            when continuity.job_start_date + {{ weeks }} * 7 - 1 <= dates.as_at_date
                and continuity.continuous_end_date >= continuity.job_start_date + {{ weeks }} * 7 - 1
                then 'achieved'
            when continuity.job_start_date + {{ weeks }} * 7 - 1 > dates.as_at_date then 'pending'
            when continuity.is_continuous_spell_open
                and continuity.continuous_end_date < continuity.job_start_date + {{ weeks }} * 7 - 1
                then 'pending'
            else 'not_achieved'
        end as sustained_{{ label }}_status,

        -- earnings test, {{ label }} window: {{ weeks }} weeks
        {{ var('earnings_test_hours_per_week') }} * {{ weeks }} * continuity.nlw_at_job_start_gbp
            as earnings_threshold_{{ label }}_gbp,
        round(earnings.hmrc_earnings_{{ label }}_gbp + earnings.payslip_earnings_{{ label }}_gbp
            + earnings.declared_earnings_{{ label }}_gbp, 2) as earnings_{{ label }}_gbp,
        round(earnings.payslip_earnings_{{ label }}_gbp, 2) as payslip_earnings_{{ label }}_gbp,
        -- the evidence that made up the earnings, in order of precedence, e.g. 'hmrc',
        -- 'partner_payslips_and_partner_declared', 'hmrc_and_partner_declared'; 'none' without any
        coalesce(nullif(concat_ws('_and_',
            case when earnings.hmrc_earnings_{{ label }}_gbp > 0 then 'hmrc' end,
            case when earnings.payslip_earnings_{{ label }}_gbp > 0 then 'partner_payslips' end,
            case when earnings.declared_earnings_{{ label }}_gbp > 0 then 'partner_declared' end
        ), ''), 'none') as earnings_{{ label }}_basis,
        case
            when continuity.is_before_first_referral then 'not_applicable'
            when not continuity.meets_job_start_hours_rule then 'not_applicable'
            when continuity.is_contradicted then 'contradicted'
            when earnings.hmrc_earnings_{{ label }}_gbp + earnings.payslip_earnings_{{ label }}_gbp
                + earnings.declared_earnings_{{ label }}_gbp
                >= {{ var('earnings_test_hours_per_week') }} * {{ weeks }} * continuity.nlw_at_job_start_gbp
                then 'achieved'
            when continuity.job_start_date + {{ weeks }} * 7 - 1 > dates.as_at_date then 'pending'
            when continuity.is_hmrc_linked
                and (dates.hmrc_coverage_end_date is null
                    or continuity.job_start_date + {{ weeks }} * 7 - 1 + {{ var('hmrc_reporting_lag_days') }}
                        > dates.hmrc_coverage_end_date)
                then 'pending'
            else 'not_achieved'
        end as earnings_outcome_{{ label }}_status,
        -- due: the window is over for everyone, so a rate over due jobs is not biased towards
        -- early successes (achieved can be known early, not achieved only at the end)
        continuity.is_counted
            and continuity.job_start_date + {{ weeks }} * 7 - 1 <= dates.as_at_date
            as is_sustained_{{ label }}_due,
        continuity.is_counted
            and continuity.job_start_date + {{ weeks }} * 7 - 1 <= dates.as_at_date
            and (not continuity.is_hmrc_linked
                or continuity.job_start_date + {{ weeks }} * 7 - 1 + {{ var('hmrc_reporting_lag_days') }}
                    <= dates.hmrc_coverage_end_date)
            as is_earnings_outcome_{{ label }}_due,
        {% endfor %}

        -- IPS primary care threshold
        ips_days.ips_qualifying_days,
        case
            when continuity.is_before_first_referral then 'not_applicable'
            when not continuity.meets_job_start_hours_rule then 'not_applicable'
            when continuity.is_contradicted then 'contradicted'
            when ips_days.ips_qualifying_days >= {{ var('ips_weeks_required') }} * 7 then 'achieved'
            when continuity.job_start_date + {{ var('ips_window_weeks') }} * 7 - 1 > dates.as_at_date then 'pending'
            else 'not_achieved'
        end as ips_threshold_status,

        dates.as_at_date
    from continuity
    cross join dates
    left join earnings on continuity.job_start_key = earnings.job_start_key
    left join ips_days on continuity.job_start_key = ips_days.job_start_key

)

select
    *,
    sustained_short_status = 'achieved' and is_job_start as is_sustained_short,
    sustained_long_status = 'achieved' and is_job_start as is_sustained_long,
    earnings_outcome_short_status = 'achieved' and is_job_start as is_earnings_outcome_short,
    earnings_outcome_long_status = 'achieved' and is_job_start as is_earnings_outcome_long,
    ips_threshold_status = 'achieved' and is_job_start as is_ips_threshold_outcome,
    is_self_employment_start and sustained_long_status = 'achieved'
        as is_self_employment_sustained_long
from evaluated
