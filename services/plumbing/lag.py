"""Consumer lag as an operator sees it: committed offsets against the end of each partition.

A lag computed from the loop's own position says nothing when the loop is stuck (its position
stands still, and so does the gauge). `LagMonitor` asks the broker instead, from a thread and a
consumer of its own that never joins a group: the end of every partition of the topics (the
last stable offset, as the consumer reads read_committed) against where the group has
*committed*, for the router
its Kafka consumer group offsets (what `kafka-consumer-groups --describe` shows), for a
persisting consumer the offsets its database holds. A stalled loop shows rising lag.

Every process reports every partition of its topics, whichever member owns it, so a member
that lost its partitions, or is gone, does not take their lag with it: aggregate with
`max by (topic, partition)`. A partition with nothing committed counts from its first offset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

import structlog
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import Gauge

log = structlog.get_logger("lienthong.lag")

Partition = tuple[str, int]
# The next offset to read per partition, for the partitions that have one committed.
Committed = Callable[[Sequence[Partition]], Mapping[Partition, int]]


class LagMonitor:
    """Refresh a lag gauge (labels: topic, partition) every interval, in a thread of its own."""

    def __init__(
        self,
        gauge: Gauge,
        *,
        topics: Sequence[str],
        committed: Committed,
        connect: Callable[[], Consumer],
        interval_s: float,
        timeout_s: float = 5.0,
    ) -> None:
        self._gauge = gauge
        self._topics = list(topics)
        self._committed = committed
        self._connect = connect
        self._interval = interval_s
        self._timeout = timeout_s
        self._lag: dict[Partition, int] = {}
        self._lock = threading.Lock()

    def start(self, stop: threading.Event) -> None:
        """Refresh until `stop` is set (a daemon thread: a broker that hangs holds only it)."""

        def run() -> None:
            while not stop.is_set():
                self.refresh()
                stop.wait(self._interval)

        threading.Thread(target=run, name="lag-monitor", daemon=True).start()

    def refresh(self) -> bool:
        """Ask the broker once and set the gauge; False (gauge unchanged) if it did not answer."""
        try:
            lag = self._measure()
        except Exception as exc:  # noqa: BLE001 - a failed probe is news, not a crash
            log.debug("lag_refresh_failed", error=str(exc))
            return False
        with self._lock:
            for gone in self._lag.keys() - lag.keys():
                self._gauge.remove(gone[0], str(gone[1]))
            self._lag = lag
        for (topic, partition), records in lag.items():
            self._gauge.labels(topic, str(partition)).set(records)
        return True

    def lag(self, partitions: Sequence[Partition] | None = None) -> int:
        """Return the last measured lag summed over `partitions` (all when None)."""
        with self._lock:
            if partitions is None:
                return sum(self._lag.values())
            return sum(self._lag.get(p, 0) for p in partitions)

    def _measure(self) -> dict[Partition, int]:
        reader = self._connect()
        metadata = reader.list_topics(timeout=self._timeout)
        partitions = [
            (topic, p)
            for topic in self._topics
            if (found := metadata.topics.get(topic)) is not None and found.error is None
            for p in sorted(found.partitions)
        ]
        if not partitions:
            return {}
        committed = self._committed(partitions)
        lag: dict[Partition, int] = {}
        for topic, partition in partitions:
            low, high = reader.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=self._timeout, cached=False
            )
            start = committed.get((topic, partition), low)
            lag[(topic, partition)] = max(0, high - start)
        return lag


def offsets_reader(connect: Callable[[], Consumer]) -> Callable[[], Consumer]:
    """Return a factory that makes the monitor's own consumer on first use, then reuses it."""
    made: list[Consumer] = []
    lock = threading.Lock()

    def reader() -> Consumer:
        with lock:
            if not made:
                made.append(connect())
            return made[0]

    return reader


def group_committed(reader: Callable[[], Consumer], timeout_s: float = 5.0) -> Committed:
    """Return a `Committed` reading the committed offsets of the reader's consumer group.

    The reader is a consumer configured with the group's id that never subscribes, so it is
    not a member: `committed()` asks the group coordinator like kafka-consumer-groups does.
    (Not AdminClient.list_consumer_group_offsets: librdkafka's admin coordinator requests
    have been seen to abort the process on an assertion across a broker restart.)
    """

    def committed(partitions: Sequence[Partition]) -> Mapping[Partition, int]:
        answer = reader().committed(
            [TopicPartition(t, p) for t, p in partitions], timeout=timeout_s
        )
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in answer
            if tp.error is None and tp.offset >= 0
        }

    return committed
