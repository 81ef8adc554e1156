"""`worklink portal`: start the partner upload page; `worklink portal user ...`: its accounts."""

from __future__ import annotations

import sys

import click

DEFAULT_PORT = 8590  # Airflow keeps 8080, dbt docs 8580


@click.group("portal", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but 127.0.0.1 only behind an HTTPS proxy (docs/portal.md).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.pass_context
def portal_command(ctx: click.Context, host: str, port: int) -> None:
    """The partner upload page: partners sign in, check a file with the nightly's checks, send it to
    their landing folder, and see their history, scorecard, past alerts and templates.

    \b
    Examples:
      worklink portal user add ancoats.data --partner ancoats_trust   # asks for the password
      worklink portal                                                  # http://127.0.0.1:8590
    """
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from worklink.portal.app import create_app

    click.secho(f"==> worklink partner upload page on http://{host}:{port} (Ctrl-C stops it)", fg="cyan", err=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="info", server_header=False,
                forwarded_allow_ips="127.0.0.1")


@portal_command.group("user")
def user_command() -> None:
    """Partner accounts (one per person; each belongs to one partner)."""


def _connection():
    from worklink.portal import store

    url = store.database_url()
    store.ensure_tables(url)
    return store.connect(url)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_command.command("add")
@click.argument("username")
@click.option("--partner", required=True, help="The partner the account belongs to (a contracts/ folder name).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_add(username: str, partner: str, password_stdin: bool) -> None:
    """Create USERNAME for PARTNER (asks for the password: at least 12 characters)."""
    from worklink.contracts import load_contracts
    from worklink.portal.accounts import AccountError, add_user

    if partner not in {c.partner.id for c in load_contracts()}:
        raise click.BadParameter(f"no partner {partner!r} in contracts/", param_hint="--partner")
    try:
        with _connection() as conn:
            add_user(conn, username.lower(), partner, _password(password_stdin))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"account {username.lower()} created for {partner}")


@user_command.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_passwd(username: str, password_stdin: bool) -> None:
    """Set USERNAME's password (signs it out everywhere)."""
    from worklink.portal.accounts import AccountError, set_password

    try:
        with _connection() as conn:
            set_password(conn, username.lower(), _password(password_stdin))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password of {username.lower()} changed; its sessions are closed")


@user_command.command("remove")
@click.argument("username")
def user_remove(username: str) -> None:
    """Delete USERNAME and its sessions (its uploads stay in the partner's history)."""
    from worklink.portal.accounts import AccountError, remove_user

    try:
        with _connection() as conn:
            remove_user(conn, username.lower())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"account {username.lower()} removed")


@user_command.command("list")
def user_list() -> None:
    """Every account: partner, created, last password change, last sign-in."""
    from worklink.portal.accounts import list_users

    with _connection() as conn:
        rows = list_users(conn)
    if not rows:
        click.echo("no accounts (worklink portal user add NAME --partner P)")
    for row in rows:
        last = row["last_sign_in_at"].strftime("%Y-%m-%d %H:%M") if row["last_sign_in_at"] else "never"
        click.echo(f"{row['username']:32} {row['partner_id']:24} created {row['created_at']:%Y-%m-%d}  "
                   f"last sign-in {last}")
