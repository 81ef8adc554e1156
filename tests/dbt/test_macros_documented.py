"""Every dbt macro of the project is described, with its arguments, in macros/_macros.yml (shown in
`dbt docs`); a macro added without a description fails here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros"
DEFINITION = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(([^)]*)\)")


def _defined() -> dict[str, list[str]]:
    found = {}
    for path in sorted(MACROS.glob("*.sql")):
        for name, params in DEFINITION.findall(path.read_text()):
            found[name] = [p.split("=")[0].strip() for p in params.split(",") if p.strip()]
    return found


def test_every_macro_and_argument_is_documented():
    documented = {m["name"]: m for m in yaml.safe_load((MACROS / "_macros.yml").read_text())["macros"]}
    defined = _defined()
    assert len(defined) >= 15
    assert sorted(set(defined) - set(documented)) == [], "macros without a description in _macros.yml"
    assert sorted(set(documented) - set(defined)) == [], "descriptions of macros that no longer exist"
    for name, params in defined.items():
        entry = documented[name]
        assert entry.get("description", "").strip(), name
        assert [a["name"] for a in entry.get("arguments", [])] == params, name
        assert all(a.get("description") for a in entry.get("arguments", [])), name
