"""Read delivery topics as typed events; commit an offset only once its event is finished."""

from __future__ import annotations

import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import FrameType
from typing import Any, Literal, overload

import structlog

from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.contract.typed import Document, Record, Report, Status
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.settings import KafkaSettings
from lienthong.subscriber.dedupe import DEFAULT_WINDOW, RecentEvents
from lienthong.subscriber.dispatch import Dispatcher, Handler, Register, RetryPolicy
from lienthong.subscriber.events import (
    Event,
    ReaderStore,
    SubscriberError,
    UnreadableEvent,
    read_event,
)
from lienthong.subscriber.kafka import (
    ConsumerFactory,
    ConsumerPort,
    DeadLetterFactory,
    DeadLetterPort,
    KafkaPythonConsumer,
    KafkaPythonDeadLetters,
    Subscription,
)
from lienthong.subscriber.offsets import CommitPolicy, Committer, Partition

log = structlog.get_logger("lienthong.subscriber")


class Subscriber:
    """Subscribe to delivery topics; iterate typed events or hand them to handlers per type.

    Iterating, an event is finished when the loop asks for the next one; an unreadable record
    raises UnreadableEvent on every `next` until `skip(error)`. With handlers (`@sub.on(...)`,
    `run()`), a raising handler is retried, then its event is dead-lettered. Offsets are
    committed synchronously past finished events only: every `commit.every` events or
    `commit.interval_s`, and on stop. Without a group nothing is committed. An event whose
    (sender, event id) was seen among the last `dedupe_window` is dropped (committed past,
    not handed out): see docs/contract.md, "Duplicates". `consumer_options`
    go to kafka-python: `group_instance_id` (static membership) lets a restart take its
    partitions back at once rather than after the session timeout.
    """

    def __init__(
        self,
        topics: str | Iterable[str],
        group_id: str | None,
        *,
        kafka: KafkaSettings | None = None,
        store: SchemaStore | None = None,
        reader_version: int | None = None,
        from_beginning: bool = True,
        dead_letter_topic: str | None = None,
        retry: RetryPolicy | None = None,
        commit: CommitPolicy | None = None,
        poll_timeout_s: float = 0.5,
        max_poll_records: int = 500,
        client_id: str | None = None,
        dedupe_window: int = DEFAULT_WINDOW,
        consumer_options: Mapping[str, Any] | None = None,
        consumer_factory: ConsumerFactory = KafkaPythonConsumer,
        dead_letter_factory: DeadLetterFactory = KafkaPythonDeadLetters,
    ) -> None:
        names = (topics,) if isinstance(topics, str) else tuple(topics)
        self._kafka = kafka or KafkaSettings()
        self._subscription = Subscription(
            self._kafka, names, group_id, from_beginning, client_id, dict(consumer_options or {})
        )
        store = store or SchemaStore.from_package()
        self._codec = Codec(store if reader_version is None else ReaderStore(store, reader_version))
        if dead_letter_topic is None and group_id is not None:
            dead_letter_topic = f"lienthong.dlq.{group_id}"
        self.dead_letter_topic = dead_letter_topic
        self._poll = (poll_timeout_s, max_poll_records)
        self._factories = (consumer_factory, dead_letter_factory)
        self._consumer: ConsumerPort | None = None
        self._dead_letter_port: DeadLetterPort | None = None
        self._buffer: deque[Envelope] = deque()
        self._recent = RecentEvents(dedupe_window)
        self.duplicates_dropped = 0
        self._committer = Committer(commit or CommitPolicy())
        self._handlers: dict[EventType, Handler] = {}
        self._stopping = threading.Event()
        self._closed = False
        self._current: Event[Record] | None = None
        self._blocked: UnreadableEvent | None = None
        self._signals: dict[int, Any] = {}
        self._dispatch = Dispatcher(
            self._handlers,
            retry=retry or RetryPolicy(),
            dead_letters=self._dead_letters,
            dead_letter_topic=dead_letter_topic,
            stopping=self._stopping,
        )

    @overload
    def on(self, event_type: Literal[EventType.DOCUMENT]) -> Register[Document]: ...
    @overload
    def on(self, event_type: Literal[EventType.REPORT]) -> Register[Report]: ...
    @overload
    def on(self, event_type: Literal[EventType.STATUS]) -> Register[Status]: ...
    @overload
    def on(self, event_type: EventType) -> Register[Any]: ...
    def on(self, event_type: EventType) -> Callable[[Handler], Handler]:
        """Register the handler of one event type (a decorator); events of other types pass."""

        def register(handler: Handler) -> Handler:
            if event_type in self._handlers:
                raise SubscriberError(f"a {event_type.value} handler is already registered")
            self._handlers[event_type] = handler
            return handler

        return register

    def run(self) -> None:
        """Hand every event to its handler until `stop()`; then commit what is finished."""
        if not self._handlers:
            raise SubscriberError("no handler registered: use @subscriber.on(EventType...)")
        try:
            while not self._stopping.is_set():
                item = self._next_item()
                if item is not None and self._dispatch.process(item):
                    self._committer.offsets.finish(item.envelope)
                self._maybe_commit()
        finally:
            self.close()

    def __iter__(self) -> Iterator[Event[Record]]:
        return self

    def __next__(self) -> Event[Record]:
        if self._blocked is not None and not self._stopping.is_set():
            raise self._blocked
        if self._current is not None:
            self._committer.offsets.finish(self._current.envelope)
            self._current = None
        while not self._stopping.is_set():
            self._maybe_commit()
            item = self._next_item()
            if isinstance(item, UnreadableEvent):
                self._blocked = item
                raise item
            if isinstance(item, Event):
                self._current = item
                return item
        self.close()
        raise StopIteration

    def skip(self, error: UnreadableEvent) -> None:
        """Move past the unreadable record `error` names; its offset is committed like any."""
        if error is not self._blocked:
            raise SubscriberError(f"{error.coordinates} is not the record the subscriber is at")
        self._committer.offsets.finish(error.envelope)
        self._blocked = None

    def dead_letter(self, error: UnreadableEvent) -> None:
        """Write the unreadable record to the dead-letter topic, then skip it."""
        if self._dispatch.reject(error):
            self.skip(error)

    def open(self) -> None:
        """Connect now rather than on the first poll, to fail early (a missing topic, say)."""
        self._connected()

    def assignment(self) -> frozenset[Partition]:
        """Return the partitions this subscriber reads now (empty before the first poll)."""
        return self._consumer.assignment() if self._consumer is not None else frozenset()

    def stop(self) -> None:
        """Ask the subscriber to stop; safe from a signal handler or another thread."""
        self._stopping.set()

    def stop_on_signals(self, *signums: signal.Signals) -> None:
        """Make SIGTERM and SIGINT (or `signums`) call `stop()`; call from the main thread."""

        def on_signal(signum: int, _: FrameType | None) -> None:
            log.info("subscriber_stopping", signal=signal.Signals(signum).name)
            self.stop()

        for signum in signums or (signal.SIGTERM, signal.SIGINT):
            self._signals.setdefault(signum, signal.signal(signum, on_signal))

    def close(self) -> None:
        """Commit what is finished and release the connections; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        try:
            self._maybe_commit(force=True)
        finally:
            if threading.current_thread() is threading.main_thread():
                for signum, previous in self._signals.items():
                    signal.signal(signum, previous)
            if self._consumer is not None:
                self._consumer.close()
            if self._dead_letter_port is not None:
                self._dead_letter_port.close()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connected(self) -> ConsumerPort:
        if self._consumer is None:
            self._consumer = self._factories[0](self._subscription, self._on_revoked)
        return self._consumer

    def _dead_letters(self) -> DeadLetterPort:
        if self._dead_letter_port is None:
            self._dead_letter_port = self._factories[1](self._kafka)
        return self._dead_letter_port

    def _next_item(self) -> Event[Record] | UnreadableEvent | None:
        if not self._buffer:
            polled = self._connected().poll(*self._poll)  # may revoke partitions (below)
            self._buffer.extend(polled)
            if not self._buffer:
                return None
        envelope = self._buffer.popleft()
        if self._repeated(envelope):
            self._committer.offsets.finish(envelope)
            return None
        try:
            return read_event(self._codec, envelope)
        except UnreadableEvent as exc:
            return exc

    def _repeated(self, envelope: Envelope) -> bool:
        """Tell whether the record repeats an event seen lately (then it is counted, dropped)."""
        found = dict(envelope.headers)
        sender = found.get(h.SENDER, b"").decode(errors="replace")
        event_id = found.get(h.EVENT_ID, b"").decode(errors="replace")
        if not self._recent.repeated(sender, event_id):
            return False
        self.duplicates_dropped += 1
        log.info(
            "subscriber_duplicate_dropped",
            event_id=event_id,
            sender=sender,
            source=envelope.coordinates,
        )
        return True

    def _maybe_commit(self, *, force: bool = False) -> None:
        if self._subscription.group_id is None or self._consumer is None:
            return
        if force or self._committer.due():
            self._committer.commit(self._consumer.commit)

    def _on_revoked(self, partitions: frozenset[Partition]) -> dict[Partition, int]:
        offsets = self._committer.offsets.pending(partitions)
        self._committer.offsets.forget(partitions)
        kept = [e for e in self._buffer if (e.topic, e.partition) not in partitions]
        self._buffer.clear()
        self._buffer.extend(kept)
        log.info(
            "subscriber_partitions_revoked",
            partitions=[f"{topic}[{partition}]" for topic, partition in sorted(partitions)],
            committing={f"{t}[{p}]": offset for (t, p), offset in offsets.items()},
        )
        return offsets
