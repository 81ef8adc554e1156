"""The generator's truth reads its outcome windows from the dbt vars (dbt_project.yml), so a
changed window changes the truth the same way it changes the warehouse."""

from __future__ import annotations

import json

import pytest
import worklink.synth.generator as generator_module
import worklink.synth.workwell as workwell_module
import yaml
from synth_helpers import SEED, N
from worklink.synth import generate
from worklink.synth.windows import DBT_PROJECT_YML, OutcomeWindows, outcome_windows, read_windows

VARS = {"sustained_short_weeks": 13, "sustained_long_weeks": 26, "workwell_retention_short_weeks": 12,
        "workwell_retention_long_weeks": 30, "outcome_followup_days_after_exit": 182}


def test_windows_are_read_from_the_vars(tmp_path):
    path = tmp_path / "dbt_project.yml"
    path.write_text(yaml.safe_dump({"name": "x", "vars": {**VARS, "other": 1}}))
    windows = read_windows(path)
    assert windows == OutcomeWindows(**VARS)
    assert windows.sustained_days == {"short": 91, "long": 182}  # 7 x 13, 7 x 26
    assert windows.retention_weeks == {"short": 12, "long": 30}


def test_a_missing_var_is_named(tmp_path):
    path = tmp_path / "dbt_project.yml"
    path.write_text(yaml.safe_dump({"vars": {k: v for k, v in VARS.items() if k != "sustained_long_weeks"}}))
    with pytest.raises(KeyError, match="sustained_long_weeks"):
        read_windows(path)


def test_the_repository_windows_are_the_dbt_project_vars():
    variables = yaml.safe_load(DBT_PROJECT_YML.read_text())["vars"]
    assert outcome_windows() == OutcomeWindows(**{k: int(variables[k]) for k in VARS})


def test_the_truth_follows_the_windows(clean_run, tmp_path, monkeypatch):
    """With short and long windows both one week, every count over the long window equals the one
    over the short window, and no fewer jobs are sustained than over 13 weeks."""
    one_week = OutcomeWindows(1, 1, 1, 1, 182)
    monkeypatch.setattr(generator_module, "outcome_windows", lambda: one_week)
    monkeypatch.setattr(workwell_module, "outcome_windows", lambda: one_week)
    generate(tmp_path, seed=SEED, participants=N)  # the clean run's data, with one-week windows

    def counts(run):
        return json.loads((run / "_truth" / "counts.json").read_text())

    default, short = counts(clean_run), counts(tmp_path)
    assert default["totals"]["sustained_long"] < default["totals"]["sustained_short"]
    assert short["totals"]["sustained_long"] == short["totals"]["sustained_short"]
    assert short["totals"]["sustained_short"] > default["totals"]["sustained_short"]
    assert short["workwell"]["retained_long"] == short["workwell"]["retained_short"]
    assert short["workwell"]["retained_long_due"] == short["workwell"]["retained_short_due"]
