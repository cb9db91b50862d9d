"""The outbox relay: publish committed receipts and dead letters, then mark them sent.

A row is marked sent only after the broker acknowledged it, so a crash between the two sends
it again: duplicates are bounded to what was in flight and carry the same event id (receipts)
or the same source coordinates (dead letters), which makes them harmless downstream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from lienthong.consumer.metrics import ConsumerMetrics
from lienthong.consumer.store.errors import StoreUnavailable
from lienthong.consumer.store.model import OutboxEntry
from lienthong.plumbing.backoff import capped_backoff
from lienthong.plumbing.health import Heartbeat
from lienthong.plumbing.kafka_confluent import kafka_headers

log = structlog.get_logger("lienthong.consumer.outbox")

_MAX_BACKOFF_S = 30.0


class OutboxStore(Protocol):
    """The store operations the relay needs."""

    def pending_outbox(self, limit: int) -> Sequence[OutboxEntry]:
        """Return unsent rows, oldest first."""
        ...

    def mark_sent(self, ids: Sequence[int]) -> None:
        """Mark rows as published."""
        ...

    def mark_failed(self, entry_id: int, error: str) -> None:
        """Count a failed attempt on a row."""
        ...

    def outbox_backlog(self) -> int:
        """Return how many rows wait to be published."""
        ...


class OutboxRelay:
    """Drain the outbox in a thread: woken after each committed batch, or every interval."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        producer: Producer,
        metrics: ConsumerMetrics,
        batch: int,
        interval_s: float,
        timeout_s: float = 30.0,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self._store = store
        self._producer = producer
        self._metrics = metrics
        self._batch = batch
        self._interval = interval_s
        self._timeout = timeout_s
        self._wake = threading.Event()
        self.heartbeat = heartbeat or Heartbeat()

    def wake(self) -> None:
        """Ask for a drain now (called after a batch committed)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Drain until `stop`; then drain once more so a clean stop leaves nothing behind."""
        failures = 0
        while not stop.is_set():
            self.heartbeat.beat()
            self._wake.wait(
                self._interval
                if failures == 0
                else capped_backoff(failures, base_s=1.0, cap_s=_MAX_BACKOFF_S)
            )
            self._wake.clear()
            failures = 0 if self.drain() else failures + 1
            self._producer.poll(0)  # serves the producer's statistics callback
        self.drain()

    def drain(self) -> bool:
        """Publish every pending row; return False if the store or the broker failed."""
        try:
            while True:
                self.heartbeat.beat()
                entries = self._store.pending_outbox(self._batch)
                if entries and not self._publish(entries):
                    self._metrics.outbox_backlog.set(self._store.outbox_backlog())
                    return False
                # Less than a full chunk was pending, and it is sent: the outbox was emptied (rows
                # committed meanwhile are the next wake's). Under a steady load that keeps the
                # gauge at 0, which is what "the relay keeps up" looks like.
                if len(entries) < self._batch:
                    self._metrics.outbox_backlog.set(0)
                    return True
        except StoreUnavailable as exc:
            log.warning("outbox_store_unavailable", error=str(exc))
            return False

    def _publish(self, entries: Sequence[OutboxEntry]) -> bool:
        failed: dict[int, str] = {}

        def reporter(entry_id: int) -> Callable[[KafkaError | None, Message], None]:
            def on_delivery(err: KafkaError | None, _: Message) -> None:
                if err is not None:
                    failed[entry_id] = err.str()

            return on_delivery

        for entry in entries:
            headers = kafka_headers(entry.headers)
            try:
                self._producer.produce(
                    entry.topic,
                    entry.value,
                    entry.key,
                    headers=headers,
                    on_delivery=reporter(entry.id),
                )
            except (BufferError, KafkaException) as exc:  # one bad row must not stop the relay
                failed[entry.id] = str(exc)
        left = self._producer.flush(self._timeout)
        sent = {e.id for e in entries if e.id not in failed} if left == 0 else set()
        if sent:
            self._store.mark_sent(sorted(sent))
            for entry in entries:
                if entry.id in sent:
                    self._metrics.outbox_sent.labels(entry.kind).inc()
        for entry_id, error in failed.items():
            self._metrics.outbox_failures.inc()
            self._store.mark_failed(entry_id, error)
            entry = next(e for e in entries if e.id == entry_id)
            log.warning(
                "outbox_publish_failed",
                outbox_id=entry_id,
                kind=entry.kind,
                event_id=entry.event_id,
                topic=entry.topic,
                error=error,
            )
        if left:
            log.warning("outbox_publish_timed_out", undelivered=left)
        return not failed and left == 0
