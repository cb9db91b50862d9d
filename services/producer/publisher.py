"""Publish to Kafka from asyncio: an idempotent producer polled by its own thread."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from lienthong.contract.outgoing import Outgoing
from lienthong.plumbing.kafka_confluent import kafka_headers, make_producer
from lienthong.plumbing.settings import KafkaSettings
from lienthong.producer.delivered import Delivered
from lienthong.producer.errors import BrokerUnavailable
from lienthong.producer.metrics import ProducerMetrics

log = structlog.get_logger("lienthong.producer.publisher")

ProducerFactory = Callable[..., Producer]


class KafkaPublisher:
    """Write records to one topic and report each broker acknowledgement to the event loop."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        metrics: ProducerMetrics,
        *,
        timeout_s: float,
        readiness_interval_s: float = 5.0,
        producer_factory: ProducerFactory = make_producer,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._interval = readiness_interval_s
        self._factory = producer_factory
        self._producer: Producer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reachable = False
        self._fatal: str | None = None
        self.last_error = "not started"

    @property
    def topic(self) -> str:
        """Return the topic records are written to."""
        return self._topic

    @property
    def reachable(self) -> bool:
        """Tell whether the last metadata request reached the broker (and nothing was fatal)."""
        return self._reachable and self._fatal is None

    def start(self) -> None:
        """Create the producer and start its poll and readiness threads."""
        timeout_ms = int(self._timeout_s * 1000)
        # librdkafka gives up on a record when the request does, so a 503 is not followed by a
        # late publish from the queue. A record already sent when the time ran out may still
        # have been written (Kafka cannot tell); the client's retry carries the same event id,
        # which every consumer deduplicates.
        overrides = {
            "delivery.timeout.ms": timeout_ms,
            "request.timeout.ms": min(self._kafka.request_timeout_ms, timeout_ms),
        }
        self._producer = self._factory(
            self._kafka,
            error_cb=self._on_error,
            stats_cb=self._metrics.kafka.callback("producer"),
            **overrides,
        )
        self._check_broker()
        for target, name in ((self._poll, "poll"), (self._watch, "readiness")):
            thread = threading.Thread(target=target, name=f"kafka-publisher-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (up to `timeout_s`) and stop the threads."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        if self._producer is not None:
            left = self._producer.flush(timeout_s)
            if left:
                log.warning("records_undelivered_at_close", count=left, topic=self._topic)
            self._producer = None  # librdkafka reconnects for as long as the handle lives

    async def publish(self, out: Outgoing) -> Delivered:
        """Write one record; return where the broker stored it, or raise BrokerUnavailable."""
        if self._producer is None:
            raise BrokerUnavailable("publisher not started", retry_after_s=1)
        if not self.reachable:
            raise BrokerUnavailable(
                f"Kafka is unreachable: {self.last_error}",
                retry_after_s=math.ceil(self._interval),
            )
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Delivered] = loop.create_future()
        started = time.perf_counter()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            loop.call_soon_threadsafe(_settle, done, err, msg)

        try:
            self._producer.produce(
                self._topic,
                out.value,
                out.key,
                headers=kafka_headers(out.headers),
                on_delivery=on_delivery,
            )
        except BufferError as exc:
            raise BrokerUnavailable("the producer queue is full", retry_after_s=1) from exc
        except KafkaException as exc:
            raise BrokerUnavailable(
                f"produce failed: {exc.args[0].str()}", retry_after_s=1
            ) from exc
        try:
            # A second of margin: librdkafka reports its own timeout first, with the reason.
            delivered = await asyncio.wait_for(done, self._timeout_s + 1.0)
        except TimeoutError as exc:
            raise BrokerUnavailable("no acknowledgement from Kafka", retry_after_s=1) from exc
        self._metrics.publish_seconds.labels(out.event_type.value).observe(
            time.perf_counter() - started
        )
        return delivered

    def _poll(self) -> None:
        assert self._producer is not None
        while not self._stop.is_set():
            self._producer.poll(0.05)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self._check_broker()

    def _check_broker(self) -> None:
        assert self._producer is not None
        try:
            metadata = self._producer.list_topics(self._topic, timeout=min(self._interval, 5.0))
        except KafkaException as exc:
            self._set_reachable(reachable=False, error=exc.args[0].str())
            return
        error = metadata.topics[self._topic].error
        if error is not None:  # e.g. the topic does not exist: nothing could be published
            self._set_reachable(reachable=False, error=f"topic {self._topic}: {error.str()}")
        else:
            self._set_reachable(reachable=True, error="")

    def _set_reachable(self, *, reachable: bool, error: str) -> None:
        if reachable != self._reachable:
            log.info("broker_reachability_changed", reachable=reachable, error=error or None)
        self._reachable = reachable
        self.last_error = self._fatal or error
        self._metrics.broker_reachable.set(1 if self.reachable else 0)

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._set_reachable(reachable=False, error=err.str())
        elif err.fatal():
            # The idempotent producer cannot go on (e.g. fenced): stay not-ready so /readyz
            # fails and the orchestrator restarts the process with a fresh producer.
            log.error("kafka_producer_fatal", error=err.str())
            self._fatal = f"fatal producer error: {err.str()}"
            self._set_reachable(reachable=False, error=self._fatal)
        else:
            log.warning("kafka_producer_error", error=err.str())


def _settle(done: asyncio.Future[Delivered], err: KafkaError | None, msg: Any) -> None:
    if done.done():
        return
    if err is not None:
        done.set_exception(
            BrokerUnavailable(f"Kafka did not take the record: {err.str()}", retry_after_s=1)
        )
    else:
        done.set_result(Delivered(msg.topic(), msg.partition(), msg.offset()))
