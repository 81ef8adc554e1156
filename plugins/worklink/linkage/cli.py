"""``worklink link``: run participant linkage, report its quality, and do clerical review.

Heavy imports (pandas, Splink, DuckDB) happen inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click


def _progress(message: str) -> None:
    click.echo(f"    {message}", err=True)


def _default_truth() -> Path | None:
    from worklink.settings import load_settings

    candidate = load_settings().landing_dir.parent / "_truth"
    return candidate if (candidate / "source_records.csv").exists() else None


def _database_url(database_url: str | None) -> str:
    from worklink.platform.database import ensure_database, libpq_url

    return libpq_url(database_url or ensure_database())


@click.group(name="link", invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--report", is_flag=True,
              help="After linking, print precision/recall/F1 (needs ground truth), counts by method and thresholds.")
@click.option("--truth", "truth_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Ground-truth folder of a generated sample (OUT/_truth). Default: the _truth next to "
                   "WORKLINK_LANDING_DIR, when there is one.")
@click.option("--retrain", is_flag=True, help="Train a new model even if one exists for the current settings.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary (and report) as one JSON document.")
@click.option("--database-url", default=None, help="Warehouse URL (default: WORKLINK_DATABASE_URL / embedded).")
@click.pass_context
def link_command(ctx: click.Context, report: bool, truth_dir: Path | None, retrain: bool, as_json: bool,
                 database_url: str | None) -> None:
    """Link every source record to a stable, pseudonymous participant id.

    \b
    Reads the identity vault and raw referrals/extracts, links deterministically (valid NHS number
    or NI number + equal date of birth), then probabilistically (Splink on names, date of birth,
    postcode and sex), honours clerical decisions, and writes schema `linkage`
    (participant_xref, source_record_attributes, review_queue, ...). Idempotent: re-running on
    unchanged data changes no participant id. Settings: plugins/worklink/linkage/settings.yml.

    \b
    Examples:
      worklink link                          # one run (what the nightly DAG does)
      worklink link --report                 # ... and print its quality against the sample's truth
      worklink link review --list            # the clerical-review queue
      worklink link review decide KEY1 KEY2 --do-not-link --note "different people, checked case file"
    """
    if ctx.invoked_subcommand is not None:
        return
    from worklink.linkage.pipeline import run_linkage

    started = time.monotonic()
    if not as_json:
        click.secho("==> linkage", fg="cyan", err=True)
    from worklink.linkage.model import LinkageModelError
    from worklink.linkage.records import LinkageInputError

    try:
        summary = run_linkage(_database_url(database_url), progress=None if as_json else _progress,
                              retrain=retrain, keep_outcome=report)
    except (LinkageModelError, LinkageInputError) as exc:  # the run is recorded failed; xref unchanged
        raise click.ClickException(str(exc)) from None
    outcome = summary.pop("outcome", None)
    quality = None
    if report:
        from worklink.linkage.evaluate import candidate_pair_counts

        rules = summary["blocking_rules"]
        summary["blocking"] = candidate_pair_counts(outcome.records, rules) if len(outcome.records) >= 2 else {}
        truth_dir = truth_dir or _default_truth()
        if truth_dir is not None:
            from worklink.linkage.evaluate import blocking_recall, evaluate, linkable_pairs, load_truth

            truth = load_truth(truth_dir)
            quality = evaluate(outcome.records["source_record_key"].to_numpy(), outcome.participant_id, truth,
                               outcome.records)
            quality["truth_dir"] = str(truth_dir)
            _, unlinkable = linkable_pairs(outcome.records, truth)
            quality["blocking"] = blocking_recall(outcome.records, truth, rules, unlinkable)
    if as_json:
        click.echo(json.dumps({"summary": summary, "quality": quality}, indent=2, default=str))
        return
    _print_summary(summary)
    if report:
        if quality is None:
            click.echo("\nNo ground truth found: pass --truth OUT/_truth (from `worklink generate`) for "
                       "precision, recall and F1.")
        else:
            _print_quality(quality)
    click.echo(f"\nlinkage finished in {time.monotonic() - started:.1f}s", err=True)


def _print_summary(s: dict) -> None:
    click.echo(f"\nLinkage run {s['run_id']}  model {s['model_version']}"
               f"{' (trained in this run)' if s['model_trained_this_run'] else ''}")
    click.echo(f"  source records       {s['source_records']:>10,}   "
               + ", ".join(f"{k} {v:,}" for k, v in s["records_by_source"].items()))
    click.echo(f"  participants         {s['participants']:>10,}   ids kept {s['participant_ids']['kept']:,}, "
               f"new {s['participant_ids']['new']:,}, merged {s['participant_ids']['merged']:,}, "
               f"retired {s['participant_ids']['retired']:,}")
    click.echo("  records by method    " + ", ".join(f"{k} {v:,}" for k, v in s["records_by_method"].items()))
    click.echo("  links                " + ", ".join(f"{k} {v:,}" for k, v in s["links"].items()))
    click.echo(f"  clerical review      {s['review_queue']:>10,} pairs queued")
    t = s["thresholds"]
    click.echo(f"  thresholds           accept >= {t['accept_match_probability']}, review >= "
               f"{t['review_match_probability']}, candidates >= {t['candidate_match_probability']}")
    click.echo("  extract priors       " + ", ".join(f"{k} {v}" for k, v in s["person_level_prior"].items()))
    for name, path in s.get("model_charts", {}).items():
        click.echo(f"  chart {name:15} {path}")
    click.echo("  timings (s)          " + ", ".join(f"{k} {v}" for k, v in s["timings_seconds"].items()))
    b = s.get("blocking")
    if b:
        click.echo(f"  blocking             {b['candidate_pairs']:,} candidate pairs of {b['possible_pairs']:,} possible"
                   f"{' (estimated from a sample)' if b['estimated'] else ''}; added by each rule:")
        for rule in b["per_rule"]:
            click.echo(f"    {rule['added']:>12,}  {rule['rule']}")


def _print_quality(q: dict) -> None:
    p, c, lk = q["pairs"], q["clusters"], q["linkable_pairs"]
    click.echo(f"\nQuality against ground truth ({q['truth_dir']}): {q['records_evaluated']:,} records, "
               f"{q['people']:,} people, {q['participants']:,} participants")
    click.echo(f"  pairs     precision {p['precision']:.4f}  recall {p['recall']:.4f}  F1 {p['f1']:.4f}   "
               f"({p['correct_pairs']:,} of {p['predicted_pairs']:,} linked pairs correct; "
               f"{p['true_pairs']:,} true pairs)")
    if lk:
        click.echo(f"  linkable  precision {lk['precision']:.4f}  recall {lk['recall']:.4f}  F1 {lk['f1']:.4f}   "
                   f"({lk['linkable_pairs']:,} true pairs share information; {lk['unlinkable_true_pairs']:,} "
                   "share none, e.g. an HMRC record (NINo + date of birth only) and an ICB referral (no NINo))")
    click.echo(f"  clusters  B-cubed precision {c['b_cubed_precision']:.4f}  recall {c['b_cubed_recall']:.4f}  "
               f"F1 {c['b_cubed_f1']:.4f};  people exactly one participant "
               f"{c['people_exactly_one_participant']:.4f}")
    b = q.get("blocking")
    if b:
        linkable = (f"; of the linkable {b['linkable_pairs']:,}: {b['linkable_blocked']:,} (recall "
                    f"{b['linkable_recall']:.4f})" if b.get("linkable_recall") is not None else "")
        click.echo(f"  blocking  true pairs proposed by a blocking rule {b['blocked']:,} of {b['true_pairs']:,} "
                   f"(recall {b['recall']:.4f}){linkable}")
        for example in b.get("linkable_missed_examples", []):
            click.echo(f"            not proposed: {example}")


# ------------------------------------------------------------------------------------ review
@link_command.group(name="review", invoke_without_command=True)
@click.option("--list", "list_queue", is_flag=True, help="Show the queue (highest probability first).")
@click.option("--limit", default=30, show_default=True)
@click.option("--show-identifiers", is_flag=True,
              help="Also show the vault's names, dates of birth and postcodes (restricted: identity schema).")
@click.option("--decisions", "show_decisions", is_flag=True, help="List the recorded decisions.")
@click.option("--database-url", default=None)
@click.pass_context
def review_group(ctx: click.Context, list_queue: bool, limit: int, show_identifiers: bool, show_decisions: bool,
                 database_url: str | None) -> None:
    """Clerical review of uncertain pairs; decisions persist and every later run honours them.

    \b
      worklink link review --list [--show-identifiers]
      worklink link review decide KEY1 KEY2 --link | --do-not-link [--note TEXT]
      worklink link review withdraw KEY1 KEY2
      worklink link review --decisions
    Decisions take effect at the next `worklink link` (or nightly run).
    """
    if ctx.invoked_subcommand is not None:
        return
    import psycopg

    from worklink.linkage import review

    with psycopg.connect(_database_url(database_url), autocommit=True) as conn:
        if show_decisions:
            frame = review.decisions(conn)
            click.echo(frame.to_string(index=False) if len(frame) else "no decisions recorded")
            return
        if not list_queue:
            click.echo(ctx.get_help())
            return
        frame = review.queue(conn, limit)
        if frame.empty:
            click.echo("the review queue is empty")
            return
        people = None
        if show_identifiers:
            click.secho("Showing direct identifiers from the identity vault: authorised reviewers only.",
                        fg="yellow", err=True)
            # The access audit names the person reading the vault, not only the database role.
            conn.execute("select set_config('application_name', %s, false)", (f"review:{review.reviewer()}",))
            people = review.lookup_identifiers(conn, list(frame["key_l"]) + list(frame["key_r"]))
            people = people.set_index("source_record_key")
            from worklink.platform.retention import ensure_tables, log_action

            ensure_tables(conn)  # the audit record names the reviewer and counts what was shown (no values)
            log_action(conn, "identifiers_shown", "identity_vault", "clerical review: link review --list "
                       "--show-identifiers", {"source_records": len(people), "pairs": len(frame)},
                       f"review:{review.reviewer()}")
        for row in frame.itertuples(index=False):
            click.echo(f"\np={row.match_probability:.4f}  weight={row.match_weight:.2f}  {row.reason}")
            for key, pid in ((row.key_l, row.participant_l), (row.key_r, row.participant_r)):
                line = f"   {key}  ({pid})"
                if people is not None and key in people.index:
                    r = people.loc[key]
                    line += (f"  {r['first_name'] or '-'} {r['surname'] or '-'}  dob {r['dob'] or '-'}  "
                             f"{r['postcode'] or '-'}  sex {r['sex'] or '-'}  NHS {r['nhs_number'] or '-'}  "
                             f"NINo {r['nino_stem'] or '-'}")
                click.echo(line)
            if row.comparison_weights:
                weights = row.comparison_weights if isinstance(row.comparison_weights, dict) else json.loads(
                    row.comparison_weights)
                click.echo("   match weight by comparison: " + ", ".join(
                    f"{k} {v:+.1f}" for k, v in weights.items() if v is not None))
        click.echo(f"\n{len(frame)} shown. Decide with: worklink link review decide KEY1 KEY2 --link|--do-not-link")


@review_group.command("decide")
@click.argument("key_a")
@click.argument("key_b")
@click.option("--link/--do-not-link", "link", required=True, help="The reviewer's decision.")
@click.option("--note", default=None, help="Why (never write identifiers here).")
@click.option("--by", "decided_by", default=None, help="Reviewer name (default: WORKLINK_REVIEWER or login).")
@click.option("--database-url", default=None)
def review_decide(key_a: str, key_b: str, link: bool, note: str | None, decided_by: str | None,
                  database_url: str | None) -> None:
    """Record a link / do-not-link decision for two source record keys."""
    import psycopg

    from worklink.linkage import review

    with psycopg.connect(_database_url(database_url), autocommit=True) as conn:
        try:
            key_l, key_r = review.record_decision(conn, key_a, key_b, "link" if link else "do_not_link",
                                                  decided_by, note)
        except (LookupError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"recorded {'link' if link else 'do_not_link'}: {key_l} / {key_r} (applies from the next run)")


@review_group.command("withdraw")
@click.argument("key_a")
@click.argument("key_b")
@click.option("--database-url", default=None)
def review_withdraw(key_a: str, key_b: str, database_url: str | None) -> None:
    """Remove a decision; the model decides again from the next run."""
    import psycopg

    from worklink.linkage import review

    with psycopg.connect(_database_url(database_url), autocommit=True) as conn:
        removed = review.withdraw_decision(conn, key_a, key_b)
    click.echo("withdrawn" if removed else "no such decision")
    if not removed:
        sys.exit(1)


@link_command.command("charts")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the HTML charts (default: .worklink/reports/linkage).")
@click.option("--database-url", default=None)
def charts_command(out_dir: Path | None, database_url: str | None) -> None:
    """Write the current model's match-weight and m/u charts as standalone HTML."""
    import psycopg

    from worklink.linkage.config import load_config
    from worklink.linkage.model import charts_for_model
    from worklink.linkage.pipeline import _current_model, charts_dir

    config = load_config()
    with psycopg.connect(_database_url(database_url), autocommit=True) as conn:
        model = _current_model(conn, config)
    if model is None:
        raise click.ClickException("no model for the current settings yet: run `worklink link` first")
    for name, path in charts_for_model(model.model, out_dir or charts_dir(), config).items():
        click.echo(f"{name:15} {path}")
