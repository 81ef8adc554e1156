"""`worklink archive ...`: the sealed archive of received files (see worklink.platform.sealed_files)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import click

from worklink.settings import load_settings


@click.group("archive")
def archive_command() -> None:
    """The archive of every received file, sealed with AES-256-GCM (key: WORKLINK_ARCHIVE_KEY or
    .worklink/secrets/archive.key)."""


@archive_command.command("verify")
def archive_verify() -> None:
    """Open every archived file with the configured keys and check it against the manifest's sha256.
    Exit code 1 if any cannot be opened or differs."""
    import psycopg

    from worklink.platform.database import ensure_database, libpq_url
    from worklink.platform.sealed_files import SealedFileError, unseal

    with psycopg.connect(libpq_url(ensure_database())) as conn:
        rows = conn.execute("select file_id, archive_path, sha256 from ingest.file_manifest "
                            "where archive_path is not null order by file_id").fetchall()
    bad = 0
    for file_id, archive_path, sha256 in rows:
        digest = hashlib.sha256()
        try:
            for piece in unseal(Path(archive_path)):
                digest.update(piece)
            problem = None if digest.hexdigest() == sha256 else "content differs from the manifest's sha256"
        except (OSError, SealedFileError) as exc:
            problem = str(exc) if isinstance(exc, SealedFileError) else f"cannot be read ({type(exc).__name__})"
        if problem:
            bad += 1
            click.echo(f"file {file_id}: {problem}")
    click.echo(f"{len(rows) - bad} of {len(rows)} archived files open and match the manifest")
    sys.exit(1 if bad else 0)


@archive_command.command("show")
@click.argument("file_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the received file (mode 600).")
def archive_show(file_id: int, out: Path) -> None:
    """Write received file FILE_ID (ingest.file_manifest), unsealed, to --out: for an engineer
    investigating a delivery. The copy holds personal data: delete it when done."""
    import psycopg

    from worklink.platform.database import ensure_database, libpq_url
    from worklink.platform.private_files import write_private_bytes
    from worklink.platform.sealed_files import read_sealed

    with psycopg.connect(libpq_url(ensure_database())) as conn:
        row = conn.execute("select archive_path from ingest.file_manifest where file_id = %s", (file_id,)).fetchone()
    if not row or not row[0]:
        raise click.UsageError(f"no archived file with file_id {file_id}")
    write_private_bytes(out, read_sealed(Path(row[0])))
    click.echo(f"wrote {out} (personal data: delete it when done)")


@archive_command.command("rotate-key")
@click.option("--new-key-env", default=None, metavar="VAR",
              help="Production: take the new key (64 hex characters) from this environment variable; the "
                   "old one must be WORKLINK_ARCHIVE_KEY. Put the new key in WORKLINK_ARCHIVE_KEY's secret after.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def archive_rotate_key(new_key_env: str | None, yes: bool) -> None:
    """Seal every archived file again under a new key, then retire the old key. Safe to run again
    if stopped half-way (files already under the new key are skipped)."""
    from worklink.platform.sealed_files import (
        archive_key,
        key_id,
        parse_key,
        reseal_all,
        rotate_development_key,
    )

    root = load_settings().archive_dir
    if not yes:
        click.confirm(f"Seal every file under {root} again with a new key?", abort=True)
    if new_key_env:
        new = parse_key(os.environ.get(new_key_env, ""), new_key_env)
        count = reseal_all(root, new, [archive_key()])
        click.echo(f"re-sealed {count} files under key {key_id(new).hex()}; now set WORKLINK_ARCHIVE_KEY to it")
    else:
        count, new_id = rotate_development_key(root)
        click.echo(f"re-sealed {count} files under the new development key {new_id}")
