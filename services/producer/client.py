"""The pure-Python client agency backends publish with: validate, encode, send, wait for the ack."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from kafka.errors import KafkaError, MessageSizeTooLargeError

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.codec import Codec
from lienthong.contract.errors import SchemaViolation
from lienthong.contract.outgoing import Outgoing, prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.plumbing.kafka_python import make_producer
from lienthong.plumbing.kafka_reach import reach_hint
from lienthong.plumbing.settings import KafkaSettings
from lienthong.producer.errors import BrokerUnavailable, InvalidEvent, ProducerError
from lienthong.producer.json_models import build_models
from lienthong.producer.rules import Problem, RuleContext
from lienthong.producer.validation import EventValidator, complete

if TYPE_CHECKING:
    from lienthong.directory.model import Directory

P = ParamSpec("P")
T = TypeVar("T")
RETRY_AFTER_S = 5  # seconds BrokerUnavailable tells the caller to wait before retrying
# The producer's own delivery timeout is set to the same budget and should fail a record first,
# with the broker's reason; this margin only keeps a stuck future from hanging the caller.
_GRACE_S = 1.0


class Acked(Protocol):
    """Where the broker wrote a record (kafka-python's RecordMetadata has these)."""

    topic: str
    partition: int
    offset: int


class SendFuture(Protocol):
    """The pending acknowledgement of one sent record."""

    def get(self, timeout: float | None = None) -> Acked:
        """Wait for the acknowledgement; raise a kafka-python error if the record failed."""


class ProducerPort(Protocol):
    """The part of kafka-python's KafkaProducer the Publisher uses; tests pass a fake."""

    def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> SendFuture:
        """Queue a record for its partition (murmur2 of the key) and return its future."""

    def flush(self, timeout: float | None = None) -> None:
        """Send what is queued and wait for it."""

    def close(self, timeout: float | None = None) -> None:
        """Flush and release the connections."""


ProducerFactory = Callable[[KafkaSettings, float], ProducerPort]


def producer_overrides(kafka: KafkaSettings, timeout_s: float) -> dict[str, Any]:
    """Bound every wait of kafka-python (bootstrap, metadata, delivery) by the publish timeout."""
    budget = max(1000, int(timeout_s * 1000))
    # No record outlives the BrokerUnavailable its caller got (kafka-python: delivery > request).
    request = max(500, min(kafka.request_timeout_ms, budget - 1))
    return {
        "bootstrap_timeout_ms": budget,
        "max_block_ms": budget,
        "request_timeout_ms": request,
        "delivery_timeout_ms": max(min(kafka.delivery_timeout_ms, budget), request + 1),
        # publish() waits for its ack, so a linger would only delay each call (5 ms: a third of
        # the one-at-a-time rate); what queues while a request is in flight still shares a batch.
        "linger_ms": 0,
    }


def _down(message: str) -> BrokerUnavailable:
    return BrokerUnavailable(message, retry_after_s=RETRY_AFTER_S)


def _caught(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | ProducerError:
    """Return what `call` returns, or the ProducerError it raised: one outcome per event."""
    try:
        return call(*args, **kwargs)
    except ProducerError as exc:
        return exc


def _force_closed(producer: object) -> None:
    """Finish a close that kafka-python gave up: stop its sender thread, mark it closed.

    kafka-python 3's `close()` flushes first and raises when records are still pending at its
    timeout (a broker that is gone), before it stops the sender thread. Left so, the thread
    reconnects and logs for the rest of the process, and the producer's `__del__` flushes
    again and raises. The records it held fail; the caller was told the close failed.
    """
    sender = getattr(producer, "_sender", None)
    if sender is not None and sender.is_alive():
        sender.force_close()
        sender.join(5.0)
    if hasattr(producer, "_closed"):
        vars(producer)["_closed"] = True  # what close() sets once it got this far


def kafka_python_producer(kafka: KafkaSettings, timeout_s: float) -> ProducerPort:
    """Build the idempotent kafka-python producer (it connects to the cluster here)."""
    producer: ProducerPort = make_producer(kafka, **producer_overrides(kafka, timeout_s))
    return producer


@dataclass(frozen=True, slots=True)
class PublishResult:
    """One event the broker acknowledged, and where it was written."""

    event_id: str
    event_type: EventType
    topic: str
    partition: int
    offset: int


class Publisher:
    """Publish events to the inbound topic with the API's validation, encoding and key.

    With a `directory` the business rules run as in the API; without one only the schema is
    checked (the rules look agencies and groups up), and the router rejects unknown names.
    """

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        topic: str = "lienthong.inbound",
        directory: Directory | None = None,
        store: SchemaStore | None = None,
        agency_codes: AgencyCodePattern | None = None,
        timeout_s: float = 30.0,
        producer_factory: ProducerFactory = kafka_python_producer,
    ) -> None:
        self._settings = settings or KafkaSettings()
        self._topic = topic
        self._directory = directory
        self._agency_codes = agency_codes or AgencyCodePattern()
        self._codec = Codec(store or SchemaStore.from_package())
        self._validator = EventValidator(build_models(self._codec.store))
        self._timeout_s = timeout_s
        self._factory = producer_factory
        self._producer: ProducerPort | None = None
        self._closed = False
        self._lock = threading.Lock()

    def publish(self, event_type: EventType | str, event: Mapping[str, Any]) -> PublishResult:
        """Validate, encode and send one event; return once the broker acknowledged it."""
        outgoing, future = self._send(self._prepare(event_type, event))
        return self._wait(outgoing, future, time.monotonic() + self._timeout_s)

    def publish_many(
        self, items: Iterable[tuple[EventType | str, Mapping[str, Any]]]
    ) -> list[PublishResult | ProducerError]:
        """Encode and send every event, then wait for each acknowledgement; return each outcome."""
        # Encoding every event before sending any keeps kafka-python's sender thread from
        # contending with this one for the GIL on each record: about 1.5 times the rate.
        prepared = [_caught(self._prepare, event_type, event) for event_type, event in items]
        down: BrokerUnavailable | None = None  # after one broker failure the rest fail at once
        sent: list[tuple[Outgoing, SendFuture] | ProducerError] = []
        for e in prepared:
            sent.append(e if isinstance(e, ProducerError) else _caught(self._send, e, down))
            down = down or (sent[-1] if isinstance(sent[-1], BrokerUnavailable) else None)
        until = time.monotonic() + self._timeout_s
        return [s if isinstance(s, ProducerError) else _caught(self._wait, *s, until) for s in sent]

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every sent record is acknowledged or failed."""
        if self._producer is None:
            return
        try:
            self._producer.flush(timeout=self._timeout_s if timeout_s is None else timeout_s)
        except KafkaError as exc:
            raise _down(f"flush did not finish: {exc}") from exc

    def close(self) -> None:
        """Flush and close the Kafka producer; the publisher cannot be used afterwards."""
        with self._lock:
            producer, self._producer, self._closed = self._producer, None, True
        if producer is not None:
            try:
                producer.close(timeout=self._timeout_s)
            except KafkaError as exc:
                _force_closed(producer)
                raise _down(f"close: {exc}") from exc

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.flush()
        finally:
            self.close()

    def _prepare(self, event_type: EventType | str, event: Mapping[str, Any]) -> Outgoing:
        try:
            kind = EventType(event_type)
        except ValueError:
            raise InvalidEvent([Problem("", f"unknown event type {event_type!r}")]) from None
        data: object = event  # untyped callers pass lists and such: the validator says so
        data = dict(data) if isinstance(data, Mapping) else data
        now = datetime.now(UTC)
        if self._directory is None:
            record = complete(self._validator.parse(kind, data), now)
        else:
            ctx = RuleContext(self._directory, self._agency_codes, now)
            record = self._validator.validate(kind, data, ctx)
        try:
            return prepare(self._codec, kind, record)
        except SchemaViolation as exc:
            # The JSON model is wider than Avro in places (an int beyond 32 bits).
            raise InvalidEvent([Problem("", p) for p in exc.problems]) from exc

    def _connected(self) -> ProducerPort:
        with self._lock:
            if self._closed:
                raise ProducerError("the publisher is closed")
            if self._producer is None:
                try:
                    self._producer = self._factory(self._settings, self._timeout_s)
                except KafkaError as exc:
                    raise _down(f"cannot reach Kafka: {exc} {reach_hint(self._settings)}") from exc
            return self._producer

    def _send(
        self, outgoing: Outgoing, down: BrokerUnavailable | None = None
    ) -> tuple[Outgoing, SendFuture]:
        if down is not None:
            raise _down(f"not sent: {down}")
        try:
            return outgoing, self._connected().send(
                self._topic, value=outgoing.value, key=outgoing.key, headers=outgoing.headers
            )
        except MessageSizeTooLargeError as exc:
            raise InvalidEvent([Problem("", f"too large once encoded: {exc}")]) from exc
        except KafkaError as exc:
            raise _down(f"{self._topic}: cannot send event {outgoing.event_id}: {exc}") from exc

    def _wait(self, outgoing: Outgoing, future: SendFuture, deadline: float) -> PublishResult:
        try:
            acked = future.get(timeout=max(0.0, deadline - time.monotonic()) + _GRACE_S)
        except KafkaError as exc:
            raise _down(f"{self._topic}: {outgoing.event_id} not acknowledged: {exc}") from exc
        return PublishResult(
            outgoing.event_id, outgoing.event_type, acked.topic, acked.partition, acked.offset
        )
