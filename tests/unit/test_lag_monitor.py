"""The lag gauge: the group's committed offsets against the ends of the log, from the broker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry, Gauge

from lienthong.plumbing.lag import LagMonitor, group_committed


class FakeReader:
    """A consumer that answers metadata, watermarks and committed offsets from tables."""

    def __init__(self, ends: dict[tuple[str, int], tuple[int, int]]) -> None:
        self.ends = ends
        self.committed_offsets: dict[tuple[str, int], int] = {}
        self.down = False

    def list_topics(self, timeout: float) -> SimpleNamespace:  # noqa: ARG002
        if self.down:
            raise RuntimeError("broker down")
        topics: dict[str, SimpleNamespace] = {}
        for topic, partition in self.ends:
            found = topics.setdefault(topic, SimpleNamespace(error=None, partitions={}))
            found.partitions[partition] = None
        return SimpleNamespace(topics=topics)

    def get_watermark_offsets(
        self,
        tp: TopicPartition,
        timeout: float,  # noqa: ARG002
        cached: bool,  # noqa: ARG002, FBT001
    ) -> tuple[int, int]:
        return self.ends[(tp.topic, tp.partition)]

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:  # noqa: ARG002
        return [
            TopicPartition(
                tp.topic, tp.partition, self.committed_offsets.get((tp.topic, tp.partition), -1001)
            )
            for tp in partitions
        ]


def _monitor(reader: FakeReader, committed: object = None) -> tuple[LagMonitor, CollectorRegistry]:
    registry = CollectorRegistry()
    gauge = Gauge("t_lag", "Lag.", ["topic", "partition"], registry=registry)
    monitor = LagMonitor(
        gauge,
        topics=["in"],
        committed=committed or group_committed(lambda: reader),  # type: ignore[arg-type, return-value]
        connect=lambda: reader,  # type: ignore[arg-type, return-value]
        interval_s=1.0,
    )
    return monitor, registry


def _lag(registry: CollectorRegistry, partition: int) -> float | None:
    return registry.get_sample_value("t_lag", {"topic": "in", "partition": str(partition)})


def test_lag_counts_from_the_committed_offset_or_the_first_offset_when_none() -> None:
    reader = FakeReader({("in", 0): (0, 100), ("in", 1): (40, 50)})
    reader.committed_offsets[("in", 0)] = 70
    monitor, registry = _monitor(reader)
    assert monitor.refresh()
    assert (_lag(registry, 0), _lag(registry, 1)) == (30, 10)
    assert monitor.lag() == 40
    assert monitor.lag([("in", 1)]) == 10


def test_a_stalled_group_shows_rising_lag_and_a_broker_away_keeps_the_last_figures() -> None:
    reader = FakeReader({("in", 0): (0, 10)})
    reader.committed_offsets[("in", 0)] = 10
    monitor, registry = _monitor(reader)
    monitor.refresh()
    assert _lag(registry, 0) == 0
    reader.ends[("in", 0)] = (0, 500)  # records arrive; nothing commits
    monitor.refresh()
    assert _lag(registry, 0) == 490
    reader.down = True
    assert not monitor.refresh()
    assert _lag(registry, 0) == 490


def test_a_store_can_be_the_source_of_committed_offsets() -> None:
    reader = FakeReader({("in", 0): (0, 10)})

    def stored(partitions: Sequence[tuple[str, int]]) -> Mapping[tuple[str, int], int]:
        return dict.fromkeys(partitions, 4)

    monitor, registry = _monitor(reader, stored)
    monitor.refresh()
    assert _lag(registry, 0) == 6
