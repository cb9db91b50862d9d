"""`lienthong dlq replay`: publish dead letters again after a fix, each once across replays."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.cli.operator import (
    echo_json,
    echo_line,
    json_option,
    offset_values,
    one_line_failure,
    timeout_option,
)
from lienthong.operations.kafka_read import TopicReader
from lienthong.operations.kafka_replay import (
    KafkaDeadLetters,
    KafkaReplayLog,
    KafkaReplayPublisher,
    replay_transactional_id,
)
from lienthong.operations.render import replay_json, replay_lines
from lienthong.operations.replay import Selection, replay_dead_letters
from lienthong.operations.transactions import TransactionalWriter

F = TypeVar("F", bound=Callable[..., Any])


def log_topic_option(func: F) -> F:
    """Add `--log-topic`: the compacted topic recording what was replayed."""
    return click.option(
        "--log-topic",
        metavar="TOPIC",
        help="The replay log, a compacted topic keyed by DLQ record [default: <DLQ>.replayed].",
    )(func)


@click.command("replay")
@click.argument("offsets", nargs=-1, metavar="[[PARTITION:]OFFSET]...", callback=offset_values)
@click.option("--reason", "reasons", multiple=True, metavar="REASON", help="Every such record.")
@click.option("--all", "everything", is_flag=True, help="Every record of the DLQ.")
@click.option("--dry-run", is_flag=True, help="Say what would be published; publish nothing.")
@log_topic_option
@json_option
@timeout_option
@pass_runtime
def dlq_replay(
    runtime: Runtime,
    offsets: tuple[tuple[int, int], ...],
    reasons: tuple[str, ...],
    log_topic: str | None,
    *,
    everything: bool,
    dry_run: bool,
    as_json: bool,
    timeout: float,
) -> None:
    """Publish dead letters again after a fix (a directory update, say), each only once.

    Select by --reason (repeatable), by OFFSET (17 or PARTITION:17, as `dlq list` shows them;
    several allowed) or --all. Each record goes out with its original key, value and headers,
    minus the lt-dlq-* and lt-source-* headers, to a place decided by its stage (lt-dlq-stage):

    stage router: to the inbound topic, also minus lt-recipients and lt-routed-at, to be
    routed afresh with the current directory.

    stage consumer: to the inbound topic too, minus the routing headers, with lt-redeliver-to
    naming the endpoint it failed at: the router checks it again and delivers that
    endpoint's copy alone (only the router writes delivery topics).

    Any other stage, or an empty value: skipped, with the reason.

    Every replay is recorded in the replay log (a compacted topic, created if missing) in the
    same Kafka transaction as the records it publishes: a crash publishes both or neither. A
    record already in the log, or one with the same source as a logged one, is reported as
    already replayed and not published again. An OFFSET that is not in the DLQ fails the
    command before anything is published.

    Example: lienthong dlq replay --reason unknown-recipient --dry-run
    """
    if sum((bool(offsets), bool(reasons), everything)) != 1:
        raise click.UsageError("choose what to replay: --reason REASON, OFFSET... or --all")
    settings = runtime.settings
    known_topics = functools.cache(
        lambda: {
            e.delivery_topic(settings.topics.delivery_prefix): e.id
            for e in runtime.load_directory().endpoints.values()
        }
    )

    def endpoint_of(topic: str) -> str | None:
        return known_topics().get(topic)

    with one_line_failure(), TopicReader(settings.kafka, timeout_s=timeout) as reader:
        replay_log = KafkaReplayLog.for_settings(
            reader, settings, log_topic, create=not dry_run, timeout_s=timeout
        )
        writer = TransactionalWriter(
            settings.kafka, replay_transactional_id(replay_log.topic), timeout_s=timeout
        )
        try:
            plan = replay_dead_letters(
                Selection(frozenset(reasons), frozenset(offsets)),
                dead_letters=KafkaDeadLetters(reader, settings.topics.dlq),
                replay_log=replay_log,
                publisher=KafkaReplayPublisher(writer, replay_log.topic),
                inbound=settings.topics.inbound,
                endpoint_of=endpoint_of,
                dry_run=dry_run,
            )
        finally:
            writer.close()
    if as_json:
        echo_json(replay_json(plan, dry_run=dry_run, log_topic=replay_log.topic))
        return
    for line in replay_lines(plan, dry_run=dry_run):
        echo_line(line)
