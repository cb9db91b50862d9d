"""The subscriber's ports, a consumer and a dead-letter writer, and their kafka-python adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from kafka import AsyncConsumerRebalanceListener, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from lienthong.plumbing.deadletter import DeadLetter
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_python import envelope_of, make_consumer, make_producer
from lienthong.plumbing.kafka_reach import reach_hint
from lienthong.plumbing.settings import KafkaSettings
from lienthong.producer.client import producer_overrides
from lienthong.subscriber.events import CommitFailed, DeadLetterFailed, SubscriberError
from lienthong.subscriber.offsets import Partition

log = structlog.get_logger("lienthong.subscriber")

RevokeCallback = Callable[[frozenset[Partition]], Mapping[Partition, int]]
"""Called inside `poll` with partitions being taken away; returns the offsets to commit for them."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """What to read: topics, in a consumer group (committing) or alone (not)."""

    kafka: KafkaSettings
    topics: tuple[str, ...]
    group_id: str | None
    from_beginning: bool
    client_id: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    """kafka-python consumer options, e.g. `group_instance_id` for static membership."""


class ConsumerPort(Protocol):
    """The consumer a Subscriber reads from; tests pass a fake."""

    def poll(self, timeout_s: float, max_records: int) -> list[Envelope]:
        """Return the next records (maybe none), in order per partition."""

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit the next offset to read per partition, synchronously; raise CommitFailed."""

    def assignment(self) -> frozenset[Partition]:
        """Return the partitions this consumer reads now."""

    def close(self) -> None:
        """Leave the group and release the connections, committing nothing."""


class DeadLetterPort(Protocol):
    """Where records a subscriber gives up on go; tests pass a fake."""

    def send(self, letter: DeadLetter) -> None:
        """Write a dead letter, returning once acknowledged; raise DeadLetterFailed if not."""

    def close(self) -> None:
        """Flush and release the connections."""


ConsumerFactory = Callable[[Subscription, RevokeCallback], ConsumerPort]
DeadLetterFactory = Callable[[KafkaSettings], DeadLetterPort]


class _Listener(AsyncConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped
    """Commit what the subscriber finished on partitions before they go to another member.

    kafka-python 3 runs listeners on its IO thread, where a blocking commit is refused: the
    listener awaits an asynchronous one instead (the subscriber's thread waits inside poll).
    """

    def __init__(self, consumer: Any, on_revoked: RevokeCallback) -> None:
        self._consumer = consumer
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: Any) -> None:
        offsets = self._on_revoked(frozenset((tp.topic, tp.partition) for tp in revoked))
        if not offsets:
            return
        try:
            await self._consumer.commit_async(_kafka_offsets(offsets))
        except KafkaError as exc:  # the new owner reads these events again: at least once
            log.warning("subscriber_commit_failed", error=str(exc), rebalanced=True)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Read on from the group's committed offsets (kafka-python's default)."""


def _kafka_offsets(offsets: Mapping[Partition, int]) -> dict[TopicPartition, OffsetAndMetadata]:
    return {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}


class KafkaPythonConsumer:
    """A read_committed kafka-python consumer: in a group, or assigned every partition alone."""

    def __init__(self, sub: Subscription, on_revoked: RevokeCallback) -> None:
        reset = "earliest" if sub.from_beginning else "latest"
        try:
            self._consumer = make_consumer(
                sub.kafka,
                sub.group_id,
                client_id=sub.client_id,
                **{"auto_offset_reset": reset, **sub.options},
            )
        except KafkaError as exc:
            raise SubscriberError(f"cannot reach Kafka: {exc} {reach_hint(sub.kafka)}") from exc
        try:
            _start(self._consumer, sub, on_revoked)
        except BaseException:
            self._consumer.close(autocommit=False)
            raise

    def poll(self, timeout_s: float, max_records: int) -> list[Envelope]:
        """Return the next records of every assigned partition."""
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        return [envelope_of(r) for records in batches.values() for r in records]

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit synchronously; a CommitFailedError means the group moved the partitions."""
        try:
            self._consumer.commit(_kafka_offsets(offsets))
        except CommitFailedError as exc:
            raise CommitFailed(f"commit refused after a rebalance: {exc}", rebalanced=True) from exc
        except KafkaError as exc:
            raise CommitFailed(f"commit failed: {exc}", rebalanced=False) from exc

    def assignment(self) -> frozenset[Partition]:
        """Return the partitions assigned now."""
        return frozenset((tp.topic, tp.partition) for tp in self._consumer.assignment())

    def close(self) -> None:
        """Leave the group without committing (the subscriber committed what it finished)."""
        self._consumer.close(autocommit=False)


def _start(consumer: Any, sub: Subscription, on_revoked: RevokeCallback) -> None:
    missing = set(sub.topics) - set(consumer.topics())
    if missing:
        # The broker lists only the topics a principal may describe: a topic that exists but
        # is another endpoint's looks missing, so say both.
        who = sub.kafka.sasl_username
        why = f", or {who} may not read it (lienthong acls plan shows who may)" if who else ""
        raise SubscriberError(f"no such topic{why}: {', '.join(sorted(missing))}")
    if sub.group_id is not None:
        consumer.subscribe(list(sub.topics), listener=_Listener(consumer, on_revoked))
        return
    # No group: every partition, from the start or the end, and nothing committed.
    partitions = [
        TopicPartition(topic, p)
        for topic in sub.topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    if sub.from_beginning:
        consumer.seek_to_beginning(*partitions)
        return
    consumer.seek_to_end(*partitions)
    for tp in partitions:  # resolve "the end" now: what is written after open() is read
        consumer.position(tp)


class KafkaPythonDeadLetters:
    """An idempotent, acks=all kafka-python producer for dead letters, connected on first use."""

    def __init__(self, kafka: KafkaSettings, timeout_s: float = 30.0) -> None:
        self._kafka = kafka
        self._timeout_s = timeout_s
        self._producer: Any = None

    def send(self, letter: DeadLetter) -> None:
        """Write one dead letter and wait for its acknowledgement."""
        try:
            if self._producer is None:
                self._producer = make_producer(
                    self._kafka, **producer_overrides(self._kafka, self._timeout_s)
                )
            future = self._producer.send(
                letter.topic, key=letter.key, value=letter.value, headers=letter.headers
            )
            future.get(timeout=self._timeout_s + 1)
        except KafkaError as exc:
            raise DeadLetterFailed(f"{letter.topic}: dead letter not written: {exc}") from exc

    def close(self) -> None:
        """Flush and close the producer, if it was ever opened."""
        if self._producer is not None:
            self._producer.close(timeout=self._timeout_s)
            self._producer = None
