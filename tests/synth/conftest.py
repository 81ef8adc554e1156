"""Shared fixtures: small generated datasets (session scoped)."""

from __future__ import annotations

from pathlib import Path

import pytest
from synth_helpers import SEED, N
from worklink.synth import generate


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(out, seed=SEED, participants=N)
    return out


@pytest.fixture(scope="session")
def defect_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("defects")
    generate(out, seed=SEED, participants=N, defect_rate=0.05)
    return out
