"""Ingestion: partners' landed files into the warehouse, all-or-nothing per file.

The public entry points (everything else is internal to the package)::

    from worklink.ingest import ingest_paths, ingest_file, prepare_warehouse, confirm_held_version

Modules by concern, each importing only from its own layer or below (``worklink.identity``,
``worklink.platform``, ``worklink.contracts``), never back up:

- ``landing``: open a landed file inside the landing folder (no links), hash it
- ``manifest``: keep every received file (sealed archive) and its status
- ``reader``, ``checks``: read the rows, check them against the contract (GX suite)
- ``partitions``: one partition per file; a large file written by two connections
- ``loader``: one file through all of it in one transaction (``ingest_file``)
- ``records``: the file's manifest row and its issues; ``versions``: which version of a month
  is current; ``history``: the data-quality history; ``cross_feed``: dates from other feeds
- ``ddl``: platform tables, roles and landing tables (``prepare_warehouse``)
- ``service``: a night's files, in parallel (``ingest_paths``)

The split into ``raw`` (no direct identifiers, keyed tokens) and ``identity`` is
``worklink.identity.columns``.

Names are imported on first use, so importing one module of the package (say ``landing``) does
not load the loader's dependencies (Great Expectations, Arrow).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

_PUBLIC = {
    "ingest_paths": "service",
    "partner_landing_files": "service",
    "ingest_file": "loader",
    "confirm_held_version": "versions",
    "prepare_warehouse": "ddl",
    "IngestResult": "results",
    "FileIssue": "results",
}

__all__ = ["FileIssue", "IngestResult", "confirm_held_version", "ingest_file", "ingest_paths",
           "partner_landing_files", "prepare_warehouse"]

if TYPE_CHECKING:
    from worklink.ingest.ddl import prepare_warehouse
    from worklink.ingest.loader import ingest_file
    from worklink.ingest.results import FileIssue, IngestResult
    from worklink.ingest.service import ingest_paths, partner_landing_files
    from worklink.ingest.versions import confirm_held_version


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'worklink.ingest' has no attribute {name!r}")
    return getattr(import_module(f"worklink.ingest.{_PUBLIC[name]}"), name)
