"""The shared warehouse built once per session (see tests/dbt/dbt_warehouse_helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))

from dbt_warehouse_helpers import Warehouse, built_warehouse, drop_built_warehouse  # noqa: E402


@pytest.fixture(scope="session")
def warehouse(session_db, server_admin_url, tmp_path_factory) -> Warehouse:
    built = built_warehouse(server_admin_url, tmp_path_factory.mktemp("warehouse"))
    yield built
    drop_built_warehouse(server_admin_url)
