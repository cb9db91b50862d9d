"""`lienthong users apply|list`: the SCRAM users of the planned principals, and their passwords."""

from __future__ import annotations

import os
from pathlib import Path

import click

from lienthong.cli.acls import access_options, broker_failure, read_access
from lienthong.cli.context import Runtime, pass_runtime
from lienthong.cli.operator import timeout_option
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.security.errors import BrokerError, SecretsError
from lienthong.security.passwords import Passwords
from lienthong.security.principals import SUPER_USERS, is_owned_user, planned_users
from lienthong.security.users import UserChanges, apply_users, existing_users, mechanisms

SECRETS_HELP = (
    "A directory of <user>.password files (mode 600): passwords are read from it, and new"
    " ones written into it. Without it, passwords come from LT_SCRAM_PASSWORD_<USER>."
)


@click.group("users")
def users_group() -> None:
    """Create, rotate and list the SCRAM users of the planned principals."""


@users_group.command("apply")
@access_options
@click.option("--secrets-dir", type=click.Path(path_type=Path, file_okay=False), help=SECRETS_HELP)
@click.option("--rotate", is_flag=True, help="Give existing users new passwords (all, or --user).")
@click.option(
    "--user", "only", multiple=True, metavar="NAME", help="With --rotate: only this user."
)
@click.option("--delete-stale", is_flag=True, help="Delete lt-* users no longer planned.")
@click.option("--dry-run", is_flag=True, help="Say what would change; change and write nothing.")
@timeout_option
@pass_runtime
def users_apply(
    runtime: Runtime,
    access_path: Path | None,
    secrets_dir: Path | None,
    only: tuple[str, ...],
    *,
    no_readers: bool,
    rotate: bool,
    delete_stale: bool,
    dry_run: bool,
    timeout: float,
) -> None:
    """Create every planned user that is missing, with SCRAM-SHA-512 (8192 iterations).

    A missing user's password is read from its file or variable, or made and written to
    --secrets-dir. --rotate makes new passwords for existing users: each is written next to
    the old file and replaces it once the broker took it. Passwords are never printed, and
    never come from the directory file. Existing users are otherwise left as they are.

    Example: lienthong users apply --access deploy/access.example.yaml --secrets-dir ~/.lienthong
    """
    users = planned_users(runtime.load_directory(), read_access(access_path, no_readers=no_readers))
    if only and not rotate:
        raise click.UsageError("--user chooses whom --rotate rotates: give --rotate too")
    unknown = sorted(set(only) - set(users))
    if unknown:
        raise click.UsageError(f"not a planned user: {', '.join(unknown)}")
    passwords = Passwords(secrets_dir, os.environ)
    try:
        changes = apply_users(
            make_admin(runtime.settings.kafka),
            users,
            passwords,
            rotate=(only or users) if rotate else (),
            delete_stale=delete_stale,
            dry_run=dry_run,
            timeout_s=timeout,
        )
    except SecretsError as exc:
        raise click.ClickException(str(exc)) from None
    except BrokerError as exc:
        raise broker_failure(runtime, exc) from None
    for line in _lines(changes, passwords, dry_run=dry_run):
        click.echo(line)
    click.echo(_summary(changes, dry_run=dry_run), err=True)


def _lines(changes: UserChanges, passwords: Passwords, *, dry_run: bool) -> list[str]:
    plan, would = changes.plan, "would " if dry_run else ""
    lines = []
    for user in plan.create:
        where = changes.written.get(user)
        source = f"new password in {where}" if where else f"password from {passwords.source(user)}"
        lines.append(f"{would}create {user} ({source})")
    lines += [
        f"{would}rotate {user} (new password in {changes.written[user]})" for user in plan.rotate
    ]
    lines += [f"{would}delete {user} (no longer planned)" for user in plan.delete]
    lines += [f"stale {user}: no longer planned (--delete-stale deletes it)" for user in plan.stale]
    return lines


def _summary(changes: UserChanges, *, dry_run: bool) -> str:
    plan = changes.plan
    if plan.nothing_to_do:
        return f"nothing to do: {len(plan.in_place)} users already exist"
    done = (
        ("would create", "would rotate", "would delete")
        if dry_run
        else ("created", "rotated", "deleted")
    )
    counts = (len(plan.create), len(plan.rotate), len(plan.delete))
    said = ", ".join(f"{verb} {n}" for verb, n in zip(done, counts, strict=True))
    return f"{said}; {len(plan.in_place) - len(plan.rotate)} left as they are"


@users_group.command("list")
@access_options
@click.option("--secrets-dir", type=click.Path(path_type=Path, file_okay=False), help=SECRETS_HELP)
@timeout_option
@pass_runtime
def users_list(
    runtime: Runtime,
    access_path: Path | None,
    secrets_dir: Path | None,
    *,
    no_readers: bool,
    timeout: float,
) -> None:
    """List planned and existing SCRAM users: ok, missing, stale; and where passwords are.

    Example: lienthong users list --no-readers --secrets-dir ~/.lienthong
    """
    users = planned_users(runtime.load_directory(), read_access(access_path, no_readers=no_readers))
    try:
        existing = existing_users(make_admin(runtime.settings.kafka), timeout_s=timeout)
    except BrokerError as exc:
        raise broker_failure(runtime, exc) from None
    passwords = Passwords(secrets_dir, os.environ)
    rows = [("USER", "STATUS", "CREDENTIALS", "PASSWORD")]
    for user in [*users, *sorted(set(existing) - set(users))]:
        credentials = existing.get(user, ())
        rows.append(
            (
                user,
                _status(user, users, credentials),
                ", ".join(credentials) or "-",
                _source(user, users, passwords),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _status(user: str, users: tuple[str, ...], credentials: tuple[str, ...]) -> str:
    if user in SUPER_USERS:
        return "super user"
    if user in users:
        return "ok" if "SCRAM-SHA-512" in mechanisms(credentials) else "missing"
    return "stale" if is_owned_user(user) else "not ours"


def _source(user: str, users: tuple[str, ...], passwords: Passwords) -> str:
    if user not in users:
        return "-"
    return passwords.source(user) or "none"
