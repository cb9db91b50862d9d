"""`lienthong replay --endpoint ID --since TIME`: re-deliver an endpoint's records by copying.

Copying the records onto the endpoint's own delivery topic, rather than rewinding the offsets
its consumer keeps in its database, works while the consumer runs and with any store; the
reasons, and the cost, are in lienthong.operations.redeliver.
"""

from __future__ import annotations

from datetime import datetime

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.cli.operator import (
    WHEN_HELP,
    echo_json,
    json_option,
    one_line_failure,
    timeout_option,
    when_value,
)
from lienthong.operations.kafka_read import TopicReader
from lienthong.operations.redeliver import redeliver
from lienthong.operations.render import redelivery_json, redelivery_lines
from lienthong.operations.transactions import TransactionalWriter
from lienthong.operations.when import to_ms


@click.command("replay")
@click.option("--endpoint", "endpoint_id", required=True, metavar="ID", help="The endpoint.")
@click.option(
    "--since",
    required=True,
    metavar="TIME",
    callback=when_value,
    help=f"Re-deliver from this time. {WHEN_HELP}",
)
@click.option(
    "--until",
    metavar="TIME",
    callback=when_value,
    help="Leave out records stamped after this time.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be re-delivered; copy nothing.")
@json_option
@timeout_option
@pass_runtime
def replay_command(
    runtime: Runtime,
    endpoint_id: str,
    since: datetime,
    until: datetime | None,
    *,
    dry_run: bool,
    as_json: bool,
    timeout: float,
) -> None:
    """Re-deliver an endpoint's records since a time, e.g. to a system restored from backup.

    The records of the endpoint's delivery topic from the first offset stamped at or after
    --since (per partition) to the topic's end at the start of the command are copied onto
    the same topic and partition, in Kafka transactions, read with read_committed. The
    running consumer reads the copies and, idempotent by event id, stores each event once:
    what it already has is left as it is, what it lost is stored again. Each run copies an
    event once, even if the window holds it twice (a copy from an earlier replay).

    A store restored whole, its lt_offsets table with its rows, needs no replay: the consumer
    reads again from the restored offsets by itself. This is for a store (or a system fed from
    it) that lost rows its offsets say it has.

    Why copy rather than rewind the consumer's offsets: the consumer keeps its offsets in its
    database and seeks to them on every assignment, so a rewind means editing that database
    while the consumer is stopped. Copying works online, with any store, and needs only Kafka;
    it costs topic space (the copies are kept for the topic's retention).

    Example: lienthong replay --endpoint tinh-nghe-an --since 2026-11-26T08:00Z
    """
    if until is not None and until < since:
        raise click.BadParameter("--until is before --since", param_hint="--until")
    settings = runtime.settings
    directory = runtime.load_directory()
    if endpoint_id not in directory.endpoints:
        known = ", ".join(sorted(directory.endpoints))
        raise click.ClickException(f"unknown endpoint {endpoint_id!r} (known: {known})")
    topic = directory.endpoint(endpoint_id).delivery_topic(settings.topics.delivery_prefix)
    since_ms, until_ms = to_ms(since), (to_ms(until) if until is not None else None)
    with one_line_failure(), TopicReader(settings.kafka, timeout_s=timeout) as reader:
        writer = None
        if not dry_run:
            txn_id = f"lienthong-replay-{endpoint_id}"
            writer = TransactionalWriter(settings.kafka, txn_id, timeout_s=timeout)
        try:
            parts = redeliver(reader, writer, topic, since_ms=since_ms, until_ms=until_ms)
        finally:
            if writer is not None:
                writer.close()
    if as_json:
        echo_json(redelivery_json(topic, since_ms, until_ms, parts, dry_run=dry_run))
        return
    click.echo(f"{topic}, records stamped since {since:%Y-%m-%d %H:%M:%S} UTC:")
    for line in redelivery_lines(parts, dry_run=dry_run):
        click.echo(line)
