"""Imports go down the layers, never up: the lower packages (ingestion, identity, linkage) and the
shared registries never import the packages built on them (the partner alerts, the evaluation report,
the upload page, the CLI, the DAG factory), and the alerts never import the report, the upload page
or the CLI. Text both layers need (e.g. the plain-language rule texts) lives in the lower layer
(``worklink.rules``). Every import counts, also one inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "worklink"

UPPER = ("worklink.alerts", "worklink.report", "worklink.portal", "worklink.cli", "worklink.orchestration")
# package (or module) -> the packages it must never import
FORBIDDEN = {
    "worklink.ingest": UPPER,
    "worklink.identity": UPPER,
    "worklink.linkage": UPPER,
    "worklink.rules": UPPER + ("worklink.ingest", "worklink.identity", "worklink.linkage"),
    "worklink.identifiers": UPPER + ("worklink.ingest", "worklink.identity", "worklink.linkage"),
    "worklink.contracts": UPPER + ("worklink.ingest", "worklink.identity", "worklink.linkage"),
    "worklink.alerts": ("worklink.report", "worklink.portal", "worklink.cli", "worklink.orchestration"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, relative ones resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
                # `from . import x`: x may be a module of the package
                found += [(node.lineno, name)] if node.module else [(node.lineno, f"{name}.{a.name}")
                                                                      for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    rules = [banned for owner, banned in FORBIDDEN.items() if _within(module, owner)]
    return [f"{module}:{line} imports {name}" for line, name in imported_modules(source, module, is_package)
            for banned in rules if any(_within(name, upper) for upper in banned)]


def test_no_package_imports_a_layer_above_it():
    files = sorted(PACKAGE.rglob("*.py"))
    checked = [f for f in files if any(_within(_module_name(f), owner) for owner in FORBIDDEN)]
    # the walk really reaches the lower layers (an empty walk would pass vacuously)
    assert {"worklink.ingest.precheck", "worklink.identity", "worklink.linkage", "worklink.rules",
            "worklink.alerts.partner_report"} <= {_module_name(f) for f in checked}
    problems = [problem for f in checked
                for problem in upward_imports(f.read_text(encoding="utf-8"), _module_name(f), f.name == "__init__.py")]
    assert problems == []


@pytest.mark.parametrize(("source", "module", "expected"), [
    # a function-level import, the way the precheck once read the alert's texts
    ("def render():\n    from worklink.alerts.partner_report import RULE_TEXT\n",
     "worklink.ingest.precheck", ["worklink.ingest.precheck:2 imports worklink.alerts.partner_report"]),
    ("import worklink.report.build as b\n", "worklink.linkage.pipeline",
     ["worklink.linkage.pipeline:1 imports worklink.report.build"]),
    # relative: from worklink/alerts/delivery.py, `..portal` is worklink.portal
    ("from ..portal import app\n", "worklink.alerts.delivery", ["worklink.alerts.delivery:1 imports worklink.portal"]),
    ("from .. import cli\n", "worklink.identity.store", ["worklink.identity.store:1 imports worklink.cli"]),
    # the registry is the bottom layer: not even ingestion
    ("from worklink.ingest.checks import MESSAGES\n", "worklink.rules", ["worklink.rules:1 imports worklink.ingest.checks"]),
    # allowed: down the layers, and a name that only starts like an upper package
    ("from worklink.rules import RULE_TEXT\nfrom worklink.contracts import Contract\n", "worklink.alerts.partner_report", []),
    ("import worklink.reporting_dates\n", "worklink.ingest.loader", []),
    ("from worklink.alerts import delivery\n", "worklink.portal.app", []),
])
def test_the_check_finds_upward_imports(source, module, expected):
    assert upward_imports(source, module) == expected
