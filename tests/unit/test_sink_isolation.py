"""The sink's answer to a store that refuses a record: find it, park it, keep the others.

The store and the Kafka consumer are fakes at the ports; the mapping is the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry

from lienthong.consumer.mapping import Receipts
from lienthong.consumer.metrics import ConsumerMetrics
from lienthong.consumer.rows import PersistBatch
from lienthong.consumer.sink import SinkLoop
from lienthong.consumer.store.errors import StoreRejected, StoreUnavailable
from lienthong.consumer.store.model import Applied
from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.plumbing.envelope import Envelope

CODEC = Codec(SchemaStore.from_package())
TOPIC = "lienthong.deliver.tinh-nghe-an"


class FakeConsumer:
    def __init__(self) -> None:
        self.paused: set[int] = set()
        self.resumed = 0
        self.commits: list[list[tuple[int, int]]] = []

    def commit(self, *, offsets: Sequence[TopicPartition], asynchronous: bool) -> None:
        assert asynchronous  # advisory: never wait on Kafka after the database committed
        self.commits.append([(tp.partition, tp.offset) for tp in offsets])

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, 0)]

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        self.paused |= {tp.partition for tp in partitions}

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        self.paused -= {tp.partition for tp in partitions}
        self.resumed += 1

    def consume(self, num_messages: int, timeout: float) -> list[Any]:  # noqa: ARG002
        return []


class ScriptedStore:
    """Applies batches, or raises what the script says for the nth call."""

    def __init__(self, script: dict[int, Callable[[], None]]) -> None:
        self.script = script
        self.calls: list[PersistBatch] = []
        self.committed: list[PersistBatch] = []

    def apply(self, batch: PersistBatch) -> Applied:
        self.calls.append(batch)
        action = self.script.get(len(self.calls))
        if action is not None:
            action()
        self.committed.append(batch)
        ids = frozenset(m.event.event_id for m in batch.items)
        return Applied(len(ids), 0, ids, len(batch.dead_letters), datetime.now(UTC))

    def offsets(
        self,
        consumer: str,  # noqa: ARG002
        partitions: Sequence[tuple[str, int]],  # noqa: ARG002
    ) -> dict[tuple[str, int], int]:
        return {}


def raise_(exc: Exception) -> Callable[[], None]:
    def action() -> None:
        raise exc

    return action


def envelopes(count: int) -> list[Envelope]:
    out = []
    for offset in range(count):
        prepared = prepare(CODEC, EventType.DOCUMENT, examples.document(event_id=uuid4()))
        headers = (*prepared.headers, h.recipients_header(["000.00.00.H41"]))
        out.append(Envelope(TOPIC, 0, offset, prepared.key, prepared.value, headers, 0))
    return out


def sink(store: ScriptedStore, consumer: FakeConsumer) -> SinkLoop:
    loop = SinkLoop(
        consumer=cast("Consumer", consumer),
        store=store,
        codec=CODEC,
        name="tinh-nghe-an",
        group="g",
        topics=[TOPIC],
        dlq_topic="lienthong.dlq",
        receipts=Receipts("lienthong.inbound", lambda code: code),
        batch_max_records=500,
        batch_max_ms=10,
        max_backoff_s=0.01,
        metrics=ConsumerMetrics(CollectorRegistry()),
    )
    loop.assignment.assigned([(TOPIC, 0)])
    return loop


def test_after_an_outage_a_refused_record_is_parked_and_reading_resumes() -> None:
    refused = StoreRejected("apply a batch: DataError: text cannot contain NUL")
    store = ScriptedStore(
        {
            1: raise_(StoreUnavailable("down")),  # the database is away: pause, wait
            2: raise_(refused),  # back, but the batch holds a value it refuses
            4: raise_(refused),  # one by one: the second record is the one
        }
    )
    consumer = FakeConsumer()
    loop = sink(store, consumer)
    batch = envelopes(3)

    assert loop._persist(batch)

    assert [len(b.items) for b in store.committed] == [1, 0, 1]
    # The stored position goes to Kafka too (advisory), at most once a second: the first batch.
    assert consumer.commits == [[(0, 1)]]
    parked = store.committed[1]
    assert [dict(d.headers)[h.DLQ_REASON] for d in parked.dead_letters] == [b"store-rejected"]
    assert [b.offsets for b in store.committed] == [{(TOPIC, 0): n} for n in (1, 2, 3)]
    assert not loop.paused
    assert consumer.paused == set()
    assert consumer.resumed == 1


def test_a_stop_while_isolating_commits_nothing_past_the_record_not_stored() -> None:
    consumer = FakeConsumer()
    stop = threading.Event()

    def stop_while_down() -> None:  # the second record: the database goes, and we are stopped
        stop.set()
        raise StoreUnavailable("down")

    store = ScriptedStore({1: raise_(StoreRejected("refused")), 3: stop_while_down})
    loop = sink(store, consumer)
    loop._stop = stop

    assert not loop._persist(envelopes(3))

    # The first record committed; the second never did, so the third must not either (its
    # offset would move the stored position past the second).
    assert [b.offsets for b in store.committed] == [{(TOPIC, 0): 1}]


def test_positions_held_back_by_the_once_a_second_limit_go_out_when_reading_goes_idle(
    monkeypatch: Any,
) -> None:
    consumer = FakeConsumer()
    loop = sink(ScriptedStore({}), consumer)
    clock = [1000.0]
    monkeypatch.setattr("lienthong.consumer.sink.time.monotonic", lambda: clock[0])
    batch = envelopes(3)

    assert loop._persist(batch[:1])
    assert loop._persist(batch[1:])  # within the second: held back
    assert consumer.commits == [[(0, 1)]]
    loop._flush_advice()
    assert consumer.commits == [[(0, 1)]]  # still within the second
    clock[0] += 1.5
    loop._flush_advice()  # what the run loop does after every poll, batch or not
    assert consumer.commits == [[(0, 1)], [(0, 3)]]
    loop._flush_advice()
    assert consumer.commits == [[(0, 1)], [(0, 3)]]  # nothing pending: nothing sent
