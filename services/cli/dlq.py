"""`lienthong dlq list|show|replay`: what is in the dead-letter topic, and sending it again."""

from __future__ import annotations

from datetime import datetime

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.cli.dlq_replay import dlq_replay, log_topic_option
from lienthong.cli.operator import (
    WHEN_HELP,
    echo_json,
    echo_line,
    json_option,
    offset_value,
    one_line_failure,
    timeout_option,
    when_value,
)
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.operations.deadletters import count_by_reason, select
from lienthong.operations.inspect_record import record_json, record_lines
from lienthong.operations.kafka_read import TopicReader
from lienthong.operations.kafka_replay import KafkaDeadLetters, KafkaReplayLog
from lienthong.operations.render import dead_letter_json, list_lines, summary_line
from lienthong.operations.replay_log import ReplayLog
from lienthong.operations.when import iso_ms, to_ms


@click.group("dlq")
def dlq_group() -> None:
    """Inspect the dead-letter topic and replay its records after a fix."""


@dlq_group.command("list")
@click.option("--reason", "reasons", multiple=True, metavar="REASON", help="Only this reason.")
@click.option(
    "--since",
    metavar="TIME",
    callback=when_value,
    help=f"Only records dead-lettered since. {WHEN_HELP}",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="Show the newest N matching records; the summary still counts them all.",
)
@log_topic_option
@json_option
@timeout_option
@pass_runtime
def dlq_list(
    runtime: Runtime,
    reasons: tuple[str, ...],
    since: datetime | None,
    limit: int | None,
    log_topic: str | None,
    *,
    as_json: bool,
    timeout: float,
) -> None:
    """List dead letters: where, when, why, which event, from where; then a count by reason.

    Reads the DLQ from its beginning to its end at the start of the command (read_committed;
    joins no group, commits nothing). `--reason` repeats. Records already sent again by
    `dlq replay` are marked (replayed).

    Example: lienthong dlq list --reason unknown-recipient --since 2h --limit 20
    """
    settings = runtime.settings
    with one_line_failure(), TopicReader(settings.kafka, timeout_s=timeout) as reader:
        records = KafkaDeadLetters(reader, settings.topics.dlq).snapshot()
        replay_log = KafkaReplayLog.for_settings(reader, settings, log_topic, timeout_s=timeout)
        log = ReplayLog(replay_log.markers())
    # A record counts as replayed by its own marker or by one for the same source.
    replayed = {r.coordinates for r in records if log.replayed(r) is not None}
    matching = select(records, reasons=reasons, since_ms=to_ms(since) if since else None)
    shown = matching
    if limit is not None:
        # Newest by DLQ time, not offset: with several partitions offsets do not order time.
        newest = sorted(matching, key=lambda r: r.at_ms)[-limit:]
        shown = sorted(newest, key=lambda r: (r.partition, r.offset))
    counts = count_by_reason(matching)
    if as_json:
        echo_json(
            {
                "topic": settings.topics.dlq,
                "total": len(records),
                "matching": len(matching),
                "since": iso_ms(to_ms(since)) if since else None,
                "by_reason": counts,
                "records": [dead_letter_json(r, replayed=r.coordinates in replayed) for r in shown],
            }
        )
        return
    for line in list_lines(shown, replayed, len(records), len(matching)):
        echo_line(line)
    click.echo(summary_line(counts))


@dlq_group.command("show")
@click.argument("offset", metavar="[PARTITION:]OFFSET", callback=offset_value)
@click.option(
    "--partition",
    type=click.IntRange(min=0),
    help="The DLQ partition (default 0, or P of P:OFFSET).",
)
@json_option
@timeout_option
@pass_runtime
def dlq_show(
    runtime: Runtime,
    offset: tuple[int, int],
    partition: int | None,
    *,
    as_json: bool,
    timeout: float,
) -> None:
    """Show one dead letter in full: every header, and the body as JSON when it decodes.

    A body that does not decode is shown as the hex of its first bytes, with the decoder's
    error. The offset is the P:OFFSET column of `dlq list`.

    Example: lienthong dlq show 17 --partition 0 --json
    """
    settings = runtime.settings
    where = (partition if partition is not None else offset[0], offset[1])
    with one_line_failure(), TopicReader(settings.kafka, timeout_s=timeout) as reader:
        envelope = reader.read_one(settings.topics.dlq, *where)
    data = record_json(envelope, Codec(SchemaStore.from_package()))
    if as_json:
        echo_json(data)
        return
    for line in record_lines(data):
        echo_line(line)


dlq_group.add_command(dlq_replay)
