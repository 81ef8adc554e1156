"""Human-readable labels for the codes the report shows, read from the dbt seeds.

One place for labels: `seeds/code_labels.csv` (code list, code, label) and partner names from
`seeds/delivery_partners.csv`. A code with no label there is shown with its underscores as spaces
and a capital first letter, so a new code never breaks the report (tests/report checks that every
code of the contracts' code lists the report shows has a label).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from worklink.settings import load_settings


def humanise(code: str) -> str:
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Labels:
    codes: dict[tuple[str, str], str] = field(default_factory=dict)
    partners: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_seeds(cls, seeds_dir: Path | None = None) -> Labels:
        seeds_dir = seeds_dir or load_settings().dbt_project_dir / "seeds"
        with (seeds_dir / "code_labels.csv").open(newline="", encoding="utf-8") as handle:
            codes = {(row["code_list"], row["code"]): row["label"] for row in csv.DictReader(handle)}
        with (seeds_dir / "delivery_partners.csv").open(newline="", encoding="utf-8") as handle:
            partners = {row["partner_id"]: row["partner_name"] for row in csv.DictReader(handle)}
        return cls(codes, partners)

    def code(self, code_list: str, code: str) -> str:
        """The label of `code` in `code_list` (a partner id when code_list is delivery_partner)."""
        if code_list in ("delivery_partner", "partner"):
            if code in self.partners:
                return self.partners[code]
            if code == "all":
                return "All partners"
        if code_list == "service_variant" and ":" in code:
            partner, variant = code.split(":", 1)
            return f"{self.code('partner', partner)}: {self.code('service_variant', variant)}"
        return self.codes.get((code_list, code)) or self.codes.get(("any", code)) or humanise(code)

    def partner(self, partner_id: str) -> str:
        return self.code("partner", partner_id)

    def dimension(self, dimension: str) -> str:
        return self.code("dimension", dimension)
