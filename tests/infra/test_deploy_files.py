"""The container image and the Helm values, checked where no Docker engine or cluster runs.

- infra/Dockerfile parses, builds on the official Airflow image of the version uv.lock pins (on the
  Python pyproject.toml requires) and installs with infra/install.sh, not a second copy of its steps;
- infra/helm/values.yaml parses, validates against the chart's values.schema.json (the chart
  version it pins, vendored in fixtures/) and names only keys the chart has; every Airflow option
  under `config:` exists in the locked Airflow's configuration reference;
- every WORKLINK_* variable docs/deploy.md or the values name is a Settings variable.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from worklink.settings import REPO_ROOT, setting_variables

DOCKERFILE = REPO_ROOT / "infra" / "Dockerfile"
VALUES = REPO_ROOT / "infra" / "helm" / "values.yaml"
DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
CHART_VERSION = "1.22.0"
SCHEMA = Path(__file__).parent / "fixtures" / f"airflow-chart-{CHART_VERSION}-values.schema.json"


# ------------------------------------------------------------------------------ Dockerfile parser

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments and blank lines dropped, backslash continuations
    joined (comment lines inside a continuation are skipped, as Docker does)."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        if not re.fullmatch(r"[A-Za-z]+", keyword):
            raise ValueError(f"not a Dockerfile instruction: {line[:60]!r}")
        instructions.append((keyword.upper(), args.strip()))
    if pending:
        raise ValueError("the Dockerfile ends inside a continued line")
    return instructions


def base_image(instructions: list[tuple[str, str]]) -> str:
    """The first FROM's image with the ARGs declared before it substituted."""
    args: dict[str, str] = {}
    for keyword, rest in instructions:
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        elif keyword == "FROM":
            image = rest.split()[0] if not rest.startswith("--") else rest.split()[1]
            return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], image)
    raise ValueError("no FROM")


def locked_version(package: str) -> str:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == package)


def test_the_parser_on_hand_written_input():
    text = ('# syntax=docker/dockerfile:1\nARG V=1.2.3\nARG PY="3.11"\nFROM base:slim-${V}-python$PY\n'
            "RUN a \\\n    # a comment inside the continuation\n    && b\n\nENV X=1 \\\n    Y=2\n")
    got = dockerfile_instructions(text)
    assert got == [("ARG", "V=1.2.3"), ("ARG", 'PY="3.11"'), ("FROM", "base:slim-${V}-python$PY"),
                   ("RUN", "a && b"), ("ENV", "X=1 Y=2")]
    assert base_image(got) == "base:slim-1.2.3-python3.11"
    with pytest.raises(ValueError, match="continued line"):
        dockerfile_instructions("FROM x\nRUN a \\\n")
    with pytest.raises(ValueError, match="not a Dockerfile instruction"):
        dockerfile_instructions("FROM x\n&& stray\n")


def test_the_base_image_is_the_locked_airflow_on_the_required_python():
    image = base_image(dockerfile_instructions(DOCKERFILE.read_text()))
    match = re.fullmatch(r"apache/airflow:(?:slim-)?(?P<airflow>[\d.]+)-python(?P<python>[\d.]+)", image)
    assert match, f"the base is not an official apache/airflow image with a pinned version: {image}"
    assert match["airflow"] == locked_version("apache-airflow"), "the base image and uv.lock name different Airflows"
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f">={match['python']}" in requires.replace(" ", ""), (image, requires)


def test_the_image_installs_with_the_install_script():
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    installs = [r for r in runs if "infra/install.sh" in r]
    assert installs, "no RUN of infra/install.sh"
    words = shlex.split(installs[0])
    at = words.index("infra/install.sh")
    assert words[at - 1] == "bash" and words[at + 1] == "--production", installs[0]
    # the steps are install.sh's, not repeated here
    for step in ("uv sync", "pip install", "uv pip", "apt-get"):
        assert not any(step in r for r in runs), f"the Dockerfile runs {step!r} itself"
    # the sources are in the image before the script runs, and the image runs as the airflow user
    keywords = [k for k, _ in instructions]
    assert keywords.index("COPY") < keywords.index("RUN")
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] == "airflow"
    # the build context leaves out local state and environments
    ignored = (REPO_ROOT / "infra" / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".worklink", ".git"} <= set(ignored)


def test_install_script_knows_production():
    script = (REPO_ROOT / "infra" / "install.sh").read_text()
    assert "--production) PRODUCTION=1" in script and "SYNC+=(--no-dev)" in script


# ------------------------------------------------------------------------------ Helm values

@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA.read_text())


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node and node["$ref"].startswith("#/"):
        target = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def unknown_keys(value, node: dict, root: dict, path: str = "") -> list[str]:
    """Keys in ``value`` the schema does not name (where it lists properties), however permissive
    its additionalProperties: a misspelt key is otherwise ignored by Helm without a word."""
    node = _resolve(node, root)
    found: list[str] = []
    if isinstance(value, dict):
        props = node.get("properties", {})
        patterns = node.get("patternProperties", {})
        extra = node.get("additionalProperties")
        for key, sub in value.items():
            where = f"{path}.{key}" if path else key
            if key in props:
                found += unknown_keys(sub, props[key], root, where)
            elif any(re.search(p, key) for p in patterns):
                pattern = next(p for p in patterns if re.search(p, key))
                found += unknown_keys(sub, patterns[pattern], root, where)
            elif isinstance(extra, dict) and not props:
                found += unknown_keys(sub, extra, root, where)  # maps of free keys (annotations, config)
            elif props or extra is False:
                found.append(where)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            found += unknown_keys(item, node["items"], root, f"{path}[{i}]")
    return found


def test_the_values_validate_against_the_chart_schema(values, schema):
    jsonschema.Draft7Validator(schema).validate(values)


def test_the_values_name_only_keys_the_chart_has(values, schema):
    assert unknown_keys(values, schema, schema) == []


def test_a_misspelt_key_is_found(values, schema):
    """Negative control: the chart's top level accepts any key, so the walk above is what catches
    these (jsonschema alone lets the first one through)."""
    broken = {**values, "executer": "CeleryExecutor",
              "workers": {**values["workers"], "replica": 3},
              "secret": [*values["secret"], {"envName": "X", "secretName": "s", "secretkey": "k"}]}
    jsonschema.Draft7Validator(schema).validate({"executer": "x"})  # the schema lets it pass
    assert sorted(unknown_keys(broken, schema, schema)) == [
        "executer", f"secret[{len(values['secret'])}].secretkey", "workers.replica"]


def test_the_values_pin_the_locked_airflow_and_use_no_bundled_database(values):
    assert values["airflowVersion"] == locked_version("apache-airflow")
    assert values["images"]["airflow"]["tag"].startswith(locked_version("apache-airflow") + "-")
    assert values["postgresql"]["enabled"] is False and values["data"]["metadataSecretName"]
    assert values["dags"]["gitSync"]["enabled"] is False and values["dags"]["persistence"]["enabled"] is False
    assert values["dags"]["mountPath"] == "/opt/worklink/dags"  # where infra/Dockerfile puts them


def test_secrets_come_from_secrets_not_values(values):
    plain = {e["name"] for e in values["env"]}
    from_secrets = {s["envName"] for s in values["secret"]}
    for name in ("WORKLINK_DATABASE_URL", "WORKLINK_PSEUDONYM_KEY", "WORKLINK_ARCHIVE_KEY",
                 "WORKLINK_DBT_PASSWORD", "WORKLINK_LOADER_PASSWORD", "AIRFLOW_CONN_WORKLINK_SMTP"):
        assert name in from_secrets and name not in plain, name
    for key in ("fernetKeySecretName", "apiSecretKeySecretName", "jwtSecretName"):
        assert values[key], f"{key}: let the chart generate it and it changes on every install"
    assert not any(k in values for k in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey"))


def test_landing_and_state_are_shared_volumes_worklink_reads(values):
    env = {e["name"]: e["value"] for e in values["env"]}
    mounts = {m["mountPath"]: m["name"] for m in values["volumeMounts"]}
    volumes = {v["name"]: v for v in values["volumes"]}
    for variable in ("WORKLINK_LANDING_DIR", "WORKLINK_STATE_DIR"):
        name = mounts[env[variable]]
        assert "persistentVolumeClaim" in volumes[name], f"{variable} is not on a claim"


def _locked_packages() -> set[str]:
    return {p["name"] for p in tomllib.loads((REPO_ROOT / "uv.lock").read_text())["package"]}


# The Celery provider arrives with the Celery executor setting (WORKLINK_EXECUTOR); until it is in
# uv.lock the image cannot run Celery workers, and these two tests say so (as expected failures).
NEEDS_CELERY = pytest.mark.xfail("apache-airflow-providers-celery" not in _locked_packages(), strict=True,
                                 reason="CeleryExecutor needs apache-airflow-providers-celery in uv.lock")


@NEEDS_CELERY
def test_every_airflow_option_exists(values):
    from airflow.configuration import retrieve_configuration_description

    reference = retrieve_configuration_description(include_airflow=True, include_providers=True)
    missing = [f"{section}.{key}" for section, options in values["config"].items() for key in options
               if key not in reference.get(section, {}).get("options", {})]
    assert not missing, f"not options of the locked Airflow (or its installed providers): {missing}"


@NEEDS_CELERY
def test_the_executor_has_its_provider_locked(values):
    provider = {"CeleryExecutor": "apache-airflow-providers-celery",
                "KubernetesExecutor": "apache-airflow-providers-cncf-kubernetes"}[values["executor"]]
    assert provider in _locked_packages(), f"{values['executor']} needs {provider} in uv.lock"


# ------------------------------------------------------------------------------ the deploy guide

def test_every_worklink_variable_named_is_a_setting(values):
    text = DEPLOY_DOC.read_text()
    named = set(re.findall(r"\bWORKLINK_[A-Z0-9_]*[A-Z0-9]\b", text))
    named |= {e["name"] for e in values["env"] if e["name"].startswith("WORKLINK_")}
    named |= {s["envName"] for s in values["secret"] if s["envName"].startswith("WORKLINK_")}
    assert len(named) >= 8, named  # the guide does list them
    assert named - setting_variables() == set()


def test_the_guide_names_what_the_values_leave_to_the_council():
    text = DEPLOY_DOC.read_text()
    for secret in re.findall(r"secretName: ([\w-]+)|SecretName: ([\w-]+)", VALUES.read_text()):
        name = next(s for s in secret if s)
        assert f"`{name}`" in text, f"docs/deploy.md does not say what goes into the secret {name}"
    assert CHART_VERSION in text and "infra/Dockerfile" in text
