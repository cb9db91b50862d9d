from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from kafka.errors import KafkaTimeoutError

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.events import check_agreement
from lienthong.contract.headers import EventHeaders
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.directory.loader import load_directory
from lienthong.plumbing.settings import KafkaSettings
from lienthong.producer.client import Publisher, PublishResult, producer_overrides
from lienthong.producer.errors import BrokerUnavailable, InvalidEvent, ProducerError

REPO_ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = load_directory(REPO_ROOT / "deploy" / "directory.example.yaml")
STORE = SchemaStore.from_package()
CODEC = Codec(STORE)
TOPIC = "inbound-test"

EXAMPLES: dict[EventType, Callable[[], dict[str, Any]]] = {
    EventType.DOCUMENT: examples.document,
    EventType.REPORT: examples.report,
    EventType.STATUS: examples.status,
}
KEYS = {
    EventType.DOCUMENT: "000.00.00.G22,2026/11/25,7816/VPCP-KSTT",
    EventType.REPORT: "BC-KTXH-THANG:000.00.00.H41:2026-M10",
    EventType.STATUS: "000.00.00.G22,2026/11/25,7816/VPCP-KSTT",
}


@dataclass
class Acked:
    topic: str
    partition: int
    offset: int


@dataclass
class FakeFuture:
    outcome: Acked | Exception

    def get(self, timeout: float | None = None) -> Acked:
        assert (timeout or 0) > 0  # a dead broker must not hang the caller
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@dataclass
class FakeProducer:
    """kafka-python's producer at the port: keeps what is sent, acknowledges or fails it."""

    fail: Exception | None = None
    sent: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> FakeFuture:
        self.sent.append((topic, value, key, headers))
        if self.fail is not None:
            return FakeFuture(self.fail)
        return FakeFuture(Acked(topic, 3, len(self.sent) - 1))

    def flush(self, timeout: float | None = None) -> None:
        self.calls.append(f"flush {timeout}")

    def close(self, timeout: float | None = None) -> None:
        self.calls.append(f"close {timeout}")


@dataclass
class Factory:
    producer: FakeProducer = field(default_factory=FakeProducer)
    error: Exception | None = None
    built: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, settings: KafkaSettings, timeout_s: float) -> FakeProducer:
        self.built.append((settings.bootstrap, timeout_s))
        if self.error is not None:
            raise self.error
        return self.producer


def publisher(factory: Factory, *, directory: bool = True) -> Publisher:
    return Publisher(
        KafkaSettings(bootstrap="broker.invalid:9092"),
        topic=TOPIC,
        directory=DIRECTORY if directory else None,
        store=STORE,
        timeout_s=2.0,
        producer_factory=factory,
    )


@pytest.mark.parametrize("event_type", list(EventType))
def test_a_good_event_is_sent_with_its_key_headers_and_value(event_type: EventType) -> None:
    factory = Factory()
    record = EXAMPLES[event_type]()
    result = publisher(factory).publish(event_type.value, to_json(record))

    assert result == PublishResult(str(record["event_id"]), event_type, TOPIC, 3, 0)
    [(topic, value, key, headers)] = factory.producer.sent
    assert topic == TOPIC
    assert key == KEYS[event_type].encode()
    decoded = CODEC.decode(value)
    assert decoded.event_type is event_type
    assert decoded.record == record  # the JSON round trip lost nothing
    parsed = EventHeaders.from_kafka(headers)
    assert parsed.event_id == str(record["event_id"])
    assert parsed.sender == record["from_organ"]["organ_id"]
    check_agreement(parsed, key, decoded)


def test_missing_event_id_and_time_are_filled_in() -> None:
    factory = Factory()
    event = to_json(examples.status())
    del event["event_id"], event["occurred_at"]
    result = publisher(factory).publish(EventType.STATUS, event)
    decoded = CODEC.decode(factory.producer.sent[0][1]).record
    assert str(decoded["event_id"]) == result.event_id
    assert UUID(result.event_id).version == 4


def _broken(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    event: dict[str, Any] = to_json(examples.document())
    change(event)
    return event


INVALID: dict[str, tuple[Any, str]] = {
    "missing field": (_broken(lambda e: e.pop("subject")), "/subject"),
    "wrong type": (_broken(lambda e: e.update(recipients="all-provinces")), "/recipients"),
    "bad date": (
        _broken(lambda e: e["promulgation"].update(promulgation_date="25/11")),
        "/promulgation/promulgation_date",
    ),
    "unknown field": (_broken(lambda e: e.update(colour="red")), "/colour"),
    "unknown recipient": (_broken(lambda e: e.update(recipients=["nobody"])), "/recipients/0"),
    "bad sha256": (
        _broken(lambda e: e["attachments"][0].update(sha256="x")),
        "/attachments/0/sha256",
    ),
    "not an object": ([1, 2], ""),
}


@pytest.mark.parametrize(("event", "pointer"), INVALID.values(), ids=list(INVALID))
def test_invalid_events_name_each_field_and_nothing_is_sent(event: Any, pointer: str) -> None:
    factory = Factory()
    with pytest.raises(InvalidEvent) as caught:
        publisher(factory).publish("document", event)
    assert [p.pointer for p in caught.value.problems] == [pointer]
    assert factory.built == []  # not even connected


def test_an_unknown_event_type_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEvent, match="memo"):
        publisher(Factory()).publish("memo", to_json(examples.document()))


def test_without_a_directory_only_the_schema_is_checked() -> None:
    event = _broken(lambda e: e.update(recipients=["nobody"]))
    factory = Factory()
    publisher(factory, directory=False).publish("document", event)
    assert len(factory.producer.sent) == 1
    with pytest.raises(InvalidEvent):
        publisher(factory, directory=False).publish("document", INVALID["missing field"][0])


def test_a_send_timeout_becomes_broker_unavailable() -> None:
    factory = Factory(FakeProducer(fail=KafkaTimeoutError("no ack in 2.0 s")))
    with pytest.raises(BrokerUnavailable) as caught:
        publisher(factory).publish("report", to_json(examples.report()))
    assert isinstance(caught.value.__cause__, KafkaTimeoutError)
    assert caught.value.retry_after_s > 0


def test_an_unreachable_cluster_is_tried_once_per_batch() -> None:
    factory = Factory(error=KafkaTimeoutError("Unable to bootstrap"))
    events = [("document", to_json(examples.document(number=str(n)))) for n in range(5)]
    results = publisher(factory).publish_many(events)
    assert all(isinstance(r, BrokerUnavailable) for r in results)
    assert len(factory.built) == 1


def test_publish_many_reports_each_outcome_in_order() -> None:
    factory = Factory()
    good = to_json(examples.document())
    results = publisher(factory).publish_many(
        [
            ("document", good),
            ("status", {"status_code": "03"}),
            ("report", to_json(examples.report())),
        ]
    )
    assert [type(r) for r in results] == [PublishResult, InvalidEvent, PublishResult]
    assert len(factory.producer.sent) == 2


def test_the_context_manager_connects_lazily_then_flushes_and_closes() -> None:
    factory = Factory()
    with publisher(factory) as client:
        assert factory.built == []
        client.publish("status", to_json(examples.status()))
        assert factory.built == [("broker.invalid:9092", 2.0)]
    assert factory.producer.calls == ["flush 2.0", "close 2.0"]
    with pytest.raises(ProducerError, match="closed"):
        client.publish("status", to_json(examples.status()))


def test_every_kafka_wait_fits_the_publish_timeout() -> None:
    kafka = KafkaSettings()
    for timeout_s in (0.5, 2.0, 30.0):
        config = producer_overrides(kafka, timeout_s)
        budget = max(1000, timeout_s * 1000)
        assert config["bootstrap_timeout_ms"] == config["max_block_ms"] == budget
        assert config["delivery_timeout_ms"] == budget  # no record outlives the caller's wait
        # kafka-python refuses a delivery timeout under linger + one request
        assert config["delivery_timeout_ms"] > config["linger_ms"] + config["request_timeout_ms"]
    assert producer_overrides(kafka, 300)["delivery_timeout_ms"] == kafka.delivery_timeout_ms


@dataclass
class StuckSender:
    """kafka-python's sender thread, still running when close() gave up."""

    alive: bool = True

    def is_alive(self) -> bool:
        return self.alive

    def force_close(self) -> None:
        self.alive = False

    def join(self, timeout: float | None = None) -> None:
        assert not self.alive, f"joined for {timeout} s while still running"


class UnflushableProducer(FakeProducer):
    """A producer whose close times out in its flush, as kafka-python's does with no broker."""

    def __init__(self) -> None:
        super().__init__()
        self._sender = StuckSender()
        self._closed = False

    def close(self, timeout: float | None = None) -> None:
        raise KafkaTimeoutError(f"Timeout waiting for future ({timeout} s)")


def test_a_close_that_times_out_still_stops_the_sender_thread() -> None:
    producer = UnflushableProducer()
    pub = publisher(Factory(producer))
    pub.publish("document", to_json(EXAMPLES[EventType.DOCUMENT]()))
    with pytest.raises(BrokerUnavailable, match="close"):
        pub.close()
    # Otherwise the thread reconnects and logs forever, and __del__ flushes and raises again.
    assert not producer._sender.alive
    assert producer._closed
