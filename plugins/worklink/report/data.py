"""Read the published marts, and nothing else, as the worklink_public role."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql

from worklink.report.labels import Labels
from worklink.report.sdc import Policy

PUBLIC_ROLE = "worklink_public"

TABLES = (
    "funnel_by_cohort_month",
    "workwell_funnel_by_cohort_month",
    "did_not_start_reasons",
    "outcomes_by_subgroup",
    "outcomes_by_service_variant",
    "timeliness_by_partner",
    "wellbeing_change_summary",
    "cost_per_outcome",
    "payment_by_results_summary",
    "data_quality_scorecard",
    "outcome_windows",
)


@dataclass
class PublishedData:
    tables: dict[str, pd.DataFrame]
    labels: Labels = field(default_factory=Labels)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def window_weeks(self) -> dict[str, int]:
        """Outcome window role (sustained_short, retained_long, ...) -> its length in weeks, as the
        warehouse measured it (published.outcome_windows: the dbt vars of the build)."""
        frame = self.tables["outcome_windows"]
        weeks = {row.outcome_window: int(row.value) for row in frame.itertuples(index=False)
                 if row.measure == "weeks"}
        if not weeks:
            raise ValueError("published.outcome_windows holds no window: the report cannot name the outcome weeks")
        return weeks

    def weeks(self, text: str) -> str:
        """``text`` with each ``{<window role>}`` replaced by that window's weeks, so a heading never
        states a number of weeks the warehouse did not use: 'Job sustained {sustained_short} weeks'."""
        return text.format_map(self.window_weeks())


def load_published(url: str, role: str | None = PUBLIC_ROLE, policy: Policy | None = None) -> PublishedData:
    """Every long-format published table, each cell re-checked against the policy.

    With `role`, the session switches to that role first (SET ROLE), so the database itself
    guarantees that nothing outside `published` can be read.
    """
    policy = policy or Policy.from_dbt_project()
    tables: dict[str, pd.DataFrame] = {}
    with psycopg.connect(url) as conn:
        if role:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        for table in TABLES:
            cursor = conn.execute(sql.SQL("select * from {}.{}").format(
                sql.Identifier("published"), sql.Identifier(table)))
            frame = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
            for row in frame.itertuples(index=False):
                policy.check_cell(row.measure_kind, row.value, row.is_suppressed,
                                  where=f"published.{table} {row.measure}")
            frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
            tables[table] = frame
    return PublishedData(tables, Labels.from_seeds())
