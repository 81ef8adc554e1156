"""`worklink retention plan|apply` and `worklink erase` (see worklink.platform.retention, .erasure)."""

from __future__ import annotations

import json

import click

_AS_OF = click.option("--as-of", default=None, metavar="YYYY-MM-DD",
                      help="Judge expiry on this date instead of today (to see what a future date would remove).")


def _connect():
    import psycopg

    from worklink.platform.database import ensure_database, libpq_url

    return psycopg.connect(libpq_url(ensure_database()), autocommit=True)


@click.group("retention")
def retention_command() -> None:
    """How long identifiable data is kept (feed contracts' `retention`, platform/retention.yml).

    \b
      worklink retention plan [--as-of 2028-04-01]    what would go, counts by store, source and rule
      worklink retention apply [--as-of ...] --yes     do it; one audit row per store
    """


def _plan(as_of: str | None):
    from worklink.platform.retention import make_plan, parse_as_of

    try:
        day = parse_as_of(as_of)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    conn = _connect()
    return conn, make_plan(conn, day)


@retention_command.command("plan")
@_AS_OF
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def retention_plan(as_of: str | None, as_json: bool) -> None:
    """List what `apply` would delete and why: counts by store, source and rule; never a value."""
    from worklink.platform.retention import format_plan

    conn, plan = _plan(as_of)
    with conn:
        click.echo(json.dumps(plan.to_dict(), indent=2) if as_json else format_plan(plan))


@retention_command.command("apply")
@_AS_OF
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def retention_apply(as_of: str | None, yes: bool) -> None:
    """Delete expired identifiers, quarantined rows, archived files, reports and logs (one transaction
    per store, each recorded in ingest.data_protection_log). Participant ids and marts are kept."""
    from worklink.platform.retention import apply_plan, format_plan

    conn, plan = _plan(as_of)
    with conn:
        click.echo(format_plan(plan))
        if not plan.items:
            return
        if not yes:
            click.confirm("Delete all of the above?", abort=True)
        totals = apply_plan(conn, plan)
    click.echo("done: " + ", ".join(f"{store} {n}" for store, n in totals.items())
               + " (recorded in ingest.data_protection_log)")


@click.command("erase")
@click.option("--partner", default=None, help="The partner whose record id is given (with --record-id).")
@click.option("--record-id", default=None, help="The partner's own id of the person's referral.")
@click.option("--nhs-number", default=None, help="The person's NHS number (10 digits).")
@click.option("--nino", default=None, help="The person's National Insurance number.")
@click.option("--request-ref", default=None,
              help="Your reference for the request (e.g. the case number; never a name or identifier).")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(partner: str | None, record_id: str | None, nhs_number: str | None, nino: str | None,
                  request_ref: str | None, dry_run: bool, yes: bool) -> None:
    """Erase one person on request (UK GDPR Art. 17): every record linked to them, their identifiers,
    feed rows, quarantined rows and rows of archived files (re-sealed without them). Their participant
    id is retired and never linked again; rebuild the marts after (`worklink dbt build`).

    \b
      worklink erase --partner ancoats_trust --record-id ACT-00042 --request-ref SAR-2027-014
      worklink erase --nhs-number 9434765919 --dry-run
    """
    from worklink.platform.erasure import ErasureError, erase_person, find_person

    given = [bool(partner and record_id), bool(nhs_number), bool(nino)]
    if sum(given) != 1 or (bool(partner) != bool(record_id)):
        raise click.UsageError("give exactly one of: --partner with --record-id, --nhs-number, --nino")
    with _connect() as conn:
        try:
            person = find_person(conn, partner=partner, record_id=record_id, nhs_number=nhs_number, nino=nino)
        except ErasureError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"participant {person.participant_id}: {len(person.keys)} source records "
                   f"({', '.join(sorted({k.split(':')[0] for k in person.keys}))})")
        if dry_run:
            return
        if not yes:
            click.confirm("Erase this person everywhere (cannot be undone)?", abort=True)
        counts = erase_person(conn, person, request_ref=request_ref)
    click.echo("erased: " + ", ".join(f"{k} {v}" for k, v in counts.items())
               + " (recorded in ingest.data_protection_log); now `worklink dbt build`")
