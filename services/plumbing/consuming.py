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

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

import structlog
from confluent_kafka import KafkaError, KafkaException, Message
from prometheus_client import Counter, Gauge

from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.health import OK
from lienthong.plumbing.lag import LagGauge

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


class Assignment:
    """The partitions owned now; counts rebalances and drops lag of partitions given up."""

    def __init__(self, group: str, *, rebalances: Counter, owned: Gauge, lag: LagGauge) -> None:
        self._group = group
        self._rebalances = rebalances
        self._owned_gauge = owned
        self._lag = lag
        self._owned: set[Partition] = set()
        self._joined = False
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def joined(self) -> bool:
        """Tell whether the member is in its group (it got an assignment, maybe empty)."""
        return self._joined

    @property
    def generation(self) -> int:
        """Return a number that changes with every rebalance callback."""
        return self._generation

    @property
    def owned(self) -> frozenset[Partition]:
        """Return the partitions owned now."""
        with self._lock:
            return frozenset(self._owned)

    def assigned(self, partitions: Iterable[Partition]) -> int:
        """Add partitions; return how many are owned now."""
        with self._lock:
            self._owned |= set(partitions)
            self._joined = True
            return self._changed("assigned")

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
        for topic, partition in gone:
            self._lag.forget(topic, partition)
        with self._lock:
            self._owned -= gone
            self._joined = self._joined and still_joined
            return self._changed(kind)

    def _changed(self, kind: str) -> int:
        self._generation += 1
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
    callbacks run inside poll and consume) closes the batch, keeping only records of
    partitions still owned, so no batch mixes two assignments.
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
        owned = assignment.owned
        messages = [
            m for m in messages if m.error() is not None or (m.topic(), m.partition()) in owned
        ]
    return messages


def usable(message: Message, *, logger: str, event: str) -> bool:
    """Tell whether `message` is a record; raise on a fatal error, log any other but EOF."""
    error = message.error()
    if error is None:
        return True
    if error.fatal():
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
