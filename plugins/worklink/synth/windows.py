"""The outcome windows of the generator's truth, read from the warehouse's own dbt vars.

The truth counts (sustained in work for the short/long window, WorkWell retained in work for the
short/long window, the follow-up after exit in which a job start counts) use the same values the
dbt models use, from ``vars:`` in dbt_project/dbt_project.yml, so the two cannot drift: change a
window there and both the warehouse and the truth follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ..settings import REPO_ROOT

DBT_PROJECT_YML = REPO_ROOT / "dbt_project" / "dbt_project.yml"


@dataclass(frozen=True)
class OutcomeWindows:
    sustained_short_weeks: int
    sustained_long_weeks: int
    workwell_retention_short_weeks: int
    workwell_retention_long_weeks: int
    outcome_followup_days_after_exit: int

    @property
    def sustained_days(self) -> dict[str, int]:
        """Role -> window length in days (N weeks = 7N days), e.g. {"short": 91, "long": 182}."""
        return {"short": 7 * self.sustained_short_weeks, "long": 7 * self.sustained_long_weeks}

    @property
    def retention_weeks(self) -> dict[str, int]:
        """Role -> WorkWell retention window in weeks, e.g. {"short": 13, "long": 26}."""
        return {"short": self.workwell_retention_short_weeks, "long": self.workwell_retention_long_weeks}


def read_windows(path: Path = DBT_PROJECT_YML) -> OutcomeWindows:
    """The windows from a dbt_project.yml; a missing var is an error naming the file and the var."""
    variables = (yaml.safe_load(path.read_text()) or {}).get("vars") or {}
    values = {}
    for name in OutcomeWindows.__dataclass_fields__:
        if name not in variables:
            raise KeyError(f"{path}: vars has no {name!r} (the generator's truth reads it)")
        values[name] = int(variables[name])
    return OutcomeWindows(**values)


@cache
def outcome_windows() -> OutcomeWindows:
    """The windows of this repository's dbt project (read once per process)."""
    return read_windows()
