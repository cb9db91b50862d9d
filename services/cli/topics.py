"""`lienthong topics`: create the inbound, delivery and dead-letter topics idempotently."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.plumbing.kafka_reach import reach_hint
from lienthong.plumbing.topics import TopicError, apply_topics, plan_topics


@click.group("topics")
def topics_group() -> None:
    """Plan and create the topics of this deployment."""


@topics_group.command("apply")
@click.option("--dry-run", is_flag=True, help="Say what would be created; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per topic.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the broker.")
@pass_runtime
def topics_apply(runtime: Runtime, *, dry_run: bool, as_json: bool, timeout: float) -> None:
    """Create every missing topic from the settings and the directory; a second run does nothing.

    Existing topics are never changed: a difference from the plan is reported instead.

    Example: LIENTHONG_KAFKA_BOOTSTRAP=127.0.0.1:9092 lienthong topics apply
    """
    directory = runtime.load_directory()
    specs = plan_topics(runtime.settings.topics, directory.endpoints.values())
    try:
        outcomes = apply_topics(
            make_admin(runtime.settings.kafka), specs, dry_run=dry_run, timeout=timeout
        )
    except TopicError as exc:
        raise click.ClickException(f"{exc} {reach_hint(runtime.settings.kafka)}") from None
    for outcome in outcomes:
        if as_json:
            click.echo(json.dumps(asdict(outcome)))
        else:
            click.echo(f"{outcome.action:<12} {outcome.name}  {outcome.detail}".rstrip())
    created = sum(o.action == "created" for o in outcomes)
    differs = sum(o.action == "differs" for o in outcomes)
    if not as_json:
        if created == 0 and not dry_run:
            click.echo(f"nothing to do: all {len(outcomes)} topics exist", err=True)
        else:
            click.echo(f"{created} created, {len(outcomes) - created} already there", err=True)
    if differs:
        click.echo(f"{differs} topics differ from the plan; see above", err=True)
