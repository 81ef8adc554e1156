"""Every WORKLINK_* setting is read in one place (worklink.settings) and documented in the README.

The README's settings table is generated from the Settings fields (`worklink settings --markdown`);
these tests keep the two equal, check that every documented variable really reaches its field, and
that no other module reads a WORKLINK_* variable from the environment behind Settings' back.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner
from worklink import settings as settings_module
from worklink.cli import main
from worklink.settings import (
    DATABASE_ROLES,
    REPO_ROOT,
    Settings,
    documented_settings,
    load_settings,
    readme_table,
    replace_readme_table,
    setting_variables,
    settings_markdown,
)

# Fields computed from others, not read from a variable of their own.
DERIVED = {"repo_root", "sample_dir", "landing_dir_configured"}
SCANNED = ("plugins", "dags", "bench")


# ------------------------------------------------------------------------------ the README table

def test_readme_table_is_the_generated_one():
    readme = (REPO_ROOT / "README.md").read_text()
    assert readme_table(readme) == settings_markdown(), (
        "the README's settings table differs from Settings: run "
        "`.venv/bin/worklink settings --markdown --write README.md`")


def test_every_field_is_documented_or_derived():
    undocumented = {f.name for f in dataclasses.fields(Settings)} - DERIVED - {f.name for f in documented_settings()}
    assert not undocumented, f"Settings fields without setting(...) documentation: {sorted(undocumented)}"
    for f in documented_settings():
        m = f.metadata
        assert m["env"] and all(n.startswith("WORKLINK_") for n in m["env"]), f.name
        assert m["default_text"].strip() and m["meaning"].strip(), f.name
        assert "|" not in m["default_text"] + m["meaning"] + m["label"], f"{f.name}: '|' breaks the table"


def test_write_replaces_only_the_table(tmp_path: Path):
    stale = ("# title\n\nintro\n\n| variable | default | meaning |\n|---|---|---|\n| `WORKLINK_OLD` | x | y |\n"
             "\n## next\n\ntext | with a bar\n")
    readme = tmp_path / "README.md"
    readme.write_text(stale)
    result = CliRunner().invoke(main, ["settings", "--markdown", "--write", str(readme)])
    assert result.exit_code == 0, result.output
    written = readme.read_text()
    assert written == "# title\n\nintro\n\n" + settings_markdown() + "\n## next\n\ntext | with a bar\n"
    assert replace_readme_table(written) == written  # a second run changes nothing
    with pytest.raises(ValueError, match="no settings table"):
        replace_readme_table("# no table here\n")


def test_settings_command_hides_secrets(monkeypatch):
    monkeypatch.setenv("WORKLINK_PSEUDONYM_KEY", "ab" * 32)
    monkeypatch.setenv("WORKLINK_DATABASE_URL", "postgresql://loader:s3cret-pw@db.example:5432/worklink")
    result = CliRunner().invoke(main, ["settings"])
    assert result.exit_code == 0, result.output
    assert "ab" * 32 not in result.output and "s3cret-pw" not in result.output
    assert "pseudonym_key" in result.output and "db.example" in result.output
    assert "ab" * 32 not in repr(load_settings())


# ------------------------------------------------------------------- each variable reaches Settings

# A value for every variable, chosen to differ from the default (a new setting must add one here).
SAMPLES = {
    "WORKLINK_STATE_DIR": "/tmp/wl-state",
    "WORKLINK_DATABASE_URL": "postgresql://u:p@h:5432/w",
    "WORKLINK_AIRFLOW_DATABASE_URL": "postgresql://u:p@h:5432/a",
    "WORKLINK_LANDING_DIR": "/tmp/wl-landing",
    "WORKLINK_PG_PORT": "55555",
    "WORKLINK_PG_BINDIR": "/opt/pg/bin",
    "WORKLINK_PSEUDONYM_KEY": "k" * 8,
    "WORKLINK_ARCHIVE_KEY": "a" * 64,
    "WORKLINK_ARCHIVE_OLD_KEYS": "b" * 64,
    "WORKLINK_DELIVERIES_WATCHED_FROM": "2026-01-01",
    "WORKLINK_ENGINEER_EMAILS": "eng@example.org",
    "WORKLINK_PLATFORM_CONTACT": "the council's data team",
    "WORKLINK_ALERT_FROM": "worklink@council.example",
    "WORKLINK_TASK_RETRY_DELAY_SECONDS": "7",
    "WORKLINK_LINKAGE_SETTINGS": "/tmp/linkage.yml",
    "WORKLINK_REVIEWER": "reviewer-1",
    "WORKLINK_DBT_HOST": "db.internal",
    "WORKLINK_DBT_PORT": "6543",
    "WORKLINK_DBT_USER": "dbt",
    "WORKLINK_DBT_PASSWORD": "pw",
    "WORKLINK_DBT_DBNAME": "wh",
    "WORKLINK_CONTRACTS_DIR": "/tmp/wl-contracts",
    "WORKLINK_RETENTION_NIGHTLY": "True",  # switches: shown as True
    "WORKLINK_RETENTION_CONFIG": "/tmp/retention.yml",
    "WORKLINK_RETENTION_EVALUATION_MONTHS": "36",
    "WORKLINK_ACTOR": "ig-lead",
    "WORKLINK_PORTAL_MAX_UPLOAD_MB": "7.5",
    "WORKLINK_PORTAL_MAX_UNPACKED_MB": "250",
    "WORKLINK_PORTAL_MAX_UNPACK_RATIO": "50",
    "WORKLINK_PORTAL_SESSION_IDLE_MINUTES": "45",
    "WORKLINK_PORTAL_SECURE_COOKIES": "True",
    "WORKLINK_EXECUTOR": "celery",
    **{f"{role.upper()}_PASSWORD": f"pw-{role}" for role in DATABASE_ROLES},
}


@pytest.fixture
def clean_env(monkeypatch):
    for name in setting_variables():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_samples_cover_every_variable():
    assert set(SAMPLES) == setting_variables()


@pytest.mark.parametrize("variable", sorted(SAMPLES))
def test_each_variable_reaches_its_field(clean_env, variable: str):
    field = next(f for f in documented_settings() if variable in f.metadata["env"])
    if variable.startswith("WORKLINK_DBT_") and variable != "WORKLINK_DBT_HOST":
        clean_env.setenv("WORKLINK_DBT_HOST", "db.internal")  # the others only count with a host
    before = getattr(load_settings(), field.name)
    clean_env.setenv(variable, SAMPLES[variable])
    after = getattr(load_settings(), field.name)
    assert after != before, f"{variable} does not change Settings.{field.name}"
    shown = repr(dataclasses.astuple(after)) if dataclasses.is_dataclass(after) else repr(after)
    assert SAMPLES[variable] in shown, f"Settings.{field.name} does not hold {variable}'s value"


def test_parsing_by_hand(clean_env):
    clean_env.setenv("WORKLINK_ARCHIVE_OLD_KEYS", "k1,,k2,")          # empty items dropped
    clean_env.setenv("WORKLINK_ENGINEER_EMAILS", " a@x.org , ,b@x.org")  # trimmed, empty dropped
    clean_env.setenv("WORKLINK_LOADER_PASSWORD", "")                   # empty = unset
    clean_env.setenv("WORKLINK_EVALUATOR_PASSWORD", "ev")
    clean_env.setenv("WORKLINK_OTHER_PASSWORD", "not a worklink role")
    clean_env.setenv("WORKLINK_DBT_HOST", "h")
    s = load_settings()
    assert s.archive_old_keys == ("k1", "k2")
    assert s.engineer_emails == ("a@x.org", "b@x.org")
    assert dict(s.role_passwords) == {"worklink_evaluator": "ev"}
    # the profile's own defaults (dbt_project/profiles.yml) for what is not set
    assert (s.dbt_profile.host, s.dbt_profile.port, s.dbt_profile.user, s.dbt_profile.password,
            s.dbt_profile.dbname) == ("h", "54329", "worklink", "", "worklink")
    assert s.task_retry_delay_seconds == 120 and s.alert_from is None and s.reviewer is None
    clean_env.setenv("WORKLINK_TASK_RETRY_DELAY_SECONDS", "two minutes")
    with pytest.raises(ValueError, match="WORKLINK_TASK_RETRY_DELAY_SECONDS must be a whole number"):
        load_settings()


def test_modules_follow_settings(clean_env):
    """A few reads that moved into Settings, checked through the modules that use them."""
    from worklink.linkage import config, review
    from worklink.platform import roles

    clean_env.setenv("WORKLINK_REVIEWER", "clerk-7")
    assert review.reviewer() == "clerk-7"
    clean_env.setenv("WORKLINK_LINKAGE_SETTINGS", "/tmp/other-linkage.yml")
    assert config.settings_path() == Path("/tmp/other-linkage.yml")
    clean_env.delenv("WORKLINK_LINKAGE_SETTINGS")
    assert config.settings_path() == config.SETTINGS_PATH
    clean_env.setenv("WORKLINK_PUBLIC_PASSWORD", "pub-pw")
    assert roles.role_password(roles.PUBLIC) == "pub-pw"
    assert roles.ROLES == DATABASE_ROLES


# --------------------------------------------------------------- nobody else reads WORKLINK_* vars

def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ``."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ")


def _worklink_key(node: ast.AST) -> bool:
    """A key that is, or may be, a WORKLINK_* name: a "WORKLINK_..." literal, or an f-string that
    starts with WORKLINK_ or with a substituted part (``f"{role.upper()}_PASSWORD"``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("WORKLINK_")
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return not isinstance(first, ast.Constant) or str(first.value).startswith("WORKLINK_")
    return False


def environment_reads(source: str) -> list[int]:
    """Line numbers where ``source`` reads a WORKLINK_* variable from the environment."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and _worklink_key(node.args[0]):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("get", "getenv") and (
                    _is_environ(func.value) or func.attr == "getenv"):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value) \
                and _worklink_key(node.slice):
            lines.append(node.lineno)
        elif isinstance(node, ast.Compare) and _worklink_key(node.left) and any(
                isinstance(op, ast.In | ast.NotIn) for op in node.ops) and any(
                _is_environ(c) for c in node.comparators):
            lines.append(node.lineno)
    return lines


def test_the_scanner_finds_reads_and_ignores_writes():
    reads = '''
import os
a = os.environ.get("WORKLINK_A")
b = os.environ["WORKLINK_B"]
c = "WORKLINK_C" in os.environ
d = os.getenv("WORKLINK_D", "x")
e = os.environ.get(f"{role.upper()}_PASSWORD")
f = "WORKLINK_F" not in os.environ
'''
    assert environment_reads(reads) == [3, 4, 5, 6, 7, 8]
    writes = '''
import os
os.environ["WORKLINK_A"] = "1"
os.environ.setdefault("WORKLINK_B", "2")
os.environ.pop("WORKLINK_C", None)
env = {"WORKLINK_D": "3"}
x = os.environ.get("AIRFLOW__CORE__EXECUTOR")
y = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
z = os.environ.get(name_given_by_the_user)
'''
    assert environment_reads(writes) == []


def test_no_module_outside_settings_reads_worklink_variables():
    found = []
    for top in SCANNED:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            if path == Path(settings_module.__file__).resolve():
                continue
            found += [f"{path.relative_to(REPO_ROOT)}:{n}" for n in environment_reads(path.read_text())]
    assert not found, f"read these through worklink.settings.load_settings() instead: {found}"
