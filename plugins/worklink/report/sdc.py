"""The disclosure-control policy of the `published` schema, in Python, for the report.

The report only shows cells that dbt's `disclosure_control` macro already published; this module
re-checks each one before it is displayed (fail closed), with the thresholds read from the same
dbt variables, and protects any count the report would derive itself in exactly the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from worklink.settings import load_settings

SUPPRESSED = "[c]"


class DisclosureError(RuntimeError):
    """A cell about to be displayed breaks the disclosure-control policy."""


@dataclass(frozen=True)
class Policy:
    small_count_max: int = 7
    rounding_base: int = 5
    min_base: int = 10
    suppress_zeros: bool = False

    @classmethod
    def from_dbt_project(cls, path: Path | None = None) -> Policy:
        path = path or load_settings().dbt_project_dir / "dbt_project.yml"
        variables = (yaml.safe_load(path.read_text()) or {}).get("vars", {})
        return cls(
            small_count_max=int(variables.get("sdc_small_count_max", cls.small_count_max)),
            rounding_base=int(variables.get("sdc_rounding_base", cls.rounding_base)),
            min_base=int(variables.get("sdc_min_base", cls.min_base)),
            suppress_zeros=bool(variables.get("sdc_suppress_zeros", cls.suppress_zeros)),
        )

    def protect_count(self, raw: int) -> tuple[int | None, str, str]:
        """(value, display, rule) for a count, as the dbt macro would publish it (primary rules)."""
        if 1 <= raw <= self.small_count_max or (raw == 0 and self.suppress_zeros):
            return None, SUPPRESSED, "suppressed_small_count" if raw else "suppressed_zero"
        if raw == 0:
            return 0, "0", "zero_shown"
        value = int(round(raw / self.rounding_base)) * self.rounding_base
        return value, f"{value:,}", f"rounded_to_nearest_{self.rounding_base}"

    def check_cell(self, measure_kind: str, value, is_suppressed: bool, where: str = "") -> None:
        """Raise DisclosureError unless the published cell obeys the policy."""
        if is_suppressed:
            if value is not None:
                raise DisclosureError(f"{where}: suppressed cell carries a value")
            return
        if measure_kind != "count":
            return
        if value is None:
            raise DisclosureError(f"{where}: unsuppressed count without a value")
        number = float(value)
        if 1 <= number <= self.small_count_max:
            raise DisclosureError(f"{where}: count {number:g} is between 1 and {self.small_count_max}")
        if number and number % self.rounding_base:
            raise DisclosureError(f"{where}: count {number:g} is not rounded to {self.rounding_base}")
        if number == 0 and self.suppress_zeros:
            raise DisclosureError(f"{where}: zero shown although zeros are suppressed")
