"""The identity vault: direct identifiers, kept apart from everything else.

Ingestion splits each landed file in two, both partitioned by file: ``raw.<feed table>`` holds
every row without its direct identifiers (plus keyed pseudonym tokens, ``pseudonyms``), and
``identity.<feed table>`` holds the identifiers. Only the loader and linkage roles can read the
``identity`` schema (``worklink.platform.roles``).
"""

from __future__ import annotations


def identity_join(raw: str = "r", identity: str = "i") -> str:
    """SQL condition joining a raw row to the identity row that holds its identifiers.

    The identity partition of a file holds each distinct combination of identifiers once (a DWP
    extract repeats a person's NINo, date of birth and address on every month's row), keyed by the
    file and the source row where that combination first appears; raw's ``_identity_row_number``
    names that row. Tables loaded before the column existed hold one identity row per raw row and
    leave it NULL, which the ``coalesce`` reads as "this row itself".
    """
    return (f"{identity}._file_id = {raw}._file_id and {identity}._source_row_number"
            f" = coalesce({raw}._identity_row_number, {raw}._source_row_number)")
