"""What the router's and the consumer's batch loops share as members of a consumer group.

`Assignment` keeps what a member owns from its rebalance callbacks, for metrics and
readiness. Both loops use the cooperative-sticky assignor, whose callbacks carry increments:
`assigned` adds partitions, `revoked` and `lost` remove them. librdkafka calls the assign
callback on every rebalance, with an empty list for a member that gets nothing, so one call
means the member has joined its group, even with no partition to read.

Both read with confluent-kafka's `consume()`, which hands back errors as messages: a fatal one
must stop the process, end-of-partition is news to no one, anything else is worth a log line.
`consume(n, timeout)` returns only when it has n messages or the timeout passed, so a batch
read with it alone waits its whole window whenever traffic is light: `consume_batch` closes a
batch as soon as the records that arrived are read (`IDLE_S` without a new one), and fills it
up to its count or window only while records keep coming.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import Counter, Gauge

from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.health import OK

Partition = tuple[str, int]

# How long a batch waits for one more record once records stopped coming: short, so a lone
# record is on its way in milliseconds, not after the batch window.
IDLE_S = 0.01


class BatchSource(Protocol):
    """What `consume_batch` needs of a confluent-kafka Consumer."""

    def poll(self, timeout: float) -> Message | None:
        """Return one message (or None after `timeout`)."""
        ...

    def consume(self, num_messages: int, timeout: float) -> Sequence[Message]:
        """Return up to `num_messages`, waiting at most `timeout`."""
        ...

    def seek(self, partition: TopicPartition) -> None:
        """Move a partition's position to `partition.offset`."""
        ...


class Assignment:
    """The partitions owned now, for readiness and metrics; counts rebalances."""

    def __init__(self, group: str, *, rebalances: Counter, owned: Gauge) -> None:
        self._group = group
        self._rebalances = rebalances
        self._owned_gauge = owned
        self._owned: set[Partition] = set()
        self._joined = False
        self._generation = 0
        self._touched: dict[Partition, int] = {}  # partition -> generation of its last change
        self._lock = threading.Lock()

    @property
    def joined(self) -> bool:
        """Tell whether the member is in its group (it got an assignment, maybe empty)."""
        return self._joined

    @property
    def generation(self) -> int:
        """Return a number that changes with every rebalance callback."""
        return self._generation

    def changed_since(self, generation: int) -> frozenset[Partition]:
        """Return the partitions assigned, revoked or lost after `generation`."""
        with self._lock:
            return frozenset(p for p, g in self._touched.items() if g > generation)

    @property
    def owned(self) -> frozenset[Partition]:
        """Return the partitions owned now."""
        with self._lock:
            return frozenset(self._owned)

    def assigned(self, partitions: Iterable[Partition]) -> int:
        """Add partitions; return how many are owned now."""
        added = set(partitions)
        with self._lock:
            self._owned |= added
            self._joined = True
            return self._changed("assigned", added)

    def revoked(self, partitions: Iterable[Partition]) -> int:
        """Remove partitions handed back in a rebalance; return how many are owned now."""
        return self._remove("revoked", partitions, still_joined=True)

    def lost(self, partitions: Iterable[Partition]) -> int:
        """Remove partitions taken away (session lost): the member must join again."""
        return self._remove("lost", partitions, still_joined=False)

    def check(self) -> str:
        """Readiness: "ok" once the member has joined its group."""
        return OK if self._joined else f"not yet a member of consumer group {self._group}"

    def _remove(self, kind: str, partitions: Iterable[Partition], *, still_joined: bool) -> int:
        gone = set(partitions)
        with self._lock:
            self._owned -= gone
            self._joined = self._joined and still_joined
            return self._changed(kind, gone)

    def _changed(self, kind: str, partitions: set[Partition]) -> int:
        self._generation += 1
        for partition in partitions:
            self._touched[partition] = self._generation
        self._rebalances.labels(kind).inc()
        self._owned_gauge.set(len(self._owned))
        return len(self._owned)


def consume_batch(
    consumer: BatchSource, max_records: int, window_s: float, assignment: Assignment
) -> list[Message]:
    """Read one batch: wait up to `window_s` for a first record, then take what keeps coming.

    The batch closes at `max_records`, `window_s` after its first record, or as soon as no new
    record came for `IDLE_S`, whichever is first: under load batches fill up, while a lone
    record adds milliseconds of latency, not the window. A rebalance during the read (its
    callbacks run inside poll and consume) closes the batch, which keeps only the records of
    partitions owned throughout the read: no batch mixes two assignments.
    """
    generation = assignment.generation
    first = consumer.poll(window_s)
    if first is None:
        return []
    messages = [first]
    deadline = time.monotonic() + window_s
    while len(messages) < max_records and assignment.generation == generation:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        more = consumer.consume(max_records - len(messages), min(IDLE_S, left))
        if not more:
            break
        messages.extend(more)
    if assignment.generation != generation:
        messages = _owned_throughout(consumer, messages, assignment, generation)
    return messages


def _owned_throughout(
    consumer: BatchSource, messages: list[Message], assignment: Assignment, generation: int
) -> list[Message]:
    """Drop the records of partitions whose assignment changed during the read.

    A partition revoked (or lost) belongs to another member now. One revoked and assigned
    back within the read restarted from its committed offset: its records read before may be
    read again, so they are dropped and the partition is sought back to the first of them
    (where its last committed batch ended), to be read once, in the next batch.
    """
    changed = assignment.changed_since(generation)
    owned = assignment.owned
    kept: list[Message] = []
    rewind: dict[Partition, int] = {}
    for message in messages:
        key = (message.topic(), message.partition())
        if message.error() is not None or key not in changed:
            kept.append(message)
        elif key in owned and (offset := message.offset()) is not None:
            rewind[key] = min(rewind.get(key, offset), offset)
    for (topic, partition), offset in rewind.items():
        with contextlib.suppress(KafkaException):  # not fetching yet: it starts there anyway
            consumer.seek(TopicPartition(topic, partition, offset))
    return kept


def usable(message: Message, *, logger: str, event: str) -> bool:
    """Tell whether `message` is a record; raise on a fatal error, log any other but EOF."""
    error = message.error()
    if error is None:
        return True
    # A fatal error reaches the application as an event whose code is _FATAL and whose own
    # fatal flag may be unset (librdkafka keeps the cause for rd_kafka_fatal_error()): either
    # way the client is dead, and reading on would read nothing, silently, for ever.
    if error.fatal() or error.code() == KafkaError._FATAL:
        raise KafkaException(error)
    if error.code() != KafkaError._PARTITION_EOF:
        structlog.get_logger(logger).warning(event, error=error.str())
    return False


def next_offsets(envelopes: Iterable[Envelope]) -> dict[tuple[str, int], int]:
    """Return, per partition in the batch, the offset just past its last record."""
    last: dict[tuple[str, int], int] = {}
    for env in envelopes:
        key = (env.topic, env.partition)
        last[key] = max(last.get(key, 0), env.offset + 1)
    return last
