"""`lienthong db`: the consumer's database schema (upgrade, current) and its upkeep."""

from __future__ import annotations

import json
from datetime import datetime

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.cli.operator import when_value
from lienthong.consumer.store import StoreError, current, head, redacted, upgrade
from lienthong.consumer.store.store import Store
from lienthong.operations.when import HINT

_URL_HELP = "Database URL or SQLite file path [LIENTHONG_CONSUMER_DATABASE_URL]."


def database_url(runtime: Runtime, url: str | None) -> str:
    """Return the --url given, else the consumer's configured database URL."""
    return url or runtime.settings.consumer.database_url.get_secret_value()


@click.group("db")
def db_group() -> None:
    """Create and upgrade the consumer's database schema (SQLite or PostgreSQL)."""


@db_group.command("upgrade")
@click.option("--url", help=_URL_HELP)
@pass_runtime
def db_upgrade(runtime: Runtime, url: str | None) -> None:
    """Apply every migration the database lacks; a database already up to date is left alone.

    The consumer also does this on start; run it ahead of a deployment to migrate once.

    Example: lienthong db upgrade

    Example: lienthong db upgrade --url /var/lib/lienthong/h41.sqlite

    Example: lienthong db upgrade --url postgresql://lienthong@db.internal:5432/lienthong
    """
    target = database_url(runtime, url)
    try:
        before = current(target)
        after = upgrade(target)
    except StoreError as exc:
        raise click.ClickException(f"cannot upgrade {redacted(target)}: {exc}") from None
    if before == after:
        click.echo(f"{redacted(target)} is up to date at revision {after}")
    else:
        click.echo(f"{redacted(target)} upgraded from {before or 'an empty schema'} to {after}")


@db_group.command("current")
@click.option("--url", help=_URL_HELP)
@pass_runtime
def db_current(runtime: Runtime, url: str | None) -> None:
    """Print the database's schema revision and whether it is the newest this version knows.

    Exits with status 1 when the database is behind (so scripts can check before starting).

    Example: lienthong db current

    Example: lienthong db current --url postgresql://lienthong@db.internal:5432/lienthong
    """
    target = database_url(runtime, url)
    try:
        revision = current(target)
        newest = head()
    except StoreError as exc:
        raise click.ClickException(f"cannot read {redacted(target)}: {exc}") from None
    if revision == newest:
        click.echo(f"{revision} (head)")
        return
    click.echo(f"{revision or 'none'} (head is {newest}: run `lienthong db upgrade`)")
    raise click.exceptions.Exit(1)


@db_group.command("prune-outbox")
@click.option("--url", help=_URL_HELP)
@click.option(
    "--sent-before",
    "sent_before",
    default="30d",
    show_default=True,
    callback=when_value,
    help=f"Delete rows published before this time: {HINT}.",
)
@click.option("--dry-run", is_flag=True, help="Count the rows that would go; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_runtime
def db_prune_outbox(
    runtime: Runtime, url: str | None, sent_before: datetime, *, dry_run: bool, as_json: bool
) -> None:
    """Delete receipts and dead letters the relay published long ago; unsent rows stay.

    The outbox keeps every published row (sent_at set) until it is pruned: run this from cron.
    Safe while the consumer runs: it deletes in short chunks and never touches unsent rows.

    Example: lienthong db prune-outbox --sent-before 30d

    Example: lienthong db prune-outbox --sent-before 2026-10-01 --dry-run --json
    """
    target = database_url(runtime, url)
    try:
        with Store.open(target, migrate=False) as store:
            rows = store.prune_outbox(sent_before, dry_run=dry_run)
    except StoreError as exc:
        raise click.ClickException(
            f"cannot prune the outbox of {redacted(target)}: {exc}"
        ) from None
    if as_json:
        click.echo(
            json.dumps({"rows": rows, "dry_run": dry_run, "sent_before": sent_before.isoformat()})
        )
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {rows} outbox rows sent before {sent_before.isoformat()}")
