"""Read topics the way operator tools must: assigned, read_committed, to a snapshot's end.

No group is joined and nothing is committed: the group id librdkafka requires is unique per
reader and never used. A snapshot stops at the end offsets captured when it starts, so records
written meanwhile (the replay's own copies, say) are not read back.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Generator, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from lienthong.operations.errors import BrokerUnavailable, NotFound, broker_error
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_confluent import envelope_of, make_consumer
from lienthong.plumbing.kafka_reach import reach_hint
from lienthong.plumbing.settings import KafkaSettings

# librdkafka retries a down broker with a log line per attempt; a command reports one line of
# its own when it gives up, so the client's chatter is kept out of the operator's way.
QUIET = logging.getLogger("lienthong.operations.librdkafka")
QUIET.setLevel(logging.CRITICAL)
QUIET.propagate = False
_UNKNOWN_TOPIC = KafkaError.UNKNOWN_TOPIC_OR_PART


class TopicReader:
    """A consumer that only assigns partitions; close it (or use it as a context manager)."""

    def __init__(self, kafka: KafkaSettings, *, timeout_s: float, **overrides: Any) -> None:
        self._kafka = kafka
        self._timeout = timeout_s
        self._consumer: Consumer = make_consumer(
            kafka,
            f"lienthong-ops-{uuid.uuid4().hex[:12]}",
            client_id="lienthong-ops",
            **{
                "enable.partition.eof": True,
                # The end of a partition is known when an empty fetch comes back; the broker
                # holds an empty fetch this long, once per read, so it is kept short.
                "fetch.wait.max.ms": 50,
                "logger": QUIET,
                **overrides,
            },
        )

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the consumer (it commits nothing: auto-commit is off)."""
        self._consumer.close()

    def partitions(self, topic: str) -> list[int]:
        """Return the topic's partitions; NotFound if it does not exist."""
        try:
            metadata = self._consumer.list_topics(topic, timeout=self._timeout)
        except KafkaException as exc:
            raise broker_error(exc, self._kafka, f"read the metadata of {topic}") from None
        found = metadata.topics.get(topic)
        error = found.error if found is not None else None
        if found is None or (error is not None and error.code() == _UNKNOWN_TOPIC):
            raise NotFound(f"topic {topic} does not exist")
        if error is not None or not found.partitions:
            # Just created, or a leader moving: the topic exists but cannot be read now.
            shown = error.str() if error is not None else "no partitions"
            raise BrokerUnavailable(f"cannot read {topic} now: {shown}")
        return sorted(found.partitions)

    def watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        """Return the partition's (first, end) offsets now."""
        try:
            low, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=self._timeout
            )
        except KafkaException as exc:
            raise broker_error(exc, self._kafka, f"read the offsets of {topic}") from None
        return low, high

    def offsets_for_time(self, topic: str, at_ms: int) -> dict[int, int]:
        """Return per partition the first offset with a timestamp at or after `at_ms`; -1: none."""
        wanted = [TopicPartition(topic, p, at_ms) for p in self.partitions(topic)]
        try:
            found = self._consumer.offsets_for_times(wanted, timeout=self._timeout)
        except KafkaException as exc:
            raise broker_error(exc, self._kafka, f"look up times in {topic}") from None
        return {tp.partition: tp.offset for tp in found}

    def snapshot(
        self,
        topic: str,
        start: Mapping[int, int] | None = None,
        stop: Mapping[int, int] | None = None,
    ) -> Generator[Envelope, None, None]:
        """Yield committed records from `start` (default: the first) to `stop` or today's end."""
        pending: dict[int, int] = {}
        assigned = []
        for number in self.partitions(topic):
            low, high = self.watermarks(topic, number)
            first = max(low, (start or {}).get(number, low))
            end = min(high, (stop or {}).get(number, high))
            if first < end:
                pending[number] = end
                assigned.append(TopicPartition(topic, number, first))
        self._consumer.assign(assigned)
        try:
            while pending:
                for message in self._poll(topic, pending):
                    envelope = _take(message, pending)
                    if envelope is not None:
                        yield envelope
        finally:
            self._consumer.unassign()

    def _poll(self, topic: str, pending: Mapping[int, int]) -> list[Message]:
        """Return the next messages, waiting at most the timeout for any to come."""
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            # consume() waits out its timeout unless the batch fills: short, so a small read
            # ends as soon as its partitions report their end.
            messages = self._consumer.consume(500, 0.05)
            if messages:
                return messages
        shown = ", ".join(str(p) for p in sorted(pending))
        raise BrokerUnavailable(
            f"no progress reading {topic} partitions {shown} for {self._timeout:.0f} s"
            f" {reach_hint(self._kafka)}"
        )

    def read_one(self, topic: str, partition: int, offset: int) -> Envelope:
        """Return the record at exactly `partition`/`offset`; NotFound if there is none."""
        if partition not in self.partitions(topic):
            raise NotFound(f"{topic} has no partition {partition}")
        low, high = self.watermarks(topic, partition)
        if not low <= offset < high:
            held = f"offsets {low}-{high - 1}" if high > low else "it is empty"
            raise NotFound(f"no record at {topic}[{partition}]@{offset} ({held})")
        records = self.snapshot(topic, {partition: offset})
        try:
            first = next(records, None)
        finally:
            records.close()
        if first is None or first.offset != offset:
            # A transaction marker or an aborted record holds the offset: no record to show.
            raise NotFound(f"no committed record at {topic}[{partition}]@{offset}")
        return first


def _take(message: Message, pending: dict[int, int]) -> Envelope | None:
    """Return the message's record if the snapshot holds it; drop partitions that are done."""
    if _at_end(message):
        # The end under read_committed is the last stable offset: past it lie records of open
        # transactions, which a snapshot must not wait for.
        partition = message.partition()
        pending.pop(partition if partition is not None else -1, None)
        return None
    envelope = envelope_of(message)
    end = pending.get(envelope.partition)
    if end is None or envelope.offset >= end:
        pending.pop(envelope.partition, None)
        return None
    if envelope.offset >= end - 1:
        del pending[envelope.partition]
    return envelope


def _at_end(message: Message) -> bool:
    """Return True at a partition's end; raise on any other error (the snapshot would lie)."""
    error = message.error()
    if error is None:
        return False
    if error.code() == KafkaError._PARTITION_EOF:
        return True
    raise BrokerUnavailable(f"cannot read {message.topic()}: {error.str()}")
