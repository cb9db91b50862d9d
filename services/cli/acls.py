"""`lienthong acls plan|apply|render`: the least-privilege ACLs of the directory, on the cluster."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.cli.operator import timeout_option
from lienthong.directory.model import Directory
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.security.access import NO_ACCESS, Access, load_access
from lienthong.security.acls import plan_acls
from lienthong.security.errors import SecurityError
from lienthong.security.kafka_acls import AclChanges, apply_acls
from lienthong.security.model import Acl
from lienthong.security.render import change_lines, markdown, table
from lienthong.security.strimzi import render_strimzi

F = TypeVar("F", bound=Callable[..., Any])


def access_options(func: F) -> F:
    """Add `--access FILE` and `--no-readers`, one of which every planning command needs."""
    # Required, not defaulted: an apply that forgot the file would delete every reader's ACLs.
    func = click.option(
        "--no-readers",
        is_flag=True,
        help="Plan without an access file: no principal reads delivery topics but endpoints.",
    )(func)
    return click.option(
        "--access",
        "access_path",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="FILE",
        help="The access file declaring readers (see deploy/access.example.yaml).",
    )(func)


def read_access(access_path: Path | None, *, no_readers: bool) -> Access:
    """Load the access file named, or none with --no-readers; fail the command otherwise."""
    if (access_path is None) == (not no_readers):
        raise click.UsageError(
            "give --access FILE (the readers of delivery topics) or --no-readers"
        )
    if access_path is None:
        return NO_ACCESS
    try:
        return load_access(access_path)
    except FileNotFoundError:
        raise click.ClickException(f"access file {access_path} not found") from None
    except SecurityError as exc:
        raise click.ClickException(f"access file {access_path} is invalid:\n{exc}") from None


def planned(runtime: Runtime, access: Access) -> tuple[Directory, frozenset[Acl]]:
    """Plan the ACLs of the configured directory, or fail the command with why not."""
    directory = runtime.load_directory()
    try:
        return directory, plan_acls(directory, runtime.settings, access)
    except SecurityError as exc:
        raise click.ClickException(f"cannot plan the ACLs:\n{exc}") from None


def broker_failure(runtime: Runtime, exc: SecurityError) -> click.ClickException:
    """Return the command's failure for a broker error, naming the broker."""
    where = f"(the broker at {runtime.settings.kafka.bootstrap})"
    return click.ClickException(f"{exc} {where}" if len(exc.lines) == 1 else f"{exc}\n{where}")


@click.group("acls")
def acls_group() -> None:
    """Plan and apply the ACLs that give each principal only what it needs."""


@acls_group.command("plan")
@access_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "markdown"]),
    default="table",
    show_default=True,
    help="markdown: the document docs/security-acls.md is generated with (no broker).",
)
@click.option(
    "--offline", is_flag=True, help="Print the plan only; do not compare with the broker."
)
@timeout_option
@pass_runtime
def acls_plan(
    runtime: Runtime,
    access_path: Path | None,
    output_format: str,
    *,
    no_readers: bool,
    offline: bool,
    timeout: float,
) -> None:
    """Print every ACL the directory needs, then what `acls apply` would create and delete.

    Example: lienthong acls plan --access deploy/access.example.yaml
    """
    access = read_access(access_path, no_readers=no_readers)
    directory, acls = planned(runtime, access)
    if output_format == "markdown":
        click.echo(markdown(directory, runtime.settings, access, acls), nl=False)
        return
    for line in table(acls):
        click.echo(line)
    if offline:
        return
    try:
        changes = apply_acls(
            make_admin(runtime.settings.kafka), acls, dry_run=True, timeout_s=timeout
        )
    except SecurityError as exc:
        raise broker_failure(runtime, exc) from None
    click.echo("")
    for line in change_lines(changes.created, changes.deleted):
        click.echo(line)
    click.echo(_summary(changes, dry_run=True), err=True)


@acls_group.command("apply")
@access_options
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@timeout_option
@pass_runtime
def acls_apply(
    runtime: Runtime, access_path: Path | None, *, no_readers: bool, dry_run: bool, timeout: float
) -> None:
    """Create the missing ACLs, then delete stale ones of `User:lt-*`; a second run does nothing.

    ACLs of other principals, and of the super users lt-admin and lt-broker, are never
    touched. Run it as a principal that may alter ACLs (lt-admin).

    Example: lienthong acls apply --access deploy/access.example.yaml
    """
    access = read_access(access_path, no_readers=no_readers)
    _, acls = planned(runtime, access)
    try:
        changes = apply_acls(
            make_admin(runtime.settings.kafka), acls, dry_run=dry_run, timeout_s=timeout
        )
    except SecurityError as exc:
        raise broker_failure(runtime, exc) from None
    for line in change_lines(changes.created, changes.deleted):
        click.echo(f"would {line}" if dry_run else line)
    if changes.unreadable:
        click.echo(
            f"{changes.unreadable} ACLs on the broker have a form this tool does not know;"
            " left alone",
            err=True,
        )
    click.echo(_summary(changes, dry_run=dry_run), err=True)


def _summary(changes: AclChanges, *, dry_run: bool) -> str:
    if changes.nothing_to_do:
        return f"nothing to do: {changes.in_place} ACLs already in place"
    verb = "would create" if dry_run else "created"
    deleted = "would delete" if dry_run else "deleted"
    return (
        f"{verb} {len(changes.created)}, {deleted} {len(changes.deleted)};"
        f" {changes.in_place} already in place"
    )


@acls_group.command("render")
@access_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["strimzi"]),
    required=True,
    help="strimzi: KafkaUser (with ACLs) and KafkaTopic resources.",
)
@click.option("--cluster", required=True, help="The Strimzi Kafka cluster (strimzi.io/cluster).")
@click.option("--namespace", help="The namespace to put in each resource's metadata.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    help="Write to this file instead of stdout.",
)
@pass_runtime
def acls_render(
    runtime: Runtime,
    access_path: Path | None,
    output_format: str,
    *,
    cluster: str,
    namespace: str | None,
    output: Path | None,
    no_readers: bool,
) -> None:
    """Write the principals and topics as Kubernetes resources, multi-document YAML.

    On Strimzi the User Operator makes each KafkaUser's password, in a Secret of the same
    name (key `password`); services read it through LIENTHONG_KAFKA_SASL_PASSWORD from a
    secretKeyRef. The Helm chart takes these resources from this command.

    Example: lienthong acls render --format strimzi --cluster lienthong --no-readers
    """
    assert output_format == "strimzi"  # the only choice click lets through
    access = read_access(access_path, no_readers=no_readers)
    directory, acls = planned(runtime, access)
    try:
        text = render_strimzi(
            directory, runtime.settings, access, acls, cluster=cluster, namespace=namespace
        )
    except SecurityError as exc:
        raise click.ClickException(f"cannot render for Strimzi:\n{exc}") from None
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
