"""dbt files generated from the contracts, so the warehouse cannot drift from them.

``dbt_project/seeds/delivery_partners.csv`` and ``partner_grants.csv`` are written from
``contracts/<partner>/partner.yml``, ``programmes.csv`` (each programme's start, end and outcome set,
which the models join per programme) from ``contracts/_programmes.yml``, and the ``code_list(name)`` macro (``macros/code_list.sql``,
read by the models' ``accepted_values`` tests) from ``contracts/_code_lists.yml``
(``worklink contracts build-seeds``; the nightly dbt step rewrites them before dbt parses). A test
keeps the committed files equal to this output.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from worklink.contracts import DELIVERY_KINDS, load_code_lists, load_partners, load_programmes
from worklink.settings import load_settings

PARTNER_COLUMNS = ["partner_id", "partner_name", "programme", "partner_kind", "borough"]
GRANT_COLUMNS = ["partner_id", "grant_reference", "grant_start_date", "grant_end_date", "grant_amount_gbp", "note"]
PROGRAMME_COLUMNS = ["programme", "programme_name", "start_date", "end_date", "outcomes"]


def _csv(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def seed_texts(contracts_dir: Path | None = None) -> dict[str, str]:
    """Seed file name -> its CSV text, from the partner folders and programmes of ``contracts_dir``."""
    partners = [p for p in load_partners(contracts_dir) if p.kind in DELIVERY_KINDS]
    partners.sort(key=lambda p: (DELIVERY_KINDS.index(p.kind), p.id))
    delivery = [{"partner_id": p.id, "partner_name": p.name, "programme": p.programme, "partner_kind": p.kind,
                 "borough": p.borough} for p in partners]
    grants = [{"partner_id": p.id, "grant_reference": g.reference, "grant_start_date": g.start.isoformat(),
               "grant_end_date": g.end.isoformat(), "grant_amount_gbp": g.amount_gbp, "note": g.note}
              for p in partners for g in p.grants]
    # in file order; outcomes space-separated (a programme without an end or outcomes, such as an
    # administrative extract's window, has empty cells)
    programmes = [{"programme": pid, "programme_name": p.name, "start_date": p.start.isoformat(),
                   "end_date": p.end.isoformat() if p.end else "", "outcomes": " ".join(p.outcomes)}
                  for pid, p in load_programmes(contracts_dir).items()]
    return {"delivery_partners.csv": _csv(PARTNER_COLUMNS, delivery),
            "partner_grants.csv": _csv(GRANT_COLUMNS, grants),
            "programmes.csv": _csv(PROGRAMME_COLUMNS, programmes)}


def code_list_macro_text(contracts_dir: Path | None = None) -> str:
    """``macros/code_list.sql``: ``code_list('sex')`` returns that list of contracts/_code_lists.yml."""
    lists = ",\n".join(f"    {json.dumps(name)}: {json.dumps(values, ensure_ascii=False)}"
                        for name, values in load_code_lists(contracts_dir).items())
    return ("{#- Generated from contracts/_code_lists.yml by `worklink contracts build-seeds`: edit that file. -#}\n"
            "{% macro code_list(name) -%}\n"
            f"{{%- set lists = {{\n{lists}\n}} -%}}\n"
            "{{ return(lists[name]) }}\n"
            "{%- endmacro %}\n")


def generated_texts(contracts_dir: Path | None = None) -> dict[str, str]:
    """Path inside dbt_project/ -> the text generated from ``contracts_dir``."""
    return {**{f"seeds/{name}": text for name, text in seed_texts(contracts_dir).items()},
            "macros/code_list.sql": code_list_macro_text(contracts_dir)}


def write_generated(contracts_dir: Path | None = None, project_dir: Path | None = None) -> list[Path]:
    """Rewrite the generated dbt files; returns those whose content changed (unchanged files are not
    touched, so dbt's state comparison sees no change)."""
    project_dir = project_dir or load_settings().dbt_project_dir
    changed = []
    for name, text in generated_texts(contracts_dir).items():
        path = project_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
