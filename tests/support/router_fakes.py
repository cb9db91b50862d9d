"""Fakes at the router's Kafka ports: an inbound partition, and transactional producers.

`FakeBroker` keeps one inbound partition and what committed transactions made visible. Each
`FakeTxnProducer` buffers a transaction and makes it visible only at commit, like read_committed
readers see it; a producer can be told to block forever in one call (the librdkafka hang) or
to fail with a given error, to drive the loop's recovery without a broker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from lienthong.router.records import OutRecord

INBOUND = "fake.inbound"


@dataclass
class FakeMessage:
    """A consumed record, with the accessors confluent-kafka's Message has."""

    at: int
    key_: bytes | None
    value_: bytes | None
    headers_: list[tuple[str, bytes]]

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return INBOUND

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.at

    def key(self) -> bytes | None:
        return self.key_

    def value(self) -> bytes | None:
        return self.value_

    def headers(self) -> list[tuple[str, bytes]]:
        return self.headers_

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000 + self.at)


@dataclass
class FakeBroker:
    """One inbound partition, the group's committed offset, and what commits made visible."""

    records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
    topics: set[str]
    committed: int = 0
    visible: list[OutRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeInboundConsumer:
    """A group member that is assigned the one inbound partition at its first poll."""

    def __init__(self, broker: FakeBroker) -> None:
        self._broker = broker
        self._position = 0
        self._on_assign: Callable[..., None] | None = None
        self._assigned = False
        self.closed = False

    def subscribe(self, topics: list[str], **callbacks: Callable[..., None]) -> None:
        assert topics == [INBOUND]
        self._on_assign = callbacks["on_assign"]

    def _maybe_assign(self) -> None:
        if not self._assigned and self._on_assign is not None:
            self._assigned = True
            with self._broker.lock:
                self._position = self._broker.committed
            self._on_assign(self, [TopicPartition(INBOUND, 0)])

    def poll(self, timeout: float) -> FakeMessage | None:
        got = self.consume(1, timeout)
        return got[0] if got else None

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:  # noqa: ARG002
        self._maybe_assign()
        records = self._broker.records
        batch = [
            FakeMessage(i, *records[i])
            for i in range(self._position, min(len(records), self._position + num_messages))
        ]
        self._position += len(batch)
        return batch

    def seek(self, partition: TopicPartition) -> None:
        self._position = partition.offset

    def consumer_group_metadata(self) -> object:
        return object()

    def close(self) -> None:
        self.closed = True


class FakeTxnProducer:
    """A transactional producer over a FakeBroker; `hang` or `fail` one named call."""

    def __init__(
        self,
        broker: FakeBroker,
        *,
        hang: str | None = None,
        fail: tuple[str, KafkaError] | None = None,
    ) -> None:
        self._broker = broker
        self._hang = hang
        self._fail = fail
        self.released = threading.Event()  # set it to let a hung call return at last
        self._open: list[OutRecord] | None = None
        self._offset: int | None = None
        self.calls: list[str] = []

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name == self._hang:
            self.released.wait()
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "released"))
        if self._fail is not None and self._fail[0] == name:
            raise KafkaException(self._fail[1])

    def init_transactions(self, timeout: float) -> None:  # noqa: ARG002
        self._enter("init_transactions")

    def begin_transaction(self) -> None:
        self._enter("begin_transaction")
        self._open = []

    def produce(self, topic: str, value: bytes, key: bytes | None, headers: Any) -> None:
        assert self._open is not None, "produce outside a transaction"
        self._open.append(OutRecord(topic, key, value, list(headers)))

    def send_offsets_to_transaction(
        self,
        offsets: list[TopicPartition],
        metadata: object,  # noqa: ARG002
        timeout: float,  # noqa: ARG002
    ) -> None:
        self._enter("send_offsets_to_transaction")
        self._offset = offsets[0].offset

    def commit_transaction(self, timeout: float) -> None:  # noqa: ARG002
        self._enter("commit_transaction")
        assert self._open is not None
        with self._broker.lock:
            self._broker.visible.extend(self._open)
            if self._offset is not None:
                self._broker.committed = self._offset
        self._open, self._offset = None, None

    def abort_transaction(self, timeout: float) -> None:  # noqa: ARG002
        self._enter("abort_transaction")
        self._open, self._offset = None, None

    def poll(self, timeout: float) -> int:  # noqa: ARG002
        return 0

    def list_topics(self, timeout: float) -> SimpleNamespace:  # noqa: ARG002
        return SimpleNamespace(topics=dict.fromkeys(self._broker.topics))
