"""A generated programme year for the linkage tests (see linkage_helpers for how it is loaded).

The linkage tests get a database of their own next to ``session_db`` (same server, same state
folder), so what they ingest, link and decide cannot disturb, or be disturbed by, the other tests'
data in ``session_db``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SEED = 23
PARTICIPANTS = 400


@pytest.fixture(scope="session")
def linkage_sample(tmp_path_factory) -> Path:
    from worklink.synth import generate

    out = tmp_path_factory.mktemp("linkage_sample")
    generate(out, seed=SEED, participants=PARTICIPANTS, defect_rate=0.0)
    return out
