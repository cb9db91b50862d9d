"""`lienthong db`: bring the consumer's database to the schema this version needs."""

from __future__ import annotations

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.consumer.store import StoreError, current, head, redacted, upgrade

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
