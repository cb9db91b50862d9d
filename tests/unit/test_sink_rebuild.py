"""A consumer that failed fatally is replaced; the loop goes on from the store's offsets."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry

from lienthong.consumer.mapping import Receipts
from lienthong.consumer.metrics import ConsumerMetrics
from lienthong.consumer.rows import PersistBatch
from lienthong.consumer.sink import SinkLoop
from lienthong.consumer.store.model import Applied
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.plumbing.budget import RebuildBudget

TOPIC = "lienthong.deliver.tinh-nghe-an"
FENCED = KafkaError(
    KafkaError._FATAL,
    "Fatal error: Broker: Static consumer fenced by other consumer with same group.instance.id",
)


class ErrorMessage:
    """A consumed error event, as librdkafka hands a fatal error to the application."""

    def error(self) -> KafkaError:
        return FENCED

    def topic(self) -> None:
        return None

    def partition(self) -> None:
        return None

    def offset(self) -> None:
        return None


class GroupConsumer:
    """Assigned partition 0 at its first poll; fails fatally first if told to."""

    def __init__(self, *, fails: bool) -> None:
        self.fails = fails
        self.callbacks: dict[str, Callable[..., None]] = {}
        self.assigned: list[tuple[int, int]] = []
        self.closed = False

    def subscribe(self, topics: list[str], **callbacks: Callable[..., None]) -> None:  # noqa: ARG002
        self.callbacks = callbacks

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned += [(tp.partition, tp.offset) for tp in partitions]

    def poll(self, timeout: float) -> Any:
        if not self.assigned:
            self.callbacks["on_assign"](self, [TopicPartition(TOPIC, 0)])
        if self.fails:
            self.fails = False
            return ErrorMessage()
        time.sleep(min(timeout, 0.01))
        return None

    def consume(self, num_messages: int, timeout: float) -> list[Any]:  # noqa: ARG002
        return []

    def close(self) -> None:
        self.closed = True


class Store:
    def apply(self, batch: PersistBatch) -> Applied:  # noqa: ARG002
        return Applied(0, 0, frozenset(), 0, datetime.now(UTC))

    def offsets(
        self,
        consumer: str,  # noqa: ARG002
        partitions: Sequence[tuple[str, int]],
    ) -> dict[tuple[str, int], int]:
        return dict.fromkeys(partitions, 42)


def _sink(made: list[GroupConsumer], registry: CollectorRegistry, budget: int) -> SinkLoop:
    def new_consumer() -> Any:
        made.append(GroupConsumer(fails=not made))  # the first fails; the ones after do not
        return made[-1]

    return SinkLoop(
        consumer=new_consumer(),
        new_consumer=new_consumer,
        rebuilds=RebuildBudget(limit=budget, window_s=600),
        store=Store(),
        codec=Codec(SchemaStore.from_package()),
        name="tinh-nghe-an",
        group="g",
        topics=[TOPIC],
        dlq_topic="lienthong.dlq",
        receipts=Receipts("lienthong.inbound", lambda code: code),
        batch_max_records=10,
        batch_max_ms=10,
        max_backoff_s=0.01,
        metrics=ConsumerMetrics(registry),
    )


def test_a_fatal_error_replaces_the_consumer_which_seeks_to_the_stored_offsets() -> None:
    made: list[GroupConsumer] = []
    registry = CollectorRegistry()
    sink = _sink(made, registry, budget=1)
    stop = threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (len(made) == 2 and made[1].assigned):
        assert time.monotonic() < deadline, "the consumer was not replaced"
        time.sleep(0.01)
    stop.set()
    thread.join(10)
    assert made[0].closed
    assert made[1].assigned == [(0, 42)]  # from the store, not from Kafka
    assert registry.get_sample_value("lienthong_consumer_client_rebuilds_total") == 1
    assert sink.assignment.owned == {(TOPIC, 0)}


def test_past_its_budget_the_fatal_error_ends_the_loop() -> None:
    made: list[GroupConsumer] = []
    sink = _sink(made, CollectorRegistry(), budget=0)
    with pytest.raises(KafkaException, match="Static consumer fenced"):
        sink.run(threading.Event())
