"""``worklink identity``: the pseudonym key (fingerprint, rotation)."""

from __future__ import annotations

import os

import click

from worklink.settings import load_settings


@click.group(name="identity", context_settings={"help_option_names": ["-h", "--help"]})
def identity_command() -> None:
    """The identity vault's pseudonym key: show its fingerprint, rotate it."""


@identity_command.command("key-id")
def key_id_command() -> None:
    """Print the public fingerprint of the pseudonym key in use (not the key)."""
    from worklink.identity.pseudonyms import key_id

    click.echo(key_id())


@identity_command.command("rotate-key")
@click.option("--new-key-env", default=None, metavar="VAR",
              help="Read the new key (hex) from this environment variable, e.g. one filled from the secret "
                   "store. Default: generate a random 256-bit key (written to the dev key file).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--database-url", default=None, help="Warehouse URL (default: WORKLINK_DATABASE_URL / embedded).")
def rotate_key_command(new_key_env: str | None, yes: bool, database_url: str | None) -> None:
    """Re-tokenise raw (and linkage's DWP/HMRC keys) under a new pseudonym key.

    \b
    Pause the nightly DAG first. Every token changes; participant ids, clerical decisions and the
    review queue carry over. Tokens released before the rotation no longer join anything new.
    With WORKLINK_PSEUDONYM_KEY set (production), pass the new key with --new-key-env and put the
    same value into WORKLINK_PSEUDONYM_KEY's secret before the next ingest.
    """
    from worklink.identity.rotation import rotate_key
    from worklink.platform.database import ensure_database, libpq_url

    new_key = None
    if new_key_env:
        value = os.environ.get(new_key_env)
        if not value:
            raise click.ClickException(f"{new_key_env} is not set")
        try:
            new_key = bytes.fromhex(value)
        except ValueError as exc:
            raise click.ClickException(f"{new_key_env} must hold the key as hex") from exc
        if len(new_key) < 32:
            raise click.ClickException("the new key must have at least 256 bits (64 hex characters)")
    elif load_settings().pseudonym_key:
        raise click.ClickException("WORKLINK_PSEUDONYM_KEY is set: pass the new key with --new-key-env VAR")
    if not yes:
        click.confirm("Re-tokenise every raw table under a new pseudonym key (pause the nightly DAG first)?",
                      abort=True)
    result = rotate_key(libpq_url(database_url or ensure_database()), new_key,
                        progress=lambda m: click.echo(f"    {m}", err=True))
    click.echo(f"key {result.old_key_id} -> {result.new_key_id}: {result.rows_retokenised:,} raw rows "
               f"re-tokenised, {result.linkage_keys_moved:,} linkage keys moved")
    if result.key_file is not None:
        click.echo(f"new key written to {result.key_file}")
    else:
        click.secho("Now set WORKLINK_PSEUDONYM_KEY to the new key in the secret store, then resume the DAG.",
                    fg="yellow")
